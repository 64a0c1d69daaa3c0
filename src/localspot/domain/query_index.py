"""Keeps the free-text ``query`` index (``store/query_terms.py``) in step with the records.

Its rows for an object type derive from the record_terms of the properties recorded for it,
for live records only. Writes of those properties, archives, merges and restores change rows
of single records; a change to which properties are searchable, or to how one is tokenized,
rebuilds the object type. Search reads the index only while the recorded properties are still
the searchable ones (``current``), so a change that did not rebuild costs speed, not results.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from localspot import policy
from localspot.domain import property_lookup
from localspot.domain.object_types import ObjectType
from localspot.domain.search_terms import TOKENIZED_TYPES
from localspot.store import query_terms


def property_ids(conn: Connection, hub_id: int, object_type: ObjectType) -> tuple[int, ...]:
    """The stored properties ``query`` looks in: active, searchable, never sensitive ones
    (SPEC Part B3). Virtual properties live on the record row and have no terms."""
    return searched(conn, hub_id, object_type)[0]


def searched(
    conn: Connection, hub_id: int, object_type: ObjectType
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``property_ids``, and those of them whose whole-value terms are their value_norm."""
    names = [n for n in object_type.searchable_properties if object_type.record_column(n) is None]
    found = property_lookup.definitions_for_reads(conn, hub_id, object_type, names)
    kept = sorted(
        (d for d in found.values() if policy.matched_by_query(d.data_sensitivity)),
        key=lambda d: d.id,
    )
    ids = tuple(d.id for d in kept)
    return ids, tuple(d.id for d in kept if d.type in TOKENIZED_TYPES)


def current(conn: Connection, hub_id: int, object_type: ObjectType, ids: tuple[int, ...]) -> bool:
    """Whether the index of the object type holds the terms of ``ids`` (its searchable
    properties now), and only those."""
    return query_terms.recorded_ids(conn, hub_id, object_type.id) == ids


def written(
    conn: Connection, hub_id: int, object_type: ObjectType, changed: Iterable[tuple[int, int]]
) -> None:
    """After the terms of (record id, property id) pairs were rewritten."""
    changed = list(changed)
    if not changed:
        return
    recorded = query_terms.recorded_ids(conn, hub_id, object_type.id)
    if recorded is None:
        # Never built: the first write of a searchable property builds it.
        searchable = property_ids(conn, hub_id, object_type)
        if any(p in searchable for _, p in changed):
            query_terms.rebuild(conn, hub_id, object_type.id, searchable)
        return
    recorded_set = set(recorded)
    query_terms.refresh(conn, hub_id, object_type.id, [r for r, p in changed if p in recorded_set])


def created(
    conn: Connection,
    hub_id: int,
    object_type: ObjectType,
    changed: Iterable[tuple[int, int]],
    terms: Iterable[tuple[int, str, int]],
) -> None:
    """After the first values of records created in this transaction were written, with
    ``terms`` every (property id, term, record id) of theirs, those that value_norm stands for
    in record_terms too."""
    recorded = query_terms.recorded_ids(conn, hub_id, object_type.id)
    if recorded is None:
        written(conn, hub_id, object_type, changed)
        return
    query_terms.add_new(conn, hub_id, object_type.id, recorded, terms)


def archived(conn: Connection, record_ids: Iterable[int]) -> None:
    """Also before records are deleted: their rows would go by cascade, their counts not."""
    query_terms.drop(conn, list(record_ids))


def purged(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """Before every record of the object type is deleted."""
    query_terms.forget(conn, hub_id, object_type_id)


def restored(conn: Connection, hub_id: int, object_type: ObjectType, record_id: int) -> None:
    query_terms.refresh(conn, hub_id, object_type.id, [record_id])


def rebuild(conn: Connection, hub_id: int, object_type: ObjectType) -> None:
    """After the searchable properties, or the terms of one of them, changed."""
    query_terms.rebuild(conn, hub_id, object_type.id, property_ids(conn, hub_id, object_type))
