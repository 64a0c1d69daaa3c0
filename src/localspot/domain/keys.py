"""Key rotation: promote a new primary key, re-encrypt old values in the background, retire.

The store records the primary key (``keyring_primary``) and every primary it ever had
(``keyring_history``); a keyring whose primary is older than the store's is refused at start,
so two processes never flip the primary back and forth. A rotation is a ``key_rotations`` row
with a cursor: each batch re-encrypts values and moves the cursor in one transaction, so a
crashed rotation resumes where it stopped. Each value is opened with the key its envelope names
and resealed under the primary; the UPDATE compares the old ciphertext, so a value written
meanwhile is never overwritten (the next pass sees it if it is still under an old key).

Running servers follow a rotation within a second: a background loop calls :func:`refresh`,
which re-reads the key file when it changed or when the store names a primary this process
does not hold. With ``LOCALSPOT_KEYRING`` the new keyring is printed for the operator to
deploy; servers started with it promote the key and re-encrypt (:func:`adopt`).

The blind index key does not rotate: every stored index and unique-value key derives from it,
so rotating it is a full reindex of sensitive values.
TODO(protection): ``localspot keys rotate-index``, a resumable reindex under a second index key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, select, tuple_, update

from localspot.domain import audit, state
from localspot.domain.public_apps import client_secret_ref
from localspot.protection import Keyring, KeyringError, Protector, SealedValueError, ValueRef
from localspot.protection.values import envelope_prefix
from localspot.store.schema import key_rotations as rotations
from localspot.store.schema import property_definitions as defs
from localspot.store.schema import public_apps as apps
from localspot.store.schema import record_history as history
from localspot.store.schema import record_values as values
from localspot.store.schema import records

if TYPE_CHECKING:
    from localspot.runtime import Runtime

log = logging.getLogger(__name__)

CHECK = "keyring_check"
PRIMARY = "keyring_primary"
HISTORY = "keyring_history"
CHECK_REF = ValueRef(0, "keyring", 0, "check")
CHECK_TEXT = "localspot keyring check"


# Start and following other processes ---------------------------------------------------------


def adopt(conn: Connection, protector: Protector, now_ms: int) -> bool:
    """Checks the keyring against the store at start; promotes a newer primary it brings.

    Fails loudly (KeyringError) when the keyring cannot open the store's check value, or when
    its primary is one the store has already replaced. Returns whether a rotation began.
    """
    sealed = state.get(conn, CHECK)
    if sealed is None:
        _seal_check(conn, protector)
        state.put(conn, PRIMARY, protector.primary)
        state.put(conn, HISTORY, protector.primary)
        return False
    try:
        ok = protector.open(CHECK_REF, bytes.fromhex(sealed)) == CHECK_TEXT
    except (KeyringError, ValueError):
        ok = False
    if not ok:
        raise KeyringError(
            "the keyring does not open this store's values: wrong keys.json or LOCALSPOT_KEYRING"
        )
    current = state.get(conn, PRIMARY) or protector.key_id_of(bytes.fromhex(sealed))
    if current == protector.primary:
        return False
    if protector.primary in (state.get(conn, HISTORY) or "").split(","):
        raise KeyringError(
            f"the keyring is older than the store: its primary {protector.primary} was "
            f"replaced by {current}; use the current keys.json or LOCALSPOT_KEYRING"
        )
    _promote(conn, protector, now_ms, retire=False)
    return True


def _seal_check(conn: Connection, protector: Protector) -> None:
    state.put(conn, CHECK, protector.seal(CHECK_REF, CHECK_TEXT).hex())


def _promote(conn: Connection, protector: Protector, now_ms: int, retire: bool) -> int:
    """Records ``protector``'s primary as the store's and starts re-encrypting toward it."""
    previous = state.get(conn, PRIMARY)
    _seal_check(conn, protector)
    state.put(conn, PRIMARY, protector.primary)
    known = [k for k in (state.get(conn, HISTORY) or "").split(",") if k]
    state.put(conn, HISTORY, ",".join([*known, protector.primary]))
    # One rotation at a time: the newest re-encrypts everything not under its key.
    conn.execute(
        update(rotations)
        .where(rotations.c.state == "running")
        .values(state="superseded", finished_ms=now_ms)
    )
    row = conn.execute(
        insert(rotations)
        .values(
            target_key_id=protector.primary,
            state="running",
            retire_when_done=retire,
            phase="values",
            cursor_a=0,
            cursor_b=0,
            resealed=0,
            pass_resealed=0,
            passes=0,
            started_ms=now_ms,
        )
        .returning(rotations.c.id)
    ).scalar_one()
    detail = {"operation": "rotate", "from": previous, "to": protector.primary}
    audit.record(conn, now_ms, None, "key_rotation", None, [], [], detail)
    return int(row)


def refresh(rt: Runtime) -> bool:
    """Follows a rotation done elsewhere; returns whether this process changed keyring."""
    with rt.store.read() as conn:
        store_primary = state.get(conn, PRIMARY)
    source = rt.keyring_source
    holds = store_primary is None or store_primary in rt.protector.keyring.keys
    if holds and store_primary in (None, rt.protector.primary) and not source.changed():
        return False
    try:
        ring = source.load()
    except KeyringError as exc:
        log.error("cannot reload the keyring", extra={"fields": {"error": str(exc)}})
        return False
    if store_primary is not None and store_primary not in ring.keys:
        log.error(
            "the store's primary key is not in this process's keyring; deploy the new keyring",
            extra={"fields": {"primary": store_primary}},
        )
    if ring.keys == rt.protector.keyring.keys and ring.primary == rt.protector.primary:
        return False
    rt.protector.use(ring)
    log.info("keyring reloaded", extra={"fields": {"primary": ring.primary}})
    return True


# Rotating --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotateResult:
    applied: bool
    primary: str
    rotation_id: int | None = None
    # With LOCALSPOT_KEYRING: the keyring to deploy (LocalSpot cannot rewrite the environment).
    keyring_json: str | None = None


def rotate(rt: Runtime, retire: bool = False) -> RotateResult:
    """Adds a key and makes it primary; re-encryption then runs in the background."""
    source = rt.keyring_source
    ring = source.load().rotated()
    if source.from_environment:
        return RotateResult(False, ring.primary, keyring_json=ring.to_json(indent=None))
    # The file first: a process that sees the new primary in the store can then load its key.
    source.save(ring)
    fresh = Protector(ring)
    with rt.store.write() as conn:
        rotation_id = _promote(conn, fresh, rt.clock.millis(), retire)
    rt.protector.use(ring)
    return RotateResult(True, ring.primary, rotation_id)


def retire(rt: Runtime) -> tuple[list[str], str | None]:
    """Removes old keys no value is sealed under any more; (retired ids, keyring JSON if env)."""
    source = rt.keyring_source
    ring = source.load()
    with rt.store.read() as conn:
        if state.get(conn, PRIMARY) != ring.primary:
            raise KeyringError("the keyring's primary is not the store's; finish rotating first")
        counts = _counts(conn, ring)
    idle = [k for k in ring.old_keys if counts[k] == 0]
    if not idle:
        if not source.from_environment:
            rt.protector.use(ring)  # another process may have retired them already
        return [], None
    smaller = ring.without(idle)
    if source.from_environment:
        return idle, smaller.to_json(indent=None)
    source.save(smaller)
    rt.protector.use(smaller)
    with rt.store.write() as conn:
        detail = {"operation": "retire", "keys": ",".join(idle)}
        audit.record(conn, rt.clock.millis(), None, "key_rotation", None, [], [], detail)
    return idle, None


@dataclass
class Progress:
    resealed: int = 0
    unreadable: int = 0
    done: bool = False
    idle: bool = False
    # Everything is resealed, but other processes may still be sealing under the old key.
    settling: bool = False


def run(rt: Runtime, max_seconds: float | None = None) -> Progress:
    """Works on the running rotation, batch after batch, until done or ``max_seconds`` passed.

    Without ``max_seconds`` it also waits out the settling time; with it, it returns then
    (``settling``) so a server's loop can sleep.
    """
    progress = Progress()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    while deadline is None or time.monotonic() < deadline:
        step = _batch(rt, rt.settings.rotation_batch)
        if step is None:
            progress.idle = progress.resealed == 0
            return progress
        progress.resealed += step.resealed
        progress.unreadable += step.unreadable
        if step.settling:
            if deadline is not None:
                progress.settling = True
                return progress
            time.sleep(0.2)
        if step.done:
            progress.done = True
            _retire_if_asked(rt)
            return progress
    return progress


def _batch(rt: Runtime, size: int) -> Progress | None:
    """One batch in one transaction; None when no rotation this process can work on runs."""
    protector = rt.protector
    with rt.store.read() as conn:
        if conn.scalar(select(rotations.c.id).where(rotations.c.state == "running")) is None:
            return None
    with rt.store.write() as conn:
        job = conn.execute(
            select(rotations)
            .where(rotations.c.state == "running")
            .order_by(rotations.c.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if job is None:
            return None
        if job.target_key_id != protector.primary:
            refresh_needed = True
        else:
            refresh_needed = False
            settle_ms = int(rt.settings.rotation_settle_seconds * 1000)
            step = _work(conn, protector, job, size, rt.clock.millis(), settle_ms)
    if refresh_needed:
        # Another process promoted a key this one has not loaded yet.
        return None if not refresh(rt) else Progress()
    return step


def _work(
    conn: Connection, protector: Protector, job: Any, size: int, now_ms: int, settle_ms: int
) -> Progress:
    prefix = envelope_prefix(job.target_key_id)
    if job.phase == "settle":
        return _settle(conn, job, prefix, now_ms, settle_ms)
    if job.phase == "values":
        rows, cursor = _value_batch(conn, prefix, (job.cursor_a, job.cursor_b), size)
    else:
        rows, cursor = _history_batch(conn, prefix, job.cursor_a, size)
    updates, unreadable = _reseal(protector, rows, job.phase)
    if updates:
        _compare_and_set(conn, job.phase, updates)
    step = Progress(resealed=len(updates), unreadable=unreadable)
    pass_resealed = job.pass_resealed + len(updates)
    changes: dict[str, Any] = {"resealed": job.resealed + len(updates)}
    if len(rows) == size:
        changes.update(cursor_a=cursor[0], cursor_b=cursor[1])
    elif job.phase == "values":
        changes.update(phase="history", cursor_a=0, cursor_b=0)
    else:
        # End of a pass. Public apps' client secrets are few: resealed here in one go.
        more, bad = _reseal_client_secrets(conn, protector, prefix)
        step.resealed += more
        step.unreadable += bad
        changes["resealed"] += more
        # Values a slow writer sealed under an old key meanwhile need another pass.
        left = _left_over(conn, prefix)
        changes.update(passes=job.passes + 1, phase="values", cursor_a=0, cursor_b=0)
        pass_resealed = 0
        if left == 0 and now_ms - job.started_ms < settle_ms:
            changes.update(phase="settle")
        elif left == 0 or (job.pass_resealed + len(updates) + more == 0 and job.passes >= 2):
            # A later pass that resealed nothing: what is left does not open; stop there.
            changes.update(state="done", finished_ms=now_ms)
            step.done = True
            if left:
                log.warning(
                    "rotation finished with values it could not open",
                    extra={"fields": {"rotation": job.id, "count": left}},
                )
    changes["pass_resealed"] = pass_resealed
    conn.execute(update(rotations).where(rotations.c.id == job.id).values(changes))
    return step


def _settle(conn: Connection, job: Any, prefix: bytes, now_ms: int, settle_ms: int) -> Progress:
    """After the settling time: done if nothing was sealed under an old key, else a new pass."""
    if now_ms - job.started_ms < settle_ms:
        return Progress(settling=True)
    if _left_over(conn, prefix):
        changes: dict[str, Any] = {"phase": "values", "cursor_a": 0, "cursor_b": 0}
        step = Progress()
    else:
        changes = {"state": "done", "finished_ms": now_ms}
        step = Progress(done=True)
    conn.execute(update(rotations).where(rotations.c.id == job.id).values(changes))
    return step


def _not_under(column: Any, prefix: bytes) -> Any:
    return and_(column.is_not(None), func.substr(column, 1, len(prefix)) != prefix)


def _value_batch(
    conn: Connection, prefix: bytes, after: tuple[int, int], size: int
) -> tuple[list[Any], tuple[int, int]]:
    query = (
        select(
            values.c.record_id.label("a"),
            values.c.property_id.label("b"),
            values.c.value_ct,
            records.c.hub_id,
            records.c.object_type_id,
            defs.c.name,
        )
        .join(records, records.c.id == values.c.record_id)
        .join(defs, defs.c.id == values.c.property_id)
        .where(
            tuple_(values.c.record_id, values.c.property_id) > tuple_(*after),
            _not_under(values.c.value_ct, prefix),
        )
        .order_by(values.c.record_id, values.c.property_id)
        .limit(size)
    )
    rows = conn.execute(query).all()
    return rows, ((rows[-1][0], rows[-1][1]) if rows else after)


def _history_batch(
    conn: Connection, prefix: bytes, after: int, size: int
) -> tuple[list[Any], tuple[int, int]]:
    query = (
        select(
            history.c.id.label("a"),
            history.c.record_id.label("b"),
            history.c.value_ct,
            records.c.hub_id,
            records.c.object_type_id,
            defs.c.name,
        )
        .join(records, records.c.id == history.c.record_id)
        .join(defs, defs.c.id == history.c.property_id)
        .where(history.c.id > after, _not_under(history.c.value_ct, prefix))
        .order_by(history.c.id)
        .limit(size)
    )
    rows = conn.execute(query).all()
    return rows, ((rows[-1][0], 0) if rows else (after, 0))


def _reseal(protector: Protector, rows: list[Any], phase: str) -> tuple[list[tuple[Any, ...]], int]:
    """(new, key..., old) parameter tuples for the compare-and-set, and the unreadable count."""
    updates: list[tuple[Any, ...]] = []
    unreadable = 0
    for a, b, old, hub_id, object_type_id, name in rows:
        # Values are keyed (record, property); history rows by their own id, record second.
        record_id = a if phase == "values" else b
        try:
            new = protector.reseal(ValueRef(hub_id, object_type_id, record_id, name), old)
        except SealedValueError:
            # Never guess: a value that does not open stays as it is, and is counted.
            unreadable += 1
            continue
        if new is not None:
            updates.append((new, a, b, old) if phase == "values" else (new, a, old))
    return updates, unreadable


def _compare_and_set(conn: Connection, phase: str, updates: list[tuple[Any, ...]]) -> None:
    """Straight to the driver: this loop is the rotation's hot path."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if phase == "values":
        sql = (
            f"UPDATE record_values SET value_ct = {mark} "
            f"WHERE record_id = {mark} AND property_id = {mark} AND value_ct = {mark}"
        )
    else:
        sql = f"UPDATE record_history SET value_ct = {mark} WHERE id = {mark} AND value_ct = {mark}"
    conn.exec_driver_sql(sql, updates)


