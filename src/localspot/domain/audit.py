"""The audit trail of sensitive data: who touched which properties of which records, and how.

Rows name account, actor, action, object type, record ids, property names and correlation id,
never a value. The log is append-only and hash-chained: each row's hash covers the previous
row's hash and the row's own canonical JSON, and the chain head (last position and hash) lives
in ``server_state``. Appenders lock that head row, so on PostgreSQL concurrent transactions take
turns and the chain stays linear; on SQLite writers are serialized anyway. Pruning for
retention keeps an anchor (position and hash of the last pruned row) so the rest still verifies.

Call :func:`record` inside the write transaction that does the audited work, as late in it as
possible (the head lock is held until commit). Reads, which run in read transactions, and
denials, whose transaction rolls back, use :func:`record_apart`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select

from localspot.domain import state
from localspot.errors import validation_error
from localspot.policy import Caller, SensitiveAccessDenied
from localspot.store.driver import execute_many, fetch
from localspot.store.engine import when_kept
from localspot.store.schema import audit_log, server_state

if TYPE_CHECKING:
    from localspot.runtime import Runtime

ACTIONS = frozenset(
    {
        "read",
        "write",
        "search_hit",
        "export",
        "form_submission",
        "denied",
        "definition_change",
        "key_rotation",
    }
)
log = logging.getLogger(__name__)
GENESIS = "0" * 64
HEAD = "audit_head"
ANCHOR = "audit_anchor"
DAY_MS = 86_400_000
PAGE = 1000


@dataclass(frozen=True)
class Entry:
    """One row to append; ``caller`` None means the server or its operator."""

    at_ms: int
    caller: Caller | None
    action: str
    object_type_id: str | None
    record_ids: list[int]
    property_names: list[str]
    detail: dict[str, Any] | None = None
    hub_id: int | None = None


def record(
    conn: Connection,
    at_ms: int,
    caller: Caller | None,
    action: str,
    object_type_id: str | None,
    record_ids: list[int],
    property_names: list[str],
    detail: dict[str, Any] | None = None,
    *,
    hub_id: int | None = None,
) -> None:
    """Appends one row to the chain, in the caller's write transaction.

    ``caller`` None means the server or its operator (control plane, CLI). ``detail`` holds
    counts, flags, operation names: never a property value.
    """
    record_many(
        conn,
        [Entry(at_ms, caller, action, object_type_id, record_ids, property_names, detail, hub_id)],
    )


def record_many(conn: Connection, entries: list[Entry]) -> None:
    """Appends rows in order, locking and moving the chain head once for all of them."""
    if not entries:
        return
    for entry in entries:
        if entry.action not in ACTIONS:
            raise ValueError(f"unknown audit action {entry.action}")
    seq, prev = _lock_head(conn)
    rows = []
    for entry in entries:
        caller = entry.caller
        seq += 1
        row = {
            "seq": seq,
            "at_ms": entry.at_ms,
            "hub_id": caller.hub_id if caller is not None else entry.hub_id,
            "app_id": caller.app_id if caller is not None else None,
            "token_id": caller.token_id if caller is not None else None,
            "user_id": caller.user_id if caller is not None else None,
            "action": entry.action,
            "object_type_id": entry.object_type_id,
            "record_ids": _dumps(sorted(set(entry.record_ids))),
            "property_names": _dumps(sorted(set(entry.property_names))),
            "correlation_id": caller.correlation_id if caller is not None else None,
            "detail": _dumps(entry.detail) if entry.detail else None,
        }
        row["hash"] = prev = chain_hash(prev, row)
        rows.append(row)
    # The driver's executemany: SQLAlchemy's per-row parameter processing cost more than the
    # insert itself for a batch of read rows. Every column is a plain int or str.
    execute_many(
        conn,
        f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
        [tuple(row[c] for c in _COLUMNS) for row in rows],
    )
    # The head row exists: _lock_head made it if it was missing.
    execute_many(conn, _MOVE_HEAD_SQL, [(f"{seq}:{prev}", HEAD)])


def record_apart(
    rt: Runtime,
    caller: Caller | None,
    action: str,
    object_type_id: str | None,
    record_ids: list[int],
    property_names: list[str],
    detail: dict[str, Any] | None = None,
) -> None:
    """Appends a row in a transaction of its own (for reads and denials)."""
    with rt.store.write() as conn:
        record(
            conn,
            rt.clock.millis(),
            caller,
            action,
            object_type_id,
            record_ids,
            property_names,
            detail,
        )


class ReadLog:
    """Read rows, appended in batches by a background thread.

    A read runs in a read transaction and is answered at once; chaining its audit row in a
    write transaction (a disk sync on SQLite) per request would cost more than the read. Rows
    wait here at most ``FLUSH_SECONDS`` (their time is the read's); a crash of the process can
    lose that much of the read trail, never a write's. ``flush`` writes what waits, at once.
    """

    FLUSH_SECONDS = 0.1
    MAX_PENDING = 1000

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._pending: list[Entry] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="audit-reads", daemon=True)
        self._thread.start()

    def add(
        self,
        caller: Caller | None,
        action: str,
        object_type_id: str | None,
        record_ids: list[int],
        property_names: list[str],
    ) -> None:
        entry = Entry(
            self._rt.clock.millis(), caller, action, object_type_id, record_ids, property_names
        )
        # A read tried on the event loop may run again on a thread: one row per answer.
        when_kept(lambda: self._append(entry))

    def _append(self, entry: Entry) -> None:
        with self._lock:
            self._pending.append(entry)
            if len(self._pending) >= self.MAX_PENDING:
                self._wake.set()

    def flush(self) -> None:
        # One flush at a time: a reader's flush that found nothing pending must still wait
        # for rows another flush took but has not committed, or it reads a trail without them.
        # The rows are taken only inside the write: a write refused before it starts (a read
        # tried on the event loop, see Store.briefly) must leave them waiting.
        with self._flushing:
            if not self._pending:
                return
            with self._rt.store.write() as conn:
                with self._lock:
                    waiting, self._pending = self._pending, []
                record_many(conn, waiting)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - keep the trail flowing; next run retries
                log.error("audit flush failed", extra={"fields": {"error": type(exc).__name__}})

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()


def record_denial(rt: Runtime, denied: SensitiveAccessDenied) -> None:
    """A 403 for a sensitive scope, recorded after the refused request rolled back."""
    record_apart(
        rt,
        denied.caller,
        "denied",
        denied.object_type_id,
        denied.record_ids,
        denied.property_names,
        {"access": denied.access, "status": denied.status},
    )


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and the row's fields as canonical JSON."""
    fields = {k: row[k] for k in _CHAINED}
    return hashlib.sha256(prev_hash.encode() + b"|" + _dumps(fields).encode()).hexdigest()


_CHAINED = (
    "seq",
    "at_ms",
    "hub_id",
    "app_id",
    "token_id",
    "user_id",
    "action",
    "object_type_id",
    "record_ids",
    "property_names",
    "correlation_id",
    "detail",
)

_COLUMNS = (*_CHAINED, "hash")


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# On the driver's cursor: every audited write reads and moves the head, and the two SQLAlchemy
# statements cost some 0.3 ms a transaction.
_HEAD_SQL = 'SELECT value FROM server_state WHERE "key" = ?'
_MOVE_HEAD_SQL = 'UPDATE server_state SET value = ? WHERE "key" = ?'


def _lock_head(conn: Connection) -> tuple[int, str]:
    # FOR UPDATE serializes appenders on PostgreSQL; SQLite has none (writers are serial).
    sql = _HEAD_SQL if conn.dialect.name == "sqlite" else f"{_HEAD_SQL} FOR UPDATE"
    found = fetch(conn, sql, (HEAD,))
    value = found[0][0] if found else None
    if value is None:
        # Only a store whose head row was removed gets here; on SQLite no race is possible,
        # on PostgreSQL a racing insert fails on the primary key and the request can retry.
        conn.execute(insert(server_state).values(key=HEAD, value=f"0:{GENESIS}"))
        return 0, GENESIS
    return _position(value)


def _position(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    return int(seq), digest


# Verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    anchor_seq: int
    broken_at: int | None = None
    reason: str | None = None

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "checked": self.checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "anchorSeq": self.anchor_seq,
        }
        if not self.ok:
            out["firstBrokenSeq"] = self.broken_at
            out["reason"] = self.reason
        return out


def verify(rt: Runtime) -> Verdict:
    """Walks the chain from the anchor to the head; reports the first position that breaks."""
    with rt.store.read(snapshot=True) as conn:
        head_seq, head_hash = _position(state.get(conn, HEAD) or f"0:{GENESIS}")
        anchor_seq, prev = _position(state.get(conn, ANCHOR) or f"0:{GENESIS}")
        expected, checked = anchor_seq + 1, 0

        def broken(at: int, reason: str) -> Verdict:
            return Verdict(False, checked, head_seq, head_hash, anchor_seq, at, reason)

        rows = conn.execution_options(yield_per=PAGE).execute(
            select(audit_log).where(audit_log.c.seq > anchor_seq).order_by(audit_log.c.seq)
        )
        for row in rows.mappings():
            if row["seq"] != expected:
                return broken(expected, "row missing (deleted)")
            if chain_hash(prev, dict(row)) != row["hash"]:
                return broken(row["seq"], "row edited (hash does not match)")
            prev, expected, checked = row["hash"], expected + 1, checked + 1
        last = expected - 1
        if last < head_seq:
            return broken(last + 1, "rows missing at the end (deleted)")
        if last > head_seq or prev != head_hash:
            return broken(head_seq, "chain head does not match the last row")
        return Verdict(True, checked, head_seq, head_hash, anchor_seq)


# Queries and export ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    hub_id: int | None = None
    action: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    property_name: str | None = None
    object_type_id: str | None = None
    app_id: int | None = None
    # Private and public apps number their ids apart: "private" or "public" says which.
    app_kind: str | None = None
    user_id: int | None = None

    def check(self) -> None:
        if self.action is not None and self.action not in ACTIONS:
            raise validation_error(
                f"action must be one of: {', '.join(sorted(ACTIONS))}",
                context={"action": [self.action]},
            )
        if self.app_kind is not None and self.app_kind not in _TOKEN_PREFIX:
            raise validation_error(
                "appKind must be one of: private, public", context={"appKind": [self.app_kind]}
            )

    def clauses(self) -> list[Any]:
        c = audit_log.c
        where: list[Any] = []
        if self.hub_id is not None:
            where.append(c.hub_id == self.hub_id)
        if self.action is not None:
            where.append(c.action == self.action)
        if self.since_ms is not None:
            where.append(c.at_ms >= self.since_ms)
        if self.until_ms is not None:
            where.append(c.at_ms < self.until_ms)
        if self.property_name is not None:
            # Names are stored as a JSON list; the quotes make this an exact element match.
            where.append(c.property_names.contains(f'"{self.property_name}"', autoescape=True))
        if self.object_type_id is not None:
            where.append(c.object_type_id == self.object_type_id)
        if self.app_id is not None:
            where.append(c.app_id == self.app_id)
        if self.app_kind is not None:
            where.append(c.token_id.startswith(_TOKEN_PREFIX[self.app_kind], autoescape=True))
        if self.user_id is not None:
            where.append(c.user_id == self.user_id)
        return where


def query(rt: Runtime, filters: Filters, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """One page of rows in chain order, after position ``after``."""
    filters.check()
    rt.audit_reads.flush()
    # Not the request's shared read: it began before the flush, and when another thread had
    # flushed the rows this one waited for, its snapshot (SQLite) predates them.
    with rt.store.read(snapshot=True) as conn:
        rows = conn.execute(
            select(audit_log)
            .where(audit_log.c.seq > after, *filters.clauses())
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        return [render(r) for r in rows.mappings()]


def export(rt: Runtime, filters: Filters) -> Iterator[dict[str, Any]]:
    """Every matching row, page by page (each page its own short read transaction)."""
    filters.check()
    after = 0
    while True:
        page = query(rt, filters, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1]["seq"]


# What a caller's token id starts with, by the kind of app that holds it: a private app's
# access token, or an OAuth token of a public app (accounts.py, oauth_tokens.py).
_TOKEN_PREFIX = {"private": "pat:", "public": "oauth:"}


def _app_kind(token_id: str | None) -> str | None:
    for kind, prefix in _TOKEN_PREFIX.items():
        if token_id is not None and token_id.startswith(prefix):
            return kind
    return None


def render(row: Any) -> dict[str, Any]:
    actor = {
        "appId": row["app_id"],
        "appKind": _app_kind(row["token_id"]),
        "tokenId": row["token_id"],
        "userId": row["user_id"],
    }
    return {
        "seq": row["seq"],
        "at": datetime.fromtimestamp(row["at_ms"] / 1000, UTC).isoformat(timespec="milliseconds"),
        "atMs": row["at_ms"],
        "hubId": row["hub_id"],
        "actor": actor,
        "action": row["action"],
        "objectTypeId": row["object_type_id"],
        "recordIds": orjson.loads(row["record_ids"]),
        "propertyNames": orjson.loads(row["property_names"]),
        "correlationId": row["correlation_id"],
        "detail": orjson.loads(row["detail"]) if row["detail"] else None,
        "hash": row["hash"],
    }


# Retention ------------------------------------------------------------------------------------


def prune(conn: Connection, now_ms: int, days: int) -> int:
    """Deletes rows older than ``days``; the last deleted row becomes the verification anchor."""
    if days <= 0:
        return 0
    _lock_head(conn)
    cutoff = now_ms - days * DAY_MS
    last = conn.scalar(select(func.max(audit_log.c.seq)).where(audit_log.c.at_ms < cutoff))
    if last is None:
        return 0
    last_hash = conn.scalar(select(audit_log.c.hash).where(audit_log.c.seq == last))
    anchor_seq, _ = _position(state.get(conn, ANCHOR) or f"0:{GENESIS}")
    conn.execute(delete(audit_log).where(audit_log.c.seq <= last))
    state.put(conn, ANCHOR, f"{last}:{last_hash}")
    return int(last) - anchor_seq
