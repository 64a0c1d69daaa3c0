"""Records as the legacy API generations see them (contacts v1, companies v2, deals v1).

The same records, values and history as v3, read and written through the same store and
Writer. What differs is decided by the policy for a caller whose generation is ``legacy``:
sensitive values are neither shown nor changed (SPEC Part B8), and legacy search
(``legacy_search``) refuses callers that hold sensitive scopes (Part B9). Values come back in
the legacy forms: dates and datetimes as epoch milliseconds, and each property with its
versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from localspot import policy
from localspot.domain import association_types as at
from localspot.domain import (
    associations,
    object_types,
    property_lookup,
    query_index,
    record_store,
    record_uniques,
)
from localspot.domain.association_definitions import Definitions
from localspot.domain.association_requests import Spec, parse_id
from localspot.domain.object_types import ObjectType
from localspot.domain.record_writes import Writer
from localspot.domain.records import lookup
from localspot.domain.values import parse_datetime_ms
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import record_associations, records

MAX_COUNT = 100


@dataclass(frozen=True)
class Version:
    """One historical value of a property, newest first in a record's ``versions``."""

    value: str
    timestamp_ms: int
    source_type: str
    source_id: str | None = None
    source_label: str | None = None
    user_id: int | None = None


@dataclass
class LegacyRecord:
    row: Any
    values: dict[str, str]  # property name: value in legacy form
    versions: dict[str, list[Version]] = field(default_factory=dict)
    merged_ids: list[int] = field(default_factory=list)  # records merged into this one

    @property
    def id(self) -> int:
        return int(self.row.id)

    def last_change_ms(self, name: str) -> int:
        versions = self.versions.get(name)
        return versions[0].timestamp_ms if versions else int(self.row.updated_ms)


def as_legacy(caller: Caller) -> Caller:
    """The caller as an API of the legacy generation presents it to the policy."""
    return replace(caller, generation="legacy")


def _legacy_value(definition: Any, text: str) -> str:
    """Dates and datetimes travel as epoch milliseconds in the legacy APIs."""
    if text and definition.type in ("date", "datetime"):
        ms = parse_datetime_ms(text)
        if ms is not None:
            return str(ms)
    return text


# Reading ----------------------------------------------------------------------------------------


class LegacyReader:
    """Loads the values (and versions) a legacy response may carry, within one transaction."""

    def __init__(
        self,
        rt: Runtime,
        conn: Connection,
        caller: Caller,
        object_type: ObjectType,
        names: list[str] | None = None,
        with_versions: bool = True,
    ) -> None:
        policy.check_record_access(caller, object_type.id, "read")
        self.rt, self.conn, self.caller, self.object_type = rt, conn, caller, object_type
        found = property_lookup.definitions_by_name(conn, caller.hub_id, object_type, names)
        self.definitions = policy.legacy_visible(found.values())
        self.with_versions = with_versions

    def load(self, rows: list[Any]) -> list[LegacyRecord]:
        ids = [r.id for r in rows]
        stored = record_store.load_values(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            ids,
            self.definitions,
        )
        merged: dict[int, list[int]] = {rid: [] for rid in ids}
        if ids:
            for mid, into in self.conn.execute(
                select(records.c.id, records.c.merged_into).where(records.c.merged_into.in_(ids))
            ):
                merged[into].append(int(mid))
        out = []
        for row in rows:
            record = LegacyRecord(row, {}, merged_ids=sorted(merged[row.id]))
            history = self._history(row) if self.with_versions else {}
            for definition in self.definitions:
                name = definition.name
                virtual = record_store.virtual_value(self.object_type, row, name)
                if virtual is not None:
                    record.values[name] = _legacy_value(definition, virtual)
                    record.versions[name] = [self._virtual_version(row, name, record.values)]
                elif name in stored[row.id]:
                    record.values[name] = _legacy_value(definition, stored[row.id][name])
                    record.versions[name] = history.get(name, [])
            out.append(record)
        return out

    def _history(self, row: Any) -> dict[str, list[Version]]:
        loaded = record_store.load_history(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            row.id,
            [d for d in self.definitions if d.name not in record_store.VIRTUAL],
        )
        by_name = {d.name: d for d in self.definitions}
        return {
            name: [
                Version(
                    _legacy_value(by_name[name], entry["value"] or ""),
                    parse_datetime_ms(entry["timestamp"]) or 0,
                    entry["sourceType"],
                    entry.get("sourceId"),
                    entry.get("sourceLabel"),
                    entry.get("updatedByUserId"),
                )
                for entry in entries
            ]
            for name, entries in loaded.items()
        }

    def _virtual_version(self, row: Any, name: str, values: dict[str, str]) -> Version:
        if name == "createdate":
            return Version(values[name], int(row.created_ms), "API")
        if name == self.object_type.last_modified_property:
            return Version(values[name], int(row.updated_ms), "CALCULATED")
        return Version(values[name], int(row.created_ms), "CALCULATED")


