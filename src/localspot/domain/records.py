"""Reading records: one, a page, or a batch (SPEC §3.1-3.2, Part B1, B10, B11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from localspot import policy
from localspot.domain import object_types, property_lookup, record_store, record_uniques
from localspot.domain.object_types import ObjectType
from localspot.domain.values import Stored, ms_to_iso
from localspot.errors import HubSpotError, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import records
from localspot.validation import whole_number

MAX_PAGE = 100
MAX_PAGE_WITH_HISTORY = 50


@dataclass(frozen=True)
class Projection:
    """Which properties a read returns, and which with their history."""

    properties: list[str] | None = None  # None: the object's default set
    with_history: list[str] | None = None


def render(
    object_type: ObjectType,
    row: Any,
    names: list[str],
    values: dict[str, str],
    history: dict[str, list[dict[str, Any]]] | None = None,
    shown_id: int | None = None,
) -> dict[str, Any]:
    """A record in HubSpot's ``SimplePublicObject`` shape; unset named properties are null."""
    props: dict[str, Any] = {}
    virtual = record_store.VIRTUAL
    for name in names:
        value = record_store.virtual_value(object_type, row, name) if name in virtual else None
        props[name] = value if value is not None else values.get(name)
    out: dict[str, Any] = {
        "id": str(shown_id if shown_id is not None else row.id),
        "properties": props,
        "createdAt": ms_to_iso(row.created_ms),
        "updatedAt": ms_to_iso(row.updated_ms),
        "archived": row.archived,
    }
    if row.archived and row.archived_ms is not None:
        out["archivedAt"] = ms_to_iso(row.archived_ms)
    if history is not None:
        out["propertiesWithHistory"] = history
    return out


def always_returned(object_type: ObjectType) -> list[str]:
    return ["createdate", "hs_object_id", object_type.last_modified_property]


class Reader:
    """Resolves what a read may return, after the policy has seen every named property."""

    def __init__(
        self,
        rt: Runtime,
        conn: Connection,
        caller: Caller,
        object_type: ObjectType,
        projection: Projection,
    ) -> None:
        self.rt, self.conn, self.caller, self.object_type = rt, conn, caller, object_type
        policy.check_record_access(caller, object_type.id, "read")
        wanted = projection.properties
        defaults = wanted is None
        if wanted is None:
            wanted = list(object_type.default_properties)
        asked_history = projection.with_history or []
        found = property_lookup.remembered_for_reads(
            rt,
            conn,
            caller.hub_id,
            object_type,
            [*wanted, *asked_history, *always_returned(object_type)],
        )
        if defaults:
            # A custom schema stored before display properties were checked may name a
            # sensitive one: a read that names nothing still returns no sensitive value.
            wanted = [
                n
                for n in wanted
                if n in found and policy.returned_by_default(found[n].data_sensitivity)
            ]
        # Unknown names are ignored, as HubSpot does; known sensitive ones need the scope.
        named = [found[n] for n in dict.fromkeys([*wanted, *asked_history]) if n in found]
        policy.check_values(caller, object_type.id, named, "read")
        self.names = [
            n for n in dict.fromkeys([*always_returned(object_type), *wanted]) if n in found
        ]
        self.definitions = [found[n] for n in self.names]
        self.history_definitions = [found[n] for n in dict.fromkeys(asked_history) if n in found]
        self.with_history = projection.with_history is not None

    def render_rows(
        self, rows: list[Any], shown_ids: list[int] | None = None
    ) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        self._audit(ids)
        values = record_store.load_values(
            self.conn,
            self.rt.protector,
            self.caller.hub_id,
            self.object_type,
            ids,
            self.definitions,
        )
        out = []
        for i, row in enumerate(rows):
            history = None
            if self.with_history:
                history = record_store.load_history(
                    self.conn,
                    self.rt.protector,
                    self.caller.hub_id,
                    self.object_type,
                    row.id,
                    self.history_definitions,
                )
            out.append(
                render(
                    self.object_type,
                    row,
                    self.names,
                    values[row.id],
                    history,
                    shown_ids[i] if shown_ids else None,
                )
            )
        return out

    def _audit(self, ids: list[int]) -> None:
        """Returning sensitive values is an audited read (names and ids, never values)."""
        names = sorted(
            {
                d.name
                for d in [*self.definitions, *self.history_definitions]
                if policy.is_protected(d.data_sensitivity)
            }
        )
        if names and ids:
            self.rt.audit_reads.add(self.caller, "read", self.object_type.id, ids, names)


