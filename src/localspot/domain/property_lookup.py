"""Property definitions as the other domains read them: records, search, forms, webhooks.

The Properties API itself (``properties.py``) owns writing them; these lookups run on every
record read and write, so they are built once and kept lean.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select

from localspot.domain import property_cache
from localspot.domain.object_types import ObjectType
from localspot.runtime import Runtime
from localspot.store.driver import fetch
from localspot.store.schema import property_definitions as defs

# In creation order, as property listings go: without an order each store had its own (a
# schema's properties came alphabetically on SQLite, by heap on PostgreSQL).
_ACTIVE = (
    select(defs)
    .where(
        defs.c.hub_id == bindparam("hub_id"),
        defs.c.object_type_id == bindparam("object_type_id"),
        defs.c.archived.is_(False),
    )
    .order_by(defs.c.id)
)
_ACTIVE_NAMED = _ACTIVE.where(defs.c.name.in_(bindparam("names", expanding=True)))


# A definitions row as a plain named tuple, in the same attributes and order: reading an
# attribute of a SQLAlchemy Row costs some twenty times as much, and a batch write reads
# several per value it checks.
Definition = namedtuple("Definition", defs.c.keys())  # type: ignore[misc]


class ReadDefinition(NamedTuple):
    """What a record read needs of a definition: no options to decode, no dates to convert."""

    id: int
    name: str
    type: str
    data_sensitivity: str


# A request may name any number of properties, most of which may not exist. Past this many,
# every active definition of the object is read and the named ones kept: an IN list may not
# pass the 65,535 parameters PostgreSQL takes, nor be kept as a key of what is remembered.
NAMED_AT_ONCE = 1000


def definitions_for_reads(
    conn: Connection, hub_id: int, object_type: ObjectType, names: list[str] | None
) -> dict[str, ReadDefinition]:
    """Active definitions named (None: all), with only ``id``, ``name``, ``type`` and
    ``data_sensitivity``."""
    if names is not None and not names:
        return {}
    sql = (
        "SELECT id, name, type, data_sensitivity FROM property_definitions "
        "WHERE hub_id = ? AND object_type_id = ? AND archived = ?"
    )
    params: list[Any] = [hub_id, object_type.id, False]
    if names is not None and len(names) <= NAMED_AT_ONCE:
        sql += f" AND name IN ({', '.join('?' * len(names))})"
        params += names
    found = {row[1]: ReadDefinition(*row) for row in fetch(conn, sql, params)}
    return found if names is None else _named(found, names)


def _named(found: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {n: found[n] for n in names if n in found}


def remembered_for_reads(
    rt: Runtime, conn: Connection, hub_id: int, object_type: ObjectType, names: list[str]
) -> dict[str, ReadDefinition]:
    """``definitions_for_reads``, as the store remembers them (``Store.remembered_in``)."""
    return _remembered(rt, conn, definitions_for_reads, hub_id, object_type, names)


def remembered_by_name(
    rt: Runtime, conn: Connection, hub_id: int, object_type: ObjectType, names: list[str]
) -> dict[str, Any]:
    """``definitions_by_name`` of ``names``, as the store remembers them."""
    return _remembered(rt, conn, definitions_by_name, hub_id, object_type, names)


def _remembered(
    rt: Runtime,
    conn: Connection,
    lookup: Callable[[Connection, int, ObjectType, list[str] | None], dict[str, Any]],
    hub_id: int,
    object_type: ObjectType,
    names: list[str],
) -> dict[str, Any]:
    wanted = sorted(set(names))
    if len(wanted) > NAMED_AT_ONCE:
        every = rt.store.remembered_in(
            conn,
            (lookup.__name__, hub_id, object_type.id, None),
            lambda c: lookup(c, hub_id, object_type, None),
        )
        return _named(every, wanted)
    return rt.store.remembered_in(
        conn,
        (lookup.__name__, hub_id, object_type.id, tuple(wanted)),
        lambda c: lookup(c, hub_id, object_type, wanted),
    )


def definitions_by_name(
    conn: Connection, hub_id: int, object_type: ObjectType, names: list[str] | None = None
) -> dict[str, Any]:
    """Active definitions of an object, optionally only those named; for other domains."""
    params: dict[str, Any] = {"hub_id": hub_id, "object_type_id": object_type.id}
    if names is None or len(names) > NAMED_AT_ONCE:
        rows = conn.execute(_ACTIVE, params)
    else:
        rows = conn.execute(_ACTIVE_NAMED, {**params, "names": list(names)})
    found = {row.name: Definition(*row) for row in rows}
    return found if names is None else _named(found, list(names))


def active_definitions(conn: Connection, hub_id: int, object_type: ObjectType) -> dict[str, Any]:
    """``definitions_by_name`` of every active definition, kept between transactions while
    the object's definitions marker is unchanged (``property_cache.active``)."""
    return property_cache.active(
        conn, hub_id, object_type.id, lambda: definitions_by_name(conn, hub_id, object_type)
    )
