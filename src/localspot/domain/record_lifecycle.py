"""The life of records after their writes: merge, restore, GDPR delete and purge (SPEC §3.3,
Part B13, B18)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from localspot import policy
from localspot.domain import (
    association_links,
    object_types,
    property_lookup,
    query_index,
    record_claims,
    record_store,
    record_uniques,
)
from localspot.domain.record_store import Change, Source
from localspot.domain.record_writes import Writer
from localspot.domain.records import lookup
from localspot.domain.values import Problem, Stored, check
from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import records


def merge(
    rt: Runtime, caller: Caller, object_key: str, primary_key: str, merged_key: str
) -> dict[str, Any]:
    """The primary keeps its id and values; it takes the merged record's values it lacks."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type, Source("MERGE", None, caller.user_id))
        primary = lookup(rt, conn, caller, object_type, primary_key, None)
        merged = lookup(rt, conn, caller, object_type, merged_key, None)
        if primary.id == merged.id:
            raise validation_error("A record cannot be merged with itself")
        every = property_lookup.definitions_by_name(conn, caller.hub_id, object_type)
        both = record_store.load_values(
            conn, rt.protector, caller.hub_id, object_type, [primary.id, merged.id], every.values()
        )
        # A value cleared with "" is carried no more.
        involved = {n for values in both.values() for n, v in values.items() if v}
        policy.check_values(caller, object_type.id, [every[n] for n in involved], "write")
        record_uniques.release_unique(conn, [merged.id])
        changes = [
            Change(
                primary.id,
                every[name],
                both[primary.id].get(name),
                Stored(value, *_search_forms(every[name], value)),
            )
            for name, value in both[merged.id].items()
            if value and not both[primary.id].get(name)
        ]
        record_claims.claim_unique(writer, changes, creating=False)
        record_store.write_changes(
            conn, rt.protector, caller.hub_id, object_type, changes, writer.now_ms, writer.source
        )
        association_links.move_on_merge(rt, conn, caller, object_type, merged.id, primary.id)
        conn.execute(
            update(records)
            .where(records.c.id == merged.id)
            .values(
                archived=True,
                archived_ms=writer.now_ms,
                merged_into=primary.id,
                updated_ms=writer.now_ms,
            )
        )
        query_index.archived(conn, [merged.id])
        record_store.touch(conn, [primary.id], writer.now_ms)
        writer.announce(
            [
                writer.event(
                    primary.id,
                    "merge",
                    extra={
                        "primaryObjectId": primary.id,
                        "mergedObjectIds": [merged.id],
                        "newObjectId": primary.id,
                        "numberOfPropertiesMoved": len(changes),
                    },
                ),
                *writer.property_events(changes),
            ]
        )
        writer.audit(changes)
        # The default set never carries a sensitive value, whatever the schema names.
        shown = [
            n
            for n in object_type.default_properties
            if n in writer.definitions
            and policy.returned_by_default(writer.definitions[n].data_sensitivity)
        ]
        return writer.render_written(primary.id, shown)


def _search_forms(definition: Any, value: str) -> tuple[str | None, float | None]:
    stored = check(definition, value, None, sensitive=True)
    if isinstance(stored, Problem):
        return None, None
    return stored.norm, stored.num


def restore(rt: Runtime, hub_id: int, object_key: str, record_id: int) -> None:
    """Brings an archived record back, as the CRM's recycle bin does (control plane)."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, hub_id, object_key)
        row = record_store.find(conn, hub_id, object_type, record_id)
        if row is None or not row.archived or row.merged_into is not None:
            raise not_found(f"No archived record {record_id}")
        every = property_lookup.definitions_by_name(conn, hub_id, object_type)
        for definition, key in record_uniques.stored_unique_keys(
            conn, rt.protector, hub_id, object_type, row.id, every.values()
        ):
            holder = record_uniques.holder_of(conn, definition, key)
            if holder is not None:
                raise conflict(
                    f"Record {holder} now holds this record's {definition.name}; "
                    "change it before restoring"
                )
            if record_uniques.set_unique(conn, definition, key, row.id) is not None:
                raise conflict(f"Another record now holds this record's {definition.name}")
        now_ms = rt.clock.millis()
        conn.execute(
            update(records)
            .where(records.c.id == row.id)
            .values(archived=False, archived_ms=None, updated_ms=now_ms)
        )
        query_index.restored(conn, hub_id, object_type, row.id)
        # The control plane plays the part of HubSpot's recycle bin in the CRM UI.
        emit(conn, [ChangeEvent(hub_id, object_type.id, row.id, "restore", now_ms, "CRM_UI", None)])


def gdpr_delete(rt: Runtime, caller: Caller, key: str, id_property: str | None) -> None:
    """Deletes a contact for good, values and history included."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        writer = Writer(rt, conn, caller, object_type)
        try:
            row = lookup(rt, conn, caller, object_type, key, id_property)
        except HubSpotError as exc:
            if exc.status == 404 and id_property == "email":
                return  # HubSpot blocklists an unknown email; LocalSpot keeps no blocklist
            raise
        # Records merged into it left the index when they merged.
        query_index.archived(conn, [row.id])
        conn.execute(
            delete(records).where((records.c.id == row.id) | (records.c.merged_into == row.id))
        )
        writer.announce([writer.event(row.id, "privacyDeletion")])


def purge_object_type(conn: Connection, hub_id: int, object_type_id: str) -> int:
    """Deletes every record of an object type, archived or not, with their values, history and
    associations (foreign keys cascade); for a custom object schema purged for good."""
    query_index.purged(conn, hub_id, object_type_id)
    result = conn.execute(
        delete(records).where(
            records.c.hub_id == hub_id, records.c.object_type_id == object_type_id
        )
    )
    return int(result.rowcount or 0)


def purge_archived(conn: Connection, now_ms: int, days: int) -> int:
    # One statement: no list of ids in memory, and no IN clause past SQLite's variable limit.
    cutoff = now_ms - days * 86_400_000
    r = records.c
    # A merged-away id goes on resolving to the record it merged into, as long as that lives.
    result = conn.execute(
        delete(records).where(
            r.archived.is_(True), r.archived_ms <= cutoff, r.merged_into.is_(None)
        )
    )
    primary = records.alias("merged_into")
    orphaned = conn.execute(
        delete(records).where(
            r.merged_into.is_not(None),
            ~select(primary.c.id).where(primary.c.id == r.merged_into).exists(),
        )
    )
    return int(result.rowcount or 0) + int(orphaned.rowcount or 0)
