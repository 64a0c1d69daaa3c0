"""Custom object schemas (SPEC §3.5): their definitions, and resolving ``2-<id>`` object types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import Field, StrictBool, StrictStr
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from localspot import policy
from localspot.clock import iso
from localspot.domain import (
    association_definitions,
    catalog,
    object_types,
    properties,
    property_cache,
    property_groups,
    property_lookup,
    property_purge,
    query_index,
    record_lifecycle,
)
from localspot.domain.object_types import ObjectType
from localspot.domain.property_models import Input, PropertyCreate
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store import schema as tables
from localspot.store.schema import object_schemas, property_definitions, records
from localspot.validation import parse_input, whole_number, without_nulls

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
# HubSpot's reference lists these four for every schema read (list, one, batch): the schema
# read scope, or any read scope on custom object records. Sensitive ones are named here without
# ".v2" (scopes.canonical) and printed with it in requiredGranularScopes.
SCHEMA_READ = [
    "crm.objects.custom.highly_sensitive.read",
    "crm.objects.custom.read",
    "crm.objects.custom.sensitive.read",
    "crm.schemas.custom.read",
]
SCHEMA_WRITE = ["crm.schemas.custom.write"]


class Labels(Input):
    singular: StrictStr
    plural: StrictStr


class SchemaCreate(Input):
    name: StrictStr
    labels: Labels
    description: StrictStr | None = None
    primary_display_property: StrictStr | None = Field(None, alias="primaryDisplayProperty")
    secondary_display_properties: list[StrictStr] = Field([], alias="secondaryDisplayProperties")
    searchable_properties: list[StrictStr] = Field([], alias="searchableProperties")
    required_properties: list[StrictStr] = Field(alias="requiredProperties")
    properties: list[dict[str, Any]]
    associated_objects: list[StrictStr] = Field(alias="associatedObjects")
    allows_sensitive_properties: StrictBool = Field(False, alias="allowsSensitiveProperties")


class SchemaUpdate(Input):
    labels: Labels | None = None
    description: StrictStr | None = None
    primary_display_property: StrictStr | None = Field(None, alias="primaryDisplayProperty")
    secondary_display_properties: list[StrictStr] | None = Field(
        None, alias="secondaryDisplayProperties"
    )
    searchable_properties: list[StrictStr] | None = Field(None, alias="searchableProperties")
    required_properties: list[StrictStr] | None = Field(None, alias="requiredProperties")
    allows_sensitive_properties: StrictBool | None = Field(None, alias="allowsSensitiveProperties")
    restorable: StrictBool | None = None
    clear_description: StrictBool | None = Field(None, alias="clearDescription")


def type_id(row: Any) -> str:
    return f"2-{row.id}"


def fully_qualified_name(row: Any) -> str:
    return f"p{row.hub_id}_{row.name}"


def object_type_of(row: Any) -> ObjectType:
    shown = row.primary_display_property
    defaults = ("createdate", "hs_lastmodifieddate", "hs_object_id", *([shown] if shown else []))
    return ObjectType(
        id=type_id(row),
        name=row.name,
        singular=row.labels.get("singular", row.name),
        last_modified_property="hs_lastmodifieddate",
        default_properties=tuple(dict.fromkeys(defaults)),
        searchable_properties=tuple(row.searchable_properties),
        fully_qualified_name=fully_qualified_name(row),
        allows_sensitive_properties=row.allows_sensitive_properties,
        required_properties=tuple(row.required_properties),
    )


def _find_row(conn: Connection, hub_id: int, key: str, archived: bool = False) -> Any | None:
    query = select(object_schemas).where(
        object_schemas.c.hub_id == hub_id, object_schemas.c.archived.is_(archived)
    )
    if key.startswith("2-") and key[2:].isdigit():
        schema_id = whole_number(key[2:])
        if schema_id is None:
            return None
        return conn.execute(query.where(object_schemas.c.id == schema_id)).first()
    name = key
    prefix = f"p{hub_id}_"
    if key.startswith(prefix):
        name = key[len(prefix) :]
    elif key.startswith("p_"):
        name = key[2:]
    return conn.execute(query.where(func.lower(object_schemas.c.name) == name.lower())).first()


def _resolve(conn: Connection, hub_id: int, key: str) -> ObjectType | None:
    row = _find_row(conn, hub_id, key)
    return object_type_of(row) if row is not None else None


object_types.register_custom_resolver(_resolve)


class Include(NamedTuple):
    """What a schema read carries besides the schema itself (SPEC §3.5: all default true)."""

    properties: bool = True
    associations: bool = True
    audit_metadata: bool = True


ALL = Include()


def render(conn: Connection, row: Any, include: Include | None = None) -> dict[str, Any]:
    include = include or ALL
    object_type = object_type_of(row)
    definitions = (
        property_lookup.definitions_by_name(conn, row.hub_id, object_type)
        if include.properties
        else {}
    )
    out: dict[str, Any] = {
        "id": str(row.id),
        "objectTypeId": type_id(row),
        "name": row.name,
        "fullyQualifiedName": fully_qualified_name(row),
        "labels": row.labels,
        "requiredProperties": row.required_properties,
        "searchableProperties": row.searchable_properties,
        "secondaryDisplayProperties": row.secondary_display_properties,
        "properties": [properties.render(d) for d in definitions.values()],
        "associations": (
            association_definitions.schema_associations(
                conn, row.hub_id, type_id(row), include.audit_metadata
            )
            if include.associations
            else []
        ),
        "allowsSensitiveProperties": row.allows_sensitive_properties,
        "archived": row.archived,
    }
    if include.audit_metadata:
        out["createdAt"] = iso(row.created_at)
        out["updatedAt"] = iso(row.updated_at)
    if row.primary_display_property:
        out["primaryDisplayProperty"] = row.primary_display_property
    if row.description:
        out["description"] = row.description
    return out


def _check_references(names: set[str], body: SchemaCreate | SchemaUpdate) -> None:
    referenced = [
        *(body.required_properties or []),
        *(body.searchable_properties or []),
        *(body.secondary_display_properties or []),
        *([body.primary_display_property] if body.primary_display_property else []),
    ]
    unknown = sorted({n for n in referenced if n not in names})
    if unknown:
        raise validation_error(
            f"Properties referenced by the schema are not defined on it: {', '.join(unknown)}",
            context={"propertyName": unknown},
        )


def _check_display(sensitivity: dict[str, str], body: SchemaCreate | SchemaUpdate) -> None:
    primary = body.primary_display_property
    policy.check_schema_display(
        {
            "primaryDisplayProperty": [primary] if primary else [],
            "secondaryDisplayProperties": body.secondary_display_properties or [],
            "searchableProperties": body.searchable_properties or [],
        },
        sensitivity,
    )


def _name_taken(name: str, archived: bool) -> HubSpotError:
    # An archived schema keeps its name until it is purged, as archived properties keep
    # theirs (SPEC Part B6).
    if archived:
        message = (
            f"An archived object schema named {name} already exists. Purge it with "
            "DELETE /crm/v3/schemas/{objectType}?archived=true to reuse the name."
        )
    else:
        message = f"An object schema named {name} already exists."
    return conflict(message, category="OBJECT_ALREADY_EXISTS", context={"name": [name]})


def create_schema(rt: Runtime, caller: Caller, raw: dict[str, Any]) -> dict[str, Any]:
    caller.require_any(SCHEMA_WRITE)
    body = parse_input(SchemaCreate, raw)
    if not NAME_PATTERN.match(body.name):
        raise validation_error(
            f"Object name {body.name!r} is not valid: use letters, digits and "
            "underscores, starting with a letter."
        )
    specs = [
        parse_input(PropertyCreate, {"groupName": f"{body.name.lower()}_information", **p})
        for p in body.properties
    ]
    if body.allows_sensitive_properties:
        policy.check_allows_sensitive(caller)
    if not body.allows_sensitive_properties and any(
        policy.is_protected(s.data_sensitivity) for s in specs
    ):
        raise validation_error("Sensitive properties need allowsSensitiveProperties: true")
    _check_references({s.name for s in specs} | {"hs_object_id", "createdate"}, body)
    _check_display({s.name: s.data_sensitivity for s in specs}, body)
    if object_types.standard(body.name) is not None:
        # The name would resolve to the standard object everywhere but the schemas API.
        raise conflict(
            f"{body.name} is the name of a standard object.",
            category="OBJECT_ALREADY_EXISTS",
            context={"name": [body.name]},
        )
    with rt.store.write() as conn:
        for archived in (False, True):
            if _find_row(conn, caller.hub_id, body.name, archived=archived) is not None:
                raise _name_taken(body.name, archived)
        now = rt.clock.now()
        try:
            inserted = conn.execute(
                insert(object_schemas).values(
                    hub_id=caller.hub_id,
                    name=body.name,
                    labels=body.labels.model_dump(),
                    description=body.description,
                    primary_display_property=body.primary_display_property,
                    secondary_display_properties=body.secondary_display_properties,
                    searchable_properties=body.searchable_properties,
                    required_properties=body.required_properties,
                    allows_sensitive_properties=body.allows_sensitive_properties,
                    archived=False,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError:
            # A concurrent request took the name between our check and the insert.
            raise _name_taken(body.name, archived=False) from None
        schema_id = inserted.inserted_primary_key[0]
        row = conn.execute(select(object_schemas).where(object_schemas.c.id == schema_id)).one()
        object_type = object_type_of(row)
        _seed(conn, row, object_type, now)
        for spec in specs:
            properties.create_in(conn, caller, now, object_type, spec)
        association_definitions.define_for_schema(
            conn, caller.hub_id, object_type, body.associated_objects, rt.clock.millis()
        )
        return render(conn, row)


def _seed(conn: Connection, row: Any, object_type: ObjectType, now: datetime) -> None:
    group = f"{row.name.lower()}_information"
    conn.execute(
        insert(tables.property_groups).values(
            hub_id=row.hub_id,
            object_type_id=object_type.id,
            name=group,
            label=f"{row.labels.get('singular', row.name)} information",
            display_order=0,
            archived=False,
            hubspot_defined=True,
        )
    )
    conn.execute(
        insert(property_definitions),
        [
            catalog.definition_row(row.hub_id, object_type.id, group, spec, now, order)
            for order, spec in enumerate(catalog.CUSTOM_OBJECT_PROPERTIES)
        ],
    )
    property_cache.touch(conn, row.hub_id, [object_type.id])


def list_schemas(
    rt: Runtime, caller: Caller, archived: bool, include: Include | None = None
) -> list[dict[str, Any]]:
    caller.require_any(SCHEMA_READ)
    with rt.store.read() as conn:
        rows = conn.execute(
            select(object_schemas)
            .where(object_schemas.c.hub_id == caller.hub_id, object_schemas.c.archived == archived)
            .order_by(object_schemas.c.id)
        ).all()
        return [render(conn, row, include) for row in rows]


def get_schema(
    rt: Runtime, caller: Caller, key: str, include: Include | None = None
) -> dict[str, Any]:
    caller.require_any(SCHEMA_READ)
    with rt.store.read() as conn:
        return render(conn, require_schema(conn, caller.hub_id, key), include)


_BATCH_FLAGS = {
    "properties": "includePropertyDefinitions",
    "associations": "includeAssociationDefinitions",
    "audit_metadata": "includeAuditMetadata",
}


def batch_read(rt: Runtime, caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The live schemas among ``inputs``, once each, in the order first named. HubSpot's
    answer is a plain 200 list with no per-input errors, so a key naming no live schema is
    left out rather than reported."""
    caller.require_any(SCHEMA_READ)
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(k, str) for k in inputs):
        raise validation_error(
            "Invalid input JSON: inputs must be a list of object type ids or fully qualified names",
            errors=[{"message": "inputs is required", "code": "REQUIRED", "in": "inputs"}],
        )
    flags: dict[str, bool] = {}
    for field, name in _BATCH_FLAGS.items():
        value = raw.get(name, True)
        if not isinstance(value, bool):
            raise validation_error(
                f"Invalid input JSON: {name} must be true or false", context={name: [str(value)]}
            )
        flags[field] = value
    with rt.store.read() as conn:
        found: dict[int, Any] = {}
        for key in dict.fromkeys(inputs):
            row = _find_row(conn, caller.hub_id, key)
            if row is not None:
                found.setdefault(row.id, row)
        return [render(conn, row, Include(**flags)) for row in found.values()]


