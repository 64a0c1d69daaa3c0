"""Claiming due events in batches and recording how their delivery went (SPEC §5.2).

Several workers may run against one store. A claim moves a batch's ``due_at_ms`` to the end of a
lease and ties the events to a delivery row, all in one write transaction: other workers skip
them until the lease runs out, and a worker that dies mid-delivery loses nothing, because the
events fall due again. Delivery is at least once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from localspot.domain.public_apps import NoSigningSecret
from localspot.runtime import Runtime
from localspot.store.schema import webhook_deliveries, webhook_events, webhook_settings

from .subscriptions import AppRef, app_secret

# Seconds to wait after the n-th failed try (n = 1..10): HubSpot retries a failed notification
# up to 10 times over about 24 hours, so an event gets the first try and ten more.
BACKOFF_SECONDS = (60, 300, 900, 1800, 3600, 7200, 10800, 14400, 21600, 25200)
JITTER = 0.2

events = webhook_events.c
deliveries = webhook_deliveries.c


@dataclass
class Batch:
    delivery_id: int
    app: AppRef
    hub_id: int
    target_url: str
    secret: str
    # (event id, attempts so far, payload) in id order.
    events: list[tuple[int, int, dict[str, Any]]]

    def body(self) -> list[dict[str, Any]]:
        """The JSON array to POST: each stored payload with its eventId and attemptNumber."""
        out = []
        for event_id, attempts, payload in self.events:
            item: dict[str, Any] = {"eventId": event_id}
            for key, value in payload.items():
                item[key] = value
                if key == "subscriptionType":
                    item["attemptNumber"] = attempts
            out.append(item)
        return out


def backoff_ms(failures: int) -> int:
    base = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
    return int(base * random.uniform(1 - JITTER, 1 + JITTER) * 1000)


# Apps without settings are paused: their events wait, and no worker looks at them.
_WITH_TARGET = and_(
    webhook_settings.c.app_kind == events.app_kind, webhook_settings.c.app_id == events.app_id
)


# Built once: every worker asks it twenty times a second, mostly of an empty outbox, and
# building the statement was most of what an idle server spent.
_ANY_DUE = (
    select(events.id)
    .join(webhook_settings, _WITH_TARGET)
    .where(events.status == "pending", events.due_at_ms <= bindparam("now"))
    .limit(1)
)


def anything_due(rt: Runtime) -> bool:
    now = rt.clock.millis()
    with rt.store.read() as conn:
        found = conn.scalar(_ANY_DUE, {"now": now})
    return found is not None


@dataclass
class Outcome:
    batch: Batch
    outcome: str  # success | http_error | timeout | connection_error | signing_error
    status_code: int | None
    duration_ms: int
    error: str | None = None


def claim(
    rt: Runtime, worker: str, capacity: int, finished: list[Outcome] | None = None
) -> list[Batch]:
    """Records ``finished`` deliveries, then claims up to ``capacity`` due batches within each
    app's concurrency limit, in one write transaction: commits, not queries, bound throughput."""
    finished = finished or []
    if not finished and (capacity <= 0 or not anything_due(rt)):
        return []
    size = rt.settings.webhook_batch_size
    batches: list[Batch] = []
    with rt.store.write() as conn:
        now = rt.clock.millis()
        for done in finished:
            _settle(conn, rt, now, done)
        skipped: list[Any] = []
        while len(batches) < capacity:
            group = _oldest_due_group(conn, now, skipped)
            if group is None:
                break
            skipped.append(group)
            app = AppRef(group.app_kind, int(group.app_id))
            settings = _settings_for_update(conn, app)
            if settings is None:
                continue  # settings deleted since the query above
            try:
                secret = app_secret(conn, rt.protector, app, rt.clock.now())
            except NoSigningSecret as exc:
                _fail_unsigned(conn, rt, app, group.hub_id, settings, worker, now, str(exc))
                continue
            free = settings.max_concurrent_requests - _in_flight(conn, app, group.hub_id, now)
            for _ in range(min(free, capacity - len(batches))):
                batch = _claim_one(conn, rt, app, group.hub_id, settings, worker, now, size)
                if batch is None:
                    break
                batch.secret = secret
                batches.append(batch)
    return batches


def _fail_unsigned(
    conn: Connection,
    rt: Runtime,
    app: AppRef,
    hub_id: int,
    settings: Any,
    worker: str,
    now: int,
    reason: str,
) -> None:
    """Nothing is sent unsigned: a batch that cannot be signed is recorded as a failed delivery
    with the reason, and its events retry on the usual schedule (a rotated secret fixes it)."""
    batch = _claim_one(conn, rt, app, hub_id, settings, worker, now, rt.settings.webhook_batch_size)
    if batch is not None:
        _settle(conn, rt, now, Outcome(batch, "signing_error", None, 0, reason[:200]))


