"""Change events and the transactional outbox.

Every write path of the records domain calls :func:`emit` inside its own write transaction, so an
event is queued if and only if its change commits. Delivery happens later (``delivery.py``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select, update

from localspot.domain import object_types, property_lookup
from localspot.policy import WEBHOOK_REDACTED
from localspot.store.driver import execute_many, fetch
from localspot.store.engine import after_commit
from localspot.store.schema import (
    app_installs,
    private_apps,
    webhook_events,
    webhook_settings,
    webhook_subscriptions,
)

from .event_types import GENERIC, KINDS, split

CHANGE_SOURCES = ("API", "FORM", "CRM_UI", "IMPORT", "INTEGRATION", "CRM")

# Fields a merge or associationChange event may add to its payload (SPEC §5.3); anything else
# in ``extra`` is refused, so that no value can ride along unnoticed.
EXTRA_FIELDS = frozenset(
    {
        "primaryObjectId",
        "mergedObjectIds",
        "newObjectId",
        "numberOfPropertiesMoved",
        "associationType",
        "fromObjectId",
        "toObjectId",
        "associationRemoved",
        "isPrimaryAssociation",
    }
)

# conn.info entry: (transaction, answers cached for it); see _transaction_cache.
_CACHE_KEY = "webhook_subscriptions"

# Set whenever a transaction that queued events commits; see also on_queued().
queued = threading.Event()
_wakers: set[Callable[[], None]] = set()


def on_queued(waker: Callable[[], None]) -> Callable[[], None]:
    """Calls ``waker`` (from the committing thread) whenever queued events commit in this
    process, so that an in-process worker claims them at once instead of at its next poll.
    Returns the function that stops it."""
    _wakers.add(waker)
    return lambda: _wakers.discard(waker)


def _committed() -> None:
    queued.set()
    for waker in list(_wakers):
        waker()


class SensitiveValueInEvent(RuntimeError):
    """A caller tried to queue the value of a sensitive property. Names only, never the value."""


@dataclass(frozen=True)
class ChangeEvent:
    hub_id: int
    object_type_id: str  # "0-1" contacts, "0-2", "0-3", "0-5", "2-..." custom
    object_id: int
    kind: str  # one of event_types.KINDS
    occurred_at_ms: int  # from rt.clock; also when the event becomes due for delivery
    change_source: str  # SPEC Part B16
    source_id: str | None  # app id as a string, or "userId:<id>"
    property_name: str | None = None
    # Already "REDACTED" for sensitive properties (policy.webhook_property_value).
    property_value: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def emit(conn: Connection, events: list[ChangeEvent]) -> None:
    """Fans events out to matching active subscriptions into the outbox, in the caller's
    transaction. Raises :class:`SensitiveValueInEvent` (and so rolls the change back) if an event
    would carry a sensitive value."""
    events = _screen(conn, events)
    rows: list[tuple[Any, ...]] = []
    by_hub: dict[int, list[ChangeEvent]] = defaultdict(list)
    for event in events:
        by_hub[event.hub_id].append(event)
    for hub_id, hub_events in by_hub.items():
        for event in hub_events:
            for sub in _subscriptions_of_type(conn, hub_id, event.object_type_id):
                if _matches(sub, event):
                    rows.append(_outbox_row(sub, event))
    if rows:
        execute_many(conn, _INSERT_SQL, rows)
        after_commit(conn, _committed)


def listening(conn: Connection, hub_id: int, object_type_id: str) -> bool:
    """Whether any active subscription may receive events of this object type.

    A write with no listener can skip building its events: a batch makes one per value.
    """
    cache = _transaction_cache(conn)
    if ("subscriptions", hub_id, object_type_id) in cache:
        return bool(cache["subscriptions", hub_id, object_type_id])
    return bool(fetch(conn, _LISTENING_SQL, (True, object_type_id, hub_id, hub_id)))


# What _subscriptions selects, as one probe on the driver's cursor: every write asks, and the
# three SQLAlchemy queries cost some 0.4 ms a transaction.
_LISTENING_SQL = (
    "SELECT 1 FROM webhook_subscriptions s JOIN webhook_settings w "
    "ON w.app_kind = s.app_kind AND w.app_id = s.app_id "
    "WHERE s.active = ? AND s.match_type_id = ? AND ("
    "(s.app_kind = 'private' AND s.app_id IN (SELECT id FROM private_apps WHERE hub_id = ?)) "
    "OR (s.app_kind = 'public' AND s.app_id IN (SELECT app_id FROM app_installs WHERE hub_id = ?))"
    ") LIMIT 1"
)


def _subscriptions_of_type(conn: Connection, hub_id: int, object_type_id: str) -> list[Any]:
    """The active subscriptions to one object type, asked once per transaction."""
    cache = _transaction_cache(conn)
    key = ("subscriptions", hub_id, object_type_id)
    if key not in cache:
        cache[key] = _subscriptions(conn, hub_id, {object_type_id})
    return cache[key]


def _transaction_cache(conn: Connection) -> dict[tuple[Any, ...], Any]:
    """Answers that stay the same for the rest of ``conn``'s transaction.

    A batch write emits once per record: asking for subscriptions and property sensitivity
    each time was more than half the cost of a batch/update of 100 contacts. Subscriptions
    and property definitions change in transactions of their own, never in a record write's.
    """
    transaction = conn.get_transaction()
    cached = conn.info.get(_CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        conn.info[_CACHE_KEY] = cached
    return cached[1]


def _screen(conn: Connection, events: list[ChangeEvent]) -> list[ChangeEvent]:
    """Checks each event and drops those on highly sensitive properties (SPEC Part B7)."""
    wanted: dict[tuple[int, str], set[str]] = defaultdict(set)
    for event in events:
        if event.kind not in KINDS:
            raise ValueError(f"unknown change event kind {event.kind!r}")
        if event.change_source not in CHANGE_SOURCES:
            raise ValueError(f"unknown changeSource {event.change_source!r}")
        unknown = set(event.extra) - EXTRA_FIELDS
        if unknown:
            raise ValueError(f"unknown event fields: {', '.join(sorted(unknown))}")
        if event.kind == "propertyChange":
            if not event.property_name:
                raise ValueError("a propertyChange event needs its property name")
            wanted[(event.hub_id, event.object_type_id)].add(event.property_name)

    # (hub id, type id, name) -> data sensitivity, or None for an unknown property.
    sensitivity = _transaction_cache(conn)
    for (hub_id, type_id), names in wanted.items():
        missing = sorted(n for n in names if ("sensitivity", hub_id, type_id, n) not in sensitivity)
        if not missing:
            continue
        object_type = object_types.resolve(conn, hub_id, type_id)
        found = property_lookup.definitions_by_name(conn, hub_id, object_type, missing)
        for name in missing:
            row = found.get(name)
            level = row.data_sensitivity if row is not None else None
            sensitivity[("sensitivity", hub_id, type_id, name)] = level

    kept = []
    for event in events:
        if event.kind == "propertyChange":
            assert event.property_name is not None
            key = ("sensitivity", event.hub_id, event.object_type_id, event.property_name)
            level = sensitivity[key]
            if level in ("sensitive", "highly_sensitive"):
                allowed = (WEBHOOK_REDACTED,) if level == "sensitive" else (WEBHOOK_REDACTED, None)
                if event.property_value not in allowed:
                    raise SensitiveValueInEvent(
                        f"event for {level} property {event.property_name} must carry "
                        f"{WEBHOOK_REDACTED!r}, not its value"
                    )
                if level == "highly_sensitive":
                    continue
        kept.append(event)
    return kept


def _receiving_apps(conn: Connection, hub_id: int) -> list[tuple[str, int]]:
    """Apps that receive the events of an account: its own private apps and the public apps
    installed in it. Private and public ids share one number space, hence the kind."""
    private = conn.scalars(select(private_apps.c.id).where(private_apps.c.hub_id == hub_id))
    public = conn.scalars(select(app_installs.c.app_id).where(app_installs.c.hub_id == hub_id))
    return [("private", int(i)) for i in private] + [("public", int(i)) for i in public]


def discard_pending(conn: Connection, app_kind: str, app_id: int, hub_id: int, now_ms: int) -> int:
    """Marks an app's undelivered events from one account as discarded (the app was
    uninstalled there); returns how many."""
    e = webhook_events.c
    done = conn.execute(
        update(webhook_events)
        .where(
            e.app_kind == app_kind,
            e.app_id == app_id,
            e.hub_id == hub_id,
            e.status == "pending",
        )
        .values(status="discarded", due_at_ms=now_ms)
    )
    return int(done.rowcount or 0)


def discard_account_pending(conn: Connection, hub_id: int, now_ms: int) -> int:
    """Marks every app's undelivered events from one account as discarded (the account was
    reset: they name records that are gone); returns how many."""
    return sum(
        discard_pending(conn, kind, app_id, hub_id, now_ms)
        for kind, app_id in _receiving_apps(conn, hub_id)
    )


def _subscriptions(conn: Connection, hub_id: int, type_ids: set[str]) -> list[Any]:
    apps = _receiving_apps(conn, hub_id)
    if not apps:
        return []
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, app_id in apps:
        by_kind[kind].append(app_id)
    subs = webhook_subscriptions.c
    which = or_(*(and_(subs.app_kind == k, subs.app_id.in_(ids)) for k, ids in by_kind.items()))
    # Apps without settings have nowhere to deliver: their subscriptions are paused.
    query = (
        select(webhook_subscriptions)
        .join(
            webhook_settings,
            and_(
                webhook_settings.c.app_kind == subs.app_kind,
                webhook_settings.c.app_id == subs.app_id,
            ),
        )
        .where(which, subs.active.is_(True), subs.match_type_id.in_(sorted(type_ids)))
    )
    return list(conn.execute(query))


def _matches(sub: Any, event: ChangeEvent) -> bool:
    if sub.match_type_id != event.object_type_id:
        return False
    # A privacy deletion is also an ordinary deletion (SPEC §5.2).
    kinds = ("privacyDeletion", "deletion") if event.kind == "privacyDeletion" else (event.kind,)
    if sub.kind not in kinds:
        return False
    return sub.kind != "propertyChange" or sub.property_name == event.property_name


# On the driver's cursor: a batch write emits once per record, and a SQLAlchemy insert was a
# third of the cost of emitting. Both drivers take the JSON payload as text.
_INSERT_SQL = (
    "INSERT INTO webhook_events (app_kind, app_id, hub_id, subscription_id, payload, status, "
    "attempts, due_at_ms, created_at_ms) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
)


def _outbox_row(sub: Any, event: ChangeEvent) -> tuple[Any, ...]:
    payload: dict[str, Any] = {
        "subscriptionId": sub.id,
        "portalId": event.hub_id,
        "appId": sub.app_id,
        "occurredAt": event.occurred_at_ms,
        "subscriptionType": sub.event_type,
        "objectId": event.object_id,
    }
    if split(sub.event_type)[0] == GENERIC:
        payload["objectTypeId"] = event.object_type_id
    if sub.kind == "propertyChange":
        payload["propertyName"] = event.property_name
        payload["propertyValue"] = event.property_value
    payload["changeSource"] = event.change_source
    if event.source_id is not None:
        payload["sourceId"] = event.source_id
    if sub.kind == "creation":
        payload["changeFlag"] = "NEW"
    payload.update(event.extra)
    return (
        sub.app_kind,
        sub.app_id,
        event.hub_id,
        sub.id,
        orjson.dumps(payload).decode(),
        event.occurred_at_ms,
        event.occurred_at_ms,
    )