def _reseal_client_secrets(
    conn: Connection, protector: Protector, prefix: bytes
) -> tuple[int, int]:
    """Reseals public apps' client secrets (kept for signing webhooks); (resealed, unreadable)."""
    rows = conn.execute(
        select(apps.c.id, apps.c.client_secret_ct).where(
            _not_under(apps.c.client_secret_ct, prefix)
        )
    ).all()
    resealed = unreadable = 0
    for app_id, old in rows:
        try:
            new = protector.reseal(client_secret_ref(app_id), old)
        except SealedValueError:
            unreadable += 1
            continue
        if new is not None:
            conn.execute(
                update(apps)
                .where(apps.c.id == app_id, apps.c.client_secret_ct == old)
                .values(client_secret_ct=new)
            )
            resealed += 1
    return resealed, unreadable


# Every sealed column a key may hold values in: retiring a key needs all of them moved off it.
def _sealed_columns() -> tuple[Any, ...]:
    return (values.c.value_ct, history.c.value_ct, apps.c.client_secret_ct)


def _left_over(conn: Connection, prefix: bytes) -> int:
    total = 0
    for column in _sealed_columns():
        query = select(func.count()).where(_not_under(column, prefix))
        total += conn.scalar(query) or 0
    return total


def _retire_if_asked(rt: Runtime) -> None:
    with rt.store.read() as conn:
        job = conn.execute(
            select(rotations.c.retire_when_done).order_by(rotations.c.id.desc()).limit(1)
        ).first()
    if job is not None and job.retire_when_done and not rt.keyring_source.from_environment:
        retire(rt)