def require_schema(conn: Connection, hub_id: int, key: str) -> Any:
    row = _find_row(conn, hub_id, key)
    if row is None:
        raise not_found(f"Unable to find object schema {key}", context={"objectType": [key]})
    return row


def update_schema(rt: Runtime, caller: Caller, key: str, raw: dict[str, Any]) -> dict[str, Any]:
    caller.require_any(SCHEMA_WRITE)
    body = parse_input(SchemaUpdate, raw)
    with rt.store.write() as conn:
        row = require_schema(conn, caller.hub_id, key)
        object_type = object_type_of(row)
        if body.allows_sensitive_properties:
            policy.check_allows_sensitive(caller)
        definitions = property_lookup.definitions_by_name(conn, caller.hub_id, object_type)
        _check_references(set(definitions), body)
        _check_display({n: d.data_sensitivity for n, d in definitions.items()}, body)
        changes = without_nulls(
            body.model_dump(exclude_unset=True, exclude={"restorable", "clear_description"}),
            nullable=("description", "primary_display_property"),
        )
        if "labels" in changes and body.labels is not None:
            changes["labels"] = body.labels.model_dump()
        if body.clear_description:
            changes["description"] = None
        if body.allows_sensitive_properties is False and _has_sensitive(conn, row, object_type):
            raise validation_error(
                "This object has sensitive properties; archive them before "
                "turning allowsSensitiveProperties off"
            )
        changes["updated_at"] = rt.clock.now()
        conn.execute(update(object_schemas).where(object_schemas.c.id == row.id).values(changes))
        updated = require_schema(conn, caller.hub_id, key)
        if "searchable_properties" in changes:
            query_index.rebuild(conn, caller.hub_id, object_type_of(updated))
        return render(conn, updated)