def _oldest_due_group(conn: Connection, now: int, skipped: list[Any]) -> Any:
    """The app and account of the event due longest, among groups not yet looked at; follows
    the due index, so a long queue costs no scan."""
    query = (
        select(events.app_kind, events.app_id, events.hub_id)
        .join(webhook_settings, _WITH_TARGET)
        .where(events.status == "pending", events.due_at_ms <= now)
    )
    for group in skipped:
        query = query.where(
            ~and_(
                events.app_kind == group.app_kind,
                events.app_id == group.app_id,
                events.hub_id == group.hub_id,
            )
        )
    return conn.execute(query.order_by(events.due_at_ms).limit(1)).first()


def _settings_for_update(conn: Connection, app: AppRef) -> Any:
    # On PostgreSQL the row lock serialises claims per app, so that workers counting in-flight
    # deliveries at the same moment cannot both take the last free slot. SQLite ignores it and
    # needs nothing: its write transactions are serial already.
    return conn.execute(
        select(webhook_settings)
        .where(webhook_settings.c.app_kind == app.kind, webhook_settings.c.app_id == app.app_id)
        .with_for_update()
    ).first()


def _in_flight(conn: Connection, app: AppRef, hub_id: int, now: int) -> int:
    return int(
        conn.scalar(
            select(func.count())
            .select_from(webhook_deliveries)
            .where(
                deliveries.app_kind == app.kind,
                deliveries.app_id == app.app_id,
                deliveries.hub_id == hub_id,
                deliveries.finished_at_ms.is_(None),
                deliveries.lease_until_ms > now,
            )
        )
        or 0
    )


def _claim_one(
    conn: Connection,
    rt: Runtime,
    app: AppRef,
    hub_id: int,
    settings: Any,
    worker: str,
    now: int,
    size: int,
) -> Batch | None:
    due = and_(
        events.app_kind == app.kind,
        events.app_id == app.app_id,
        events.hub_id == hub_id,
        events.status == "pending",
        events.due_at_ms <= now,
    )
    rows = conn.execute(
        select(events.id, events.attempts, events.payload)
        .where(due)
        .order_by(events.due_at_ms)
        .limit(size)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return None
    lease_until = now + int(rt.settings.webhook_lease_seconds * 1000)
    ids = [int(r.id) for r in rows]
    delivery_id = int(
        conn.execute(
            insert(webhook_deliveries).values(
                app_kind=app.kind,
                app_id=app.app_id,
                hub_id=hub_id,
                target_url=settings.target_url,
                event_ids=ids,
                event_count=len(ids),
                attempt_number=min(int(r.attempts) for r in rows),
                worker=worker,
                started_at_ms=now,
                lease_until_ms=lease_until,
            )
        ).inserted_primary_key[0]
    )
    conn.execute(
        update(webhook_events)
        .where(events.id.in_(ids), due)
        .values(due_at_ms=lease_until, delivery_id=delivery_id)
    )
    return Batch(
        delivery_id=delivery_id,
        app=app,
        hub_id=hub_id,
        target_url=settings.target_url,
        secret="",
        events=[(int(r.id), int(r.attempts), dict(r.payload)) for r in rows],
    )


def complete(rt: Runtime, done: Outcome) -> None:
    with rt.store.write() as conn:
        _settle(conn, rt, rt.clock.millis(), done)


def _settle(conn: Connection, rt: Runtime, now: int, done: Outcome) -> None:
    """Records a POST's outcome; on failure each event is scheduled again or given up."""
    batch, outcome = done.batch, done.outcome
    ids = [e[0] for e in batch.events]
    conn.execute(
        update(webhook_deliveries)
        .where(deliveries.id == batch.delivery_id)
        .values(
            finished_at_ms=now,
            outcome=outcome,
            status_code=done.status_code,
            duration_ms=done.duration_ms,
            error=done.error,
        )
    )
    if outcome == "success":
        # Whichever worker delivered them, they are delivered.
        conn.execute(
            update(webhook_events)
            .where(events.id.in_(ids), events.status == "pending")
            .values(status="delivered", delivered_at_ms=now)
        )
        return
    by_attempts: dict[int, list[int]] = {}
    for event_id, attempts, _ in batch.events:
        by_attempts.setdefault(attempts, []).append(event_id)
    for attempts, group in by_attempts.items():
        failures = attempts + 1
        # Only events still held by this delivery: a takeover after the lease ran out has
        # its own schedule now.
        mine = and_(
            events.id.in_(group),
            events.status == "pending",
            events.delivery_id == batch.delivery_id,
        )
        if failures >= rt.settings.webhook_max_attempts:
            values: dict[str, Any] = {"status": "failed", "attempts": failures}
        else:
            values = {"attempts": failures, "due_at_ms": now + backoff_ms(failures)}
        conn.execute(update(webhook_events).where(mine).values(**values))
