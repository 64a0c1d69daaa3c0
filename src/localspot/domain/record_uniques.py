"""Unique property values in the store: which record holds each, and claiming or releasing them.

A unique value is held by one record at a time, found by its key: a hash of the normalised
value, or a blind index when the property is sensitive (the key must not give the value away).
Everything here runs inside a transaction the caller opened; access decisions are made before
these functions are called.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, select

from localspot import policy
from localspot.domain.object_types import ObjectType
from localspot.domain.record_store import load_values
from localspot.domain.values import Stored
from localspot.protection import Protector
from localspot.store.driver import execute_many
from localspot.store.schema import unique_values


def is_unique(object_type: ObjectType, definition: Any) -> bool:
    return definition.has_unique_value or (object_type.id == "0-1" and definition.name == "email")


def unique_key(
    protector: Protector, object_type: ObjectType, hub_id: int, definition: Any, stored: Stored
) -> str:
    norm = stored.text.strip().lower()
    if policy.is_protected(definition.data_sensitivity):
        return protector.blind_index(hub_id, object_type.id, definition.name, norm)
    return hashlib.sha256(norm.encode()).hexdigest()


def holder_of(conn: Connection, definition: Any, key: str) -> int | None:
    return conn.scalar(
        select(unique_values.c.record_id).where(
            unique_values.c.property_id == definition.id, unique_values.c.value_key == key
        )
    )


def holders(conn: Connection, claims: list[tuple[int, str]]) -> list[tuple[int, str, int]]:
    """(property id, key, holder) for each claimed (property id, key) already held."""
    by_property: dict[int, list[str]] = {}
    for property_id, key in claims:
        by_property.setdefault(property_id, []).append(key)
    out = []
    # Per property: the primary key (property_id, value_key) answers each look-up.
    for property_id, keys in by_property.items():
        out += conn.execute(
            select(
                unique_values.c.property_id, unique_values.c.value_key, unique_values.c.record_id
            ).where(unique_values.c.property_id == property_id, unique_values.c.value_key.in_(keys))
        ).all()
    order = {claim: i for i, claim in enumerate(claims)}
    return sorted(((p, k, r) for p, k, r in out), key=lambda held: order[held[:2]])


_CLAIM_SQL = (
    "INSERT INTO unique_values (property_id, value_key, record_id) VALUES (?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)


def add_unique(conn: Connection, held: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Claims each (property id, key) for its record; returns the claims someone else won.

    The look-up before a claim cannot see a concurrent writer's uncommitted claim on
    PostgreSQL; the primary key can: the insert waits for that writer and skips a claim it
    committed, which the look-up after it sees, so a lost race surfaces here and not as a 500.
    Skipping rather than failing needs no savepoint, and a batch's claims almost always win.
    The caller fails the unit of work on a lost claim, so the claims that were won go with it.
    """
    if execute_many(conn, _CLAIM_SQL, held) == len(held):
        return []
    mine = {(p, k): r for p, k, r in held}
    return [found for found in holders(conn, list(mine)) if found[2] != mine[found[:2]]]


def set_unique(conn: Connection, definition: Any, key: str | None, record_id: int) -> int | None:
    """Makes ``record_id`` the holder of ``key`` for ``definition`` (None: holds nothing).

    Returns the record that holds ``key`` instead, when a concurrent writer got there first.
    """
    conn.execute(
        delete(unique_values).where(
            unique_values.c.property_id == definition.id,
            unique_values.c.record_id == record_id,
        )
    )
    if key is None:
        return None
    lost = add_unique(conn, [(definition.id, key, record_id)])
    return lost[0][2] if lost else None


def release_unique(conn: Connection, record_ids: list[int]) -> None:
    if record_ids:
        conn.execute(delete(unique_values).where(unique_values.c.record_id.in_(record_ids)))


def stored_unique_keys(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    record_id: int,
    definitions: Iterable[Any],
) -> list[tuple[Any, str]]:
    """(definition, key) for each unique definition the record holds a value of."""
    unique = [d for d in definitions if is_unique(object_type, d)]
    values = load_values(conn, protector, hub_id, object_type, [record_id], unique)[record_id]
    return [
        (d, unique_key(protector, object_type, hub_id, d, Stored(values[d.name], None, None)))
        for d in unique
        if values.get(d.name)
    ]