def parse_id(raw: str) -> int:
    number = whole_number(raw)
    if number is None:
        raise not_found("Object not found.  objectId are usually numeric.", context={"id": [raw]})
    return number


def lookup(
    rt: Runtime,
    conn: Connection,
    caller: Caller,
    object_type: ObjectType,
    key: str,
    id_property: str | None,
    archived: bool = False,
) -> Any:
    """The record a path id names, by id or by a unique property (``idProperty``)."""
    row = None
    if id_property and id_property != "hs_object_id":
        definition = property_lookup.definitions_by_name(
            conn, caller.hub_id, object_type, [id_property]
        ).get(id_property)
        if definition is None or not record_uniques.is_unique(object_type, definition):
            raise validation_error(
                f"{id_property} is not a unique identifier property of {object_type.name}",
                context={"idProperty": [id_property]},
            )
        policy.check_values(caller, object_type.id, [definition], "read")
        holder = record_uniques.holder_of(
            conn,
            definition,
            record_uniques.unique_key(
                rt.protector, object_type, caller.hub_id, definition, Stored(key, None, None)
            ),
        )
        if holder is not None:
            row = record_store.find(conn, caller.hub_id, object_type, holder)
        if row is None:
            # Not echoing the id: it may be a sensitive unique value.
            raise not_found("Object not found.", context={"idProperty": [id_property]})
    else:
        asked = parse_id(key)
        row = record_store.find(conn, caller.hub_id, object_type, asked)
        if row is not None and row.id != asked and archived:
            # A merged id stands for its survivor (SPEC B13); that the merged record is
            # archived says nothing of the survivor, which an archived read returns too.
            return row
    if row is None or row.archived != archived:
        raise not_found("Object not found.  objectId are usually numeric.", context={"id": [key]})
    return row


def get_record(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    key: str,
    projection: Projection,
    archived: bool = False,
    id_property: str | None = None,
) -> dict[str, Any]:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = Reader(rt, conn, caller, object_type, projection)
        row = lookup(rt, conn, caller, object_type, key, id_property, archived)
        return reader.render_rows([row])[0]


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    next_after: str | None


def check_limit(limit: int, with_history: bool, maximum: int = MAX_PAGE) -> None:
    top = MAX_PAGE_WITH_HISTORY if with_history else maximum
    if limit < 1 or limit > top:
        raise validation_error(
            f"limit must be between 1 and {top}", context={"limit": [str(limit)]}
        )


def list_records(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    projection: Projection,
    limit: int,
    after: str | None,
    archived: bool,
) -> Page:
    check_limit(limit, projection.with_history is not None)
    start = 0
    if after:
        cursor = whole_number(after)
        if cursor is None:
            raise validation_error(
                "after must be a paging cursor from a previous page", context={"after": [after]}
            )
        start = cursor
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = Reader(rt, conn, caller, object_type, projection)
        rows = conn.execute(
            select(records)
            .where(
                records.c.hub_id == caller.hub_id,
                records.c.object_type_id == object_type.id,
                records.c.archived == archived,
                records.c.merged_into.is_(None),
                records.c.id >= start,
            )
            .order_by(records.c.id)
            .limit(limit + 1)
        ).all()
        more = len(rows) > limit
        page = rows[:limit]
        return Page(reader.render_rows(page), str(rows[limit].id) if more else None)


def batch_read(
    rt: Runtime,
    caller: Caller,
    object_key: str,
    keys: list[str],
    projection: Projection,
    archived: bool,
    id_property: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Found records, and the asked keys that matched nothing (HubSpot answers 207)."""
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        reader = Reader(rt, conn, caller, object_type, projection)
        found: list[Any] = []
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            try:
                found.append(lookup(rt, conn, caller, object_type, key, id_property, archived))
            except HubSpotError as exc:
                if exc.status != 404:
                    raise
                missing.append(key)
        unique_rows = list({row.id: row for row in found}.values())
        return reader.render_rows(unique_rows), missing
