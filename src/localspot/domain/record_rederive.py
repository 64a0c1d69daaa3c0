"""A property's stored values when its definition changes: reading them all, and giving each
the search forms and terms the new definition calls for (``properties`` checks they still fit).

Runs inside the transaction that changes the definition. The forms come from
``record_store.derived`` and ``search_terms``, as a write under the new definition makes them,
so that search finds a re-derived value as it finds a written one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete

from localspot import policy
from localspot.domain import query_index, record_store
from localspot.domain.object_types import ObjectType
from localspot.domain.search_terms import stored_terms
from localspot.domain.values import Stored
from localspot.protection import Protector, ValueRef
from localspot.store.driver import execute_many, fetch, insert_rows
from localspot.store.schema import record_terms


def stored_texts(
    conn: Connection, protector: Protector, hub_id: int, object_type: ObjectType, definition: Any
) -> list[tuple[int, str]]:
    """(record id, value) for every record holding a value of ``definition``, archived too
    (a restore brings them back), but not merged away: no one can read, change or restore
    those values again, since their record's id answers for the record it merged into."""
    rows = fetch(
        conn,
        "SELECT v.record_id, v.value, v.value_ct FROM record_values v "
        "JOIN records r ON r.id = v.record_id "
        "WHERE v.property_id = ? AND r.merged_into IS NULL",
        (definition.id,),
    )
    out = []
    for record_id, value, sealed in rows:
        if sealed is not None:
            ref = ValueRef(hub_id, object_type.id, record_id, definition.name)
            value = record_store.open_sealed(protector, object_type, ref, sealed)
        out.append((record_id, value))
    return out


def rederive(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    definition: Any,
    values: list[tuple[int, Stored]],
) -> None:
    """Recomputes the search forms and terms of stored values under a changed definition.

    The value itself (plaintext or sealed) and its history stay as they were written: only
    what search compares changes, computed as a write under ``definition`` would.
    """
    rows = []
    terms: list[tuple] = []
    protected = policy.is_protected(definition.data_sensitivity)
    for record_id, stored in values:
        norm, num, bidx = record_store.derived(protector, hub_id, object_type, definition, stored)
        rows.append((norm, num, bidx, record_id, definition.id))
        terms += [
            (definition.id, term, record_id) for term in stored_terms(definition, stored, protected)
        ]
    if rows:
        execute_many(
            conn,
            "UPDATE record_values SET value_norm = ?, value_num = ?, value_bidx = ? "
            "WHERE record_id = ? AND property_id = ?",
            rows,
        )
    conn.execute(delete(record_terms).where(record_terms.c.property_id == definition.id))
    if terms:
        insert_rows(conn, record_terms.name, ("property_id", "term", "record_id"), terms)
    if definition.name in object_type.searchable_properties:
        query_index.rebuild(conn, hub_id, object_type)