def _has_sensitive(conn: Connection, row: Any, object_type: ObjectType) -> bool:
    return any(
        policy.is_protected(d.data_sensitivity)
        for d in property_lookup.definitions_by_name(conn, row.hub_id, object_type).values()
    )


def archive_schema(rt: Runtime, caller: Caller, key: str, purge: bool = False) -> None:
    """Archives a schema; with ``purge`` (``?archived=true``), deletes an archived one for good."""
    # TODO(schemas): the 90-day purge skips archived schemas (no archived-at column); only
    # ?archived=true removes them, and their webhook subscriptions stay behind.
    caller.require_any(SCHEMA_WRITE)
    with rt.store.write() as conn:
        if purge:
            _purge(rt, conn, caller, key)
            return
        row = require_schema(conn, caller.hub_id, key)
        object_type = object_type_of(row)
        definitions = list(
            property_lookup.definitions_by_name(conn, caller.hub_id, object_type).values()
        )
        # The schema's properties go with it, so it takes what archiving each of them would.
        policy.check_schema_archive(caller, object_type.id, definitions)
        live = conn.scalar(
            select(func.count())
            .select_from(records)
            .where(
                records.c.hub_id == caller.hub_id,
                records.c.object_type_id == type_id(row),
                records.c.archived.is_(False),
            )
        )
        if live:
            raise validation_error(
                f"Object schema {row.name} still has {live} records; archive them first"
            )
        now = rt.clock.now()
        conn.execute(
            update(object_schemas)
            .where(object_schemas.c.id == row.id)
            .values(archived=True, updated_at=now)
        )
        properties.audit_schema_change(conn, caller, now, definitions, "archive_schema")


