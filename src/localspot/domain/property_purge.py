"""Deleting property definitions for good: archived ones after 90 days (SPEC Part B18), every
one of a purged custom object, and an account's own ones when it is reset."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select

from localspot.domain import property_cache
from localspot.store.schema import property_definitions as defs


def every_definition(conn: Connection, hub_id: int, object_type_id: str) -> list[Any]:
    """Active and archived definitions of an object: what purging the object destroys."""
    query = select(defs).where(defs.c.hub_id == hub_id, defs.c.object_type_id == object_type_id)
    return list(conn.execute(query))


def purge_object_type(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """Deletes every definition of an object type, archived or not (custom schema purge)."""
    conn.execute(
        delete(defs).where(defs.c.hub_id == hub_id, defs.c.object_type_id == object_type_id)
    )
    property_cache.touch(conn, hub_id, [object_type_id])


def purge_custom(conn: Connection, hub_id: int, object_type_id: str) -> list[Any]:
    """Deletes the definitions an account made on an object, archived or not, and returns
    them; HubSpot-defined ones stay (account reset)."""
    mine = (
        defs.c.hub_id == hub_id,
        defs.c.object_type_id == object_type_id,
        defs.c.hubspot_defined.is_(False),
    )
    rows = list(conn.execute(select(defs).where(*mine)))
    if rows:
        conn.execute(delete(defs).where(*mine))
        property_cache.touch(conn, hub_id, [object_type_id])
    return rows


def purge_archived(conn: Connection, now: datetime, days: int) -> list[tuple[int, str, str]]:
    """Deletes definitions archived ``days`` ago or more; returns (hub, object, name) of each."""
    cutoff = now - timedelta(days=days)
    expired = conn.execute(
        select(defs.c.hub_id, defs.c.object_type_id, defs.c.name).where(
            defs.c.archived.is_(True), defs.c.archived_at <= cutoff
        )
    ).all()
    if expired:
        conn.execute(delete(defs).where(defs.c.archived.is_(True), defs.c.archived_at <= cutoff))
        for hub_id in {r.hub_id for r in expired}:
            property_cache.touch(
                conn, hub_id, [r.object_type_id for r in expired if r.hub_id == hub_id]
            )
    return [tuple(r) for r in expired]  # type: ignore[misc]