def get_record(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    key: str,
    names: list[str] | None = None,
    with_versions: bool = True,
) -> LegacyRecord:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions)
        row = lookup(rt, conn, caller, object_type, key, None)
        return reader.load([row])[0]


def get_contact_by_email(
    rt: Runtime, caller: Caller, email: str, names: list[str] | None, with_versions: bool
) -> LegacyRecord:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions)
        row = lookup(rt, conn, caller, object_type, email, "email")
        return reader.load([row])[0]


def batch_read(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    keys: list[str],
    id_property: str | None,
    names: list[str] | None,
    with_versions: bool,
) -> list[LegacyRecord]:
    """The records found among ``keys`` (ids, or values of ``id_property``); others are skipped."""
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions)
        rows: dict[int, Any] = {}
        for key in dict.fromkeys(keys):
            try:
                row = lookup(rt, conn, caller, object_type, key, id_property)
            except HubSpotError as exc:
                if exc.status != 404:
                    raise
                continue
            rows[row.id] = row
        return reader.load(list(rows.values()))


@dataclass(frozen=True)
class LegacyPage:
    records: list[LegacyRecord]
    has_more: bool
    next_id: int  # the id (vid-offset / companyId offset) to continue from
    next_time_ms: int = 0  # recently-updated listings continue from a time as well


def active_records(hub_id: int, object_type: ObjectType) -> Any:
    return and_(
        records.c.hub_id == hub_id,
        records.c.object_type_id == object_type.id,
        records.c.archived.is_(False),
        records.c.merged_into.is_(None),
    )


def list_all(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    after_id: int,
    count: int,
    names: list[str] | None,
    count_name: str = "count",
    most: int = MAX_COUNT,
) -> LegacyPage:
    """Records in id order, starting after ``after_id``; ``count`` of them, at most ``most``."""
    check_count(count, count_name, most)
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions=False)
        rows = conn.execute(
            select(records)
            .where(active_records(caller.hub_id, object_type), records.c.id > after_id)
            .order_by(records.c.id)
            .limit(count + 1)
        ).all()
        page = rows[:count]
        last = page[-1].id if page else after_id
        return LegacyPage(reader.load(page), len(rows) > count, last)


def list_recent(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    time_offset: int | None,
    vid_offset: int | None,
    count: int,
    names: list[str] | None,
) -> LegacyPage:
    """Records newest change first; a page continues below (time offset, id offset)."""
    check_count(count)
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions=False)
        query = select(records).where(active_records(caller.hub_id, object_type))
        if time_offset is not None:
            below = records.c.updated_ms < time_offset
            if vid_offset is not None:
                below = or_(
                    below, and_(records.c.updated_ms == time_offset, records.c.id < vid_offset)
                )
            query = query.where(below)
        rows = conn.execute(
            query.order_by(records.c.updated_ms.desc(), records.c.id.desc()).limit(count + 1)
        ).all()
        page = rows[:count]
        last_id = page[-1].id if page else (vid_offset or 0)
        last_ms = page[-1].updated_ms if page else (time_offset or 0)
        return LegacyPage(reader.load(page), len(rows) > count, last_id, last_ms)


def check_count(count: int, name: str = "count", most: int = MAX_COUNT) -> None:
    if count < 1 or count > most:
        raise validation_error(f"{name} must be between 1 and {most}", context={name: [str(count)]})


# Writing ----------------------------------------------------------------------------------------


