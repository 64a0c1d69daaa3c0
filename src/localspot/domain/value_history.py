"""Property history: every value a record's property held, who wrote it and when.

The current value's entry lives on its ``record_values`` row (source columns, ``updated_ms``);
``record_history`` keeps the values it replaced. A create so writes one row per value instead
of two, and an update moves the replaced entry into ``record_history`` as it overwrites it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from localspot.domain.object_types import ObjectType
from localspot.domain.record_store import open_sealed
from localspot.domain.values import ms_to_iso
from localspot.protection import Protector, ValueRef
from localspot.store.schema import record_history, record_values


def load_history(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    record_id: int,
    definitions: Iterable[Any],
) -> dict[str, list[dict[str, Any]]]:
    """Each named property's history, newest first, in HubSpot's ``ValueWithTimestamp`` shape."""
    by_id = {d.id: d for d in definitions}
    out: dict[str, list[dict[str, Any]]] = {d.name: [] for d in by_id.values()}
    if not by_id:
        return out
    v, h = record_values.c, record_history.c
    current = conn.execute(
        select(
            v.property_id,
            v.value,
            v.value_ct,
            v.updated_ms,
            v.source_type,
            v.source_id,
            v.source_label,
            v.updated_by_user_id,
        ).where(
            v.record_id == record_id, v.property_id.in_(list(by_id)), v.source_type.is_not(None)
        )
    ).all()
    replaced = conn.execute(
        select(
            h.property_id,
            h.value,
            h.value_ct,
            h.timestamp_ms,
            h.source_type,
            h.source_id,
            h.source_label,
            h.updated_by_user_id,
        )
        .where(h.record_id == record_id, h.property_id.in_(list(by_id)))
        .order_by(h.id.desc())
    ).all()
    for property_id, value, sealed, at_ms, source_type, source_id, label, user_id in [
        *current,
        *replaced,
    ]:
        name = by_id[property_id].name
        if sealed is not None:
            ref = ValueRef(hub_id, object_type.id, record_id, name)
            value = open_sealed(protector, object_type, ref, sealed)
        entry: dict[str, Any] = {
            "value": value,
            "timestamp": ms_to_iso(at_ms),
            "sourceType": source_type,
        }
        if source_id is not None:
            entry["sourceId"] = source_id
        if label is not None:
            entry["sourceLabel"] = label
        if user_id is not None:
            entry["updatedByUserId"] = user_id
        out[name].append(entry)
    return out