def _purge(rt: Runtime, conn: Connection, caller: Caller, key: str) -> None:
    """HubSpot's hard delete: the archived schema, its properties, groups, association types
    and every record of it go for good, and its name is free again."""
    row = _find_row(conn, caller.hub_id, key, archived=True)
    if row is None:
        if _find_row(conn, caller.hub_id, key) is not None:
            raise validation_error(
                f"Object schema {key} is not archived. Archive it (DELETE without "
                "archived=true) before deleting it for good.",
                context={"objectType": [key]},
            )
        raise not_found(
            f"Unable to find archived object schema {key}", context={"objectType": [key]}
        )
    object_type_id = type_id(row)
    # Archived properties go too, and with them their values: the same scopes as archiving.
    every = property_purge.every_definition(conn, caller.hub_id, object_type_id)
    policy.check_schema_archive(caller, object_type_id, every)
    destroy(conn, row)
    properties.audit_schema_change(conn, caller, rt.clock.now(), every, "purge_schema")


def destroy(conn: Connection, row: Any) -> None:
    """Deletes a schema, archived or not, with everything of it; checks and audits nothing."""
    object_type_id = type_id(row)
    record_lifecycle.purge_object_type(conn, row.hub_id, object_type_id)
    property_purge.purge_object_type(conn, row.hub_id, object_type_id)
    property_groups.purge_object_type(conn, row.hub_id, object_type_id)
    association_definitions.purge_object_type(conn, row.hub_id, object_type_id)
    conn.execute(delete(object_schemas).where(object_schemas.c.id == row.id))


def every_schema(conn: Connection, hub_id: int) -> list[Any]:
    """Live and archived schemas of an account."""
    query = select(object_schemas).where(object_schemas.c.hub_id == hub_id)
    return list(conn.execute(query.order_by(object_schemas.c.id)))


_ROLE_LISTS = ("secondary_display_properties", "searchable_properties", "required_properties")


def forget_purged_properties(conn: Connection, purged: list[tuple[int, str, str]]) -> None:
    """Definitions purged for good (hub, object type, name) leave the display, searchable and
    required lists of their custom object: a property created later under the same name is a
    new one, sensitive perhaps, which none of those roles may hold."""
    by_schema: dict[tuple[int, int], set[str]] = {}
    for hub_id, object_type_id, name in purged:
        if object_type_id.startswith("2-"):
            by_schema.setdefault((hub_id, int(object_type_id[2:])), set()).add(name)
    for (hub_id, schema_id), names in by_schema.items():
        row = conn.execute(
            select(object_schemas).where(
                object_schemas.c.hub_id == hub_id, object_schemas.c.id == schema_id
            )
        ).first()
        if row is None:
            continue
        changes: dict[str, Any] = {
            column: [n for n in getattr(row, column) if n not in names] for column in _ROLE_LISTS
        }
        if row.primary_display_property in names:
            changes["primary_display_property"] = None
        conn.execute(update(object_schemas).where(object_schemas.c.id == row.id).values(changes))