def create(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    given: dict[str, Any],
    associated: dict[str, list[str]] | None = None,
) -> int:
    """A new record from ``given``; sensitive keys are dropped by the policy inside the Writer.

    ``associated`` ({object type id: record ids}, from ``parse_associations``) is linked with
    the pair's default type in the same transaction, through the function v3 create bodies
    use: an unknown or archived id fails the whole create.
    """
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        [record_id] = writer.create([writer.with_defaults(given)])
        if associated:
            defs = Definitions(conn, caller.hub_id)
            wanted = []
            for to_type, ids in associated.items():
                to_ot = object_types.resolve(conn, caller.hub_id, to_type)
                default = defs.require_default(object_type, to_ot)
                spec = Spec(default.category, default.type_id)
                wanted += [associations.NewAssociation(i, [spec]) for i in ids]
            associations.link_new_record(rt, conn, caller, object_type, record_id, wanted)
        return record_id


# Deals v1 names associated records in one object, a list of ids per object type (SPEC §10).
DEAL_ASSOCIATIONS = {
    "associatedVids": at.CONTACT,
    "associatedCompanyIds": at.COMPANY,
    "associatedDealIds": at.DEAL,
}


def parse_associations(raw: Any) -> dict[str, list[str]]:
    """A deals v1 ``associations`` object as {object type id: record ids}, or HubSpot's 400.

    Other keys (``associatedTicketIds`` of the read shape, say) are ignored, as HubSpot does.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise validation_error("Invalid input JSON: associations must be an object")
    out: dict[str, list[str]] = {}
    for key, to_type in DEAL_ASSOCIATIONS.items():
        ids = raw.get(key)
        if ids is None:
            continue
        parsed = [parse_id(i) for i in ids] if isinstance(ids, list) else [None]
        if None in parsed:
            raise validation_error(
                f"Invalid input JSON: associations.{key} must be a list of record ids"
            )
        if parsed:
            out[to_type] = [str(i) for i in dict.fromkeys(parsed)]
    return out


def associated_ids(
    rt: Runtime, caller: Caller, object_key: str, record_id: int
) -> dict[str, list[int]]:
    """{object type id: ids of live associated records} for a legacy read's ``associations``.

    Only object types the caller may read are listed: a legacy read of a deal by a token
    without the contacts scope still answers, without the contact ids.
    """
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        ra = record_associations
        rows = conn.execute(
            select(ra.c.to_object_type_id, ra.c.to_id)
            .join(records, and_(records.c.id == ra.c.to_id, records.c.archived.is_(False)))
            .where(ra.c.from_id == record_id)
            .group_by(ra.c.to_object_type_id, ra.c.to_id)
            .order_by(ra.c.to_id)
        )
        out: dict[str, list[int]] = {}
        for to_type, to_id in rows:
            if policy.may_read_associations(caller, object_type.id, to_type):
                out.setdefault(to_type, []).append(int(to_id))
        return out


def update_record(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    key: str,
    given: dict[str, Any],
    id_property: str | None = None,
) -> int:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        writer = Writer(rt, conn, caller, object_type)
        row = lookup(rt, conn, caller, object_type, key, id_property)
        writer.update(row, given)
        return int(row.id)


def create_or_update_contact(
    rt: Runtime, caller: Caller, email: str, given: dict[str, Any]
) -> tuple[int, bool]:
    """(vid, whether it is new): the contact holding ``email`` is updated, else one is made."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        writer = Writer(rt, conn, caller, object_type)
        try:
            row = lookup(rt, conn, caller, object_type, email, "email")
        except HubSpotError as exc:
            if exc.status != 404:
                raise
            [record_id] = writer.create([{**given, "email": given.get("email") or email}])
            return record_id, True
        writer.update(row, given)
        return int(row.id), False


def delete(rt: Runtime, caller: Caller, object_key: str, key: str) -> int:
    """Archives one record, as the legacy delete endpoints do; 404 when there is none."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_record_access(caller, object_type.id, "write")
        row = lookup(rt, conn, caller, object_type, key, None)
        now_ms = rt.clock.millis()
        conn.execute(
            update(records)
            .where(records.c.id == row.id)
            .values(archived=True, archived_ms=now_ms, updated_ms=now_ms)
        )
        record_uniques.release_unique(conn, [row.id])
        query_index.archived(conn, [row.id])
        return int(row.id)