# Status ----------------------------------------------------------------------------------------


def _counts(conn: Connection, ring: Keyring) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key_id in ring.keys:
        prefix = envelope_prefix(key_id)
        n = 0
        for column in _sealed_columns():
            query = select(func.count()).where(
                column.is_not(None), func.substr(column, 1, len(prefix)) == prefix
            )
            n += conn.scalar(query) or 0
        counts[key_id] = n
    return counts


def status(rt: Runtime) -> dict[str, Any]:
    refresh(rt)  # another process may have rotated or retired meanwhile
    ring = rt.protector.keyring
    # One snapshot, so the per-key counts and the total agree while writers keep writing.
    with rt.store.read(snapshot=True) as conn:
        primary = state.get(conn, PRIMARY)
        counts = _counts(conn, ring)
        sealed = sum(
            conn.scalar(select(func.count()).where(column.is_not(None))) or 0
            for column in _sealed_columns()
        )
        job = conn.execute(select(rotations).order_by(rotations.c.id.desc()).limit(1)).first()
    out: dict[str, Any] = {
        "primary": primary,
        "activePrimary": ring.primary,
        "source": "environment" if rt.keyring_source.from_environment else "file",
        "keys": [{"id": k, "primary": k == primary, "values": counts[k]} for k in ring.keys],
        "retired": ring.retired,
        "sealedValues": sealed,
        "valuesUnderOldKeys": sealed - counts.get(primary or "", 0),
        "valuesUnderUnknownKeys": sealed - sum(counts.values()),
        "indexKeyRotates": False,
        "rotation": None,
    }
    if job is not None:
        out["rotation"] = {
            "id": job.id,
            "targetKeyId": job.target_key_id,
            "state": job.state,
            "phase": job.phase,
            "passes": job.passes,
            "resealed": job.resealed,
            "startedMs": job.started_ms,
            "finishedMs": job.finished_ms,
        }
    return out
