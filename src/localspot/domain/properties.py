"""Property definitions and property groups (SPEC §2, Part B4-B6, B17, B18)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from localspot import policy
from localspot.clock import iso
from localspot.domain import audit, object_types, property_cache, query_index, record_rederive
from localspot.domain.object_types import ObjectType
from localspot.domain.property_checks import (
    check_group,
    check_label,
    check_name,
    check_shape,
    dump_options,
)
from localspot.domain.property_lookup import definitions_by_name
from localspot.domain.property_models import (
    IMMUTABLE_FIELDS,
    MAX_DESCRIPTION,
    MAX_UNIQUE_PER_OBJECT,
    NAME_PATTERN,
    PropertyCreate,
    PropertyUpdate,
)
from localspot.domain.values import Problem
from localspot.domain.values import check as check_value
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.protection import Protector
from localspot.runtime import Runtime
from localspot.store.schema import property_definitions as defs
from localspot.validation import parse_input

# Records named in the error when a type change does not fit stored values; ids only.
MAX_MISFITS_SHOWN = 10

# Reading --------------------------------------------------------------------------------------


def render(row: Any) -> dict[str, Any]:
    """A definition row in HubSpot's ``Property`` read model."""
    out: dict[str, Any] = {
        "name": row.name,
        "label": row.label,
        "type": row.type,
        "fieldType": row.field_type,
        "description": row.description,
        "groupName": row.group_name,
        "options": row.options,
        "displayOrder": row.display_order,
        "calculated": row.field_type == "calculation_equation",
        "externalOptions": row.external_options,
        "hasUniqueValue": row.has_unique_value,
        "hidden": row.hidden,
        "hubspotDefined": row.hubspot_defined,
        "modificationMetadata": {
            "archivable": not row.hubspot_defined,
            "readOnlyDefinition": row.read_only_definition,
            "readOnlyValue": row.read_only_value,
        },
        "formField": row.form_field,
        "dataSensitivity": row.data_sensitivity,
        "archived": row.archived,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }
    optional = {
        "sensitiveDataCategories": row.sensitive_data_categories or None,
        "archivedAt": iso(row.archived_at) if row.archived_at else None,
        "createdUserId": row.created_user_id,
        "updatedUserId": row.updated_user_id,
        "referencedObjectType": row.referenced_object_type,
        "calculationFormula": row.calculation_formula,
        "currencyPropertyName": row.currency_property_name,
        "showCurrencySymbol": row.show_currency_symbol,
        "numberDisplayHint": row.number_display_hint,
        "textDisplayHint": row.text_display_hint,
        "dateDisplayHint": row.date_display_hint,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def scope(hub_id: int, object_type: ObjectType) -> Any:
    return and_(defs.c.hub_id == hub_id, defs.c.object_type_id == object_type.id)


def list_properties(
    rt: Runtime, caller: Caller, object_key: str, archived: bool, sensitivity: str
) -> list[dict[str, Any]]:
    """One sensitivity level per call, as HubSpot lists them (SPEC §1.3), rendered."""

    def load(conn: Connection) -> tuple[ObjectType, list[dict[str, Any]]]:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)

        def rows() -> list[dict[str, Any]]:
            query = select(defs).where(
                scope(caller.hub_id, object_type), defs.c.archived == archived
            )
            return [render(row) for row in conn.execute(query.order_by(defs.c.id))]

        listed = property_cache.by_level(
            conn, caller.hub_id, object_type.id, archived, sensitivity, rows
        )
        return object_type, listed

    key = ("properties", caller.hub_id, object_key, archived, sensitivity)
    object_type, listed = rt.store.remembered(key, load)
    policy.check_definition_read(caller, object_type.id)
    return listed


def get_property(
    rt: Runtime, caller: Caller, object_key: str, name: str, archived: bool = False
) -> dict[str, Any]:
    """One definition by name, whatever its sensitivity (SPEC Part B4), rendered."""

    def load(conn: Connection) -> tuple[ObjectType, dict[str, Any] | None]:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        cached = property_cache.one(conn, caller.hub_id, object_type.id, archived, name)
        if cached is not None:
            return object_type, cached
        row = _lookup(conn, caller.hub_id, object_type, name, archived)
        return object_type, None if row is None else render(row)

    key = ("property", caller.hub_id, object_key, name, archived)
    object_type, rendered = rt.store.remembered(key, load)
    policy.check_definition_read(caller, object_type.id)
    if rendered is None:
        raise _no_such_property(name)
    return rendered


def definition_rows(rt: Runtime, caller: Caller, object_key: str) -> list[Any]:
    """Every active definition of an object, all levels, as rows (legacy listings)."""
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_read(caller, object_type.id)
        return list(definitions_by_name(conn, caller.hub_id, object_type).values())


def definition_row(rt: Runtime, caller: Caller, object_key: str, name: str) -> Any:
    """One active definition as a row, whatever its level (legacy reads)."""
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_read(caller, object_type.id)
        return _find(conn, caller.hub_id, object_type, name)


def _find(
    conn: Connection, hub_id: int, object_type: ObjectType, name: str, archived: bool = False
) -> Any:
    row = _lookup(conn, hub_id, object_type, name, archived)
    if row is None:
        raise _no_such_property(name)
    return row


def _lookup(
    conn: Connection, hub_id: int, object_type: ObjectType, name: str, archived: bool
) -> Any:
    if not NAME_PATTERN.fullmatch(name):  # no stored name has another shape
        return None
    query = select(defs).where(
        scope(hub_id, object_type), defs.c.name == name, defs.c.archived == archived
    )
    return conn.execute(query).first()


def _no_such_property(name: str) -> HubSpotError:
    return not_found(f"Property {name} does not exist", context={"propertyName": [name]})


# Writing --------------------------------------------------------------------------------------


def create_property(rt: Runtime, caller: Caller, object_key: str, body: PropertyCreate) -> Any:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        return create_in(conn, caller, rt.clock.now(), object_type, body)


def batch_create(
    rt: Runtime, caller: Caller, object_key: str, inputs: list[Any]
) -> tuple[list[Any], list[HubSpotError]]:
    """Each input is its own unit (HubSpot answers 207 with the failures)."""
    results: list[Any] = []
    failures: list[HubSpotError] = []
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
    parsed: list[PropertyCreate | HubSpotError] = []
    for raw in inputs:
        try:
            parsed.append(parse_input(PropertyCreate, raw))
        except HubSpotError as exc:
            parsed.append(exc)

    # Access is decided for the whole call before anything is written: a 403 for one input
    # fails the request, and a failed request must leave no input created.
    policy.check_definition_write(caller, object_type.id, "non_sensitive")
    for body in parsed:
        if isinstance(body, PropertyCreate):
            policy.check_definition_write(caller, object_type.id, body.data_sensitivity)

    for item in parsed:
        if isinstance(item, HubSpotError):
            failures.append(item)
            continue
        try:
            with rt.store.write() as conn:
                results.append(create_in(conn, caller, rt.clock.now(), object_type, item))
        except HubSpotError as exc:
            failures.append(exc)
    return results, failures


def create_in(
    conn: Connection, caller: Caller, now: datetime, object_type: ObjectType, body: PropertyCreate
) -> Any:
    policy.check_definition_write(caller, object_type.id, body.data_sensitivity, [body.name])
    if policy.is_protected(body.data_sensitivity) and not object_type.allows_sensitive_properties:
        raise validation_error(
            f"{object_type.name} does not allow sensitive properties: set "
            "allowsSensitiveProperties on its schema first"
        )
    check_name(body.name)
    check_label(body.label)
    if len(body.description) > MAX_DESCRIPTION:
        raise validation_error(f"description must be at most {MAX_DESCRIPTION} characters")
    options = dump_options(body.options) if body.type in ("enumeration", "bool") else []
    check_shape(
        body.type, body.field_type, options, body.external_options, body.calculation_formula
    )
    if body.sensitive_data_categories and body.data_sensitivity == "non_sensitive":
        raise validation_error("sensitiveDataCategories apply only to sensitive properties")
    check_group(conn, caller.hub_id, object_type, body.group_name)

    existing = conn.scalar(
        select(defs.c.archived).where(scope(caller.hub_id, object_type), defs.c.name == body.name)
    )
    if existing is not None:
        raise _name_taken(body.name, archived=bool(existing))
    if body.has_unique_value:
        unique_count = conn.scalar(
            select(func.count()).where(
                scope(caller.hub_id, object_type),
                defs.c.has_unique_value.is_(True),
                defs.c.archived.is_(False),
            )
        )
        if (unique_count or 0) >= MAX_UNIQUE_PER_OBJECT:
            raise validation_error(
                f"An object can have at most {MAX_UNIQUE_PER_OBJECT} unique value properties"
            )

    user = str(caller.user_id) if caller.user_id is not None else None
    row = {
        "hub_id": caller.hub_id,
        "object_type_id": object_type.id,
        "name": body.name,
        "label": body.label,
        "type": body.type,
        "field_type": body.field_type,
        "group_name": body.group_name,
        "description": body.description,
        "display_order": body.display_order,
        "options": options,
        "has_unique_value": body.has_unique_value,
        "hidden": body.hidden,
        "form_field": body.form_field,
        "external_options": body.external_options,
        "referenced_object_type": body.referenced_object_type,
        "calculation_formula": body.calculation_formula,
        "currency_property_name": body.currency_property_name,
        "show_currency_symbol": body.show_currency_symbol,
        "number_display_hint": body.number_display_hint,
        "text_display_hint": body.text_display_hint,
        "date_display_hint": body.date_display_hint,
        "data_sensitivity": body.data_sensitivity,
        "sensitive_data_categories": body.sensitive_data_categories or None,
        "hubspot_defined": False,
        # HubSpot computes a calculation's value: records never take a write to it.
        # TODO(properties): formulas are stored, never evaluated: such values always read null.
        "read_only_value": body.field_type == "calculation_equation",
        "read_only_definition": False,
        "archived": False,
        "created_at": now,
        "updated_at": now,
        "created_user_id": user,
        "updated_user_id": user,
    }
    try:
        conn.execute(insert(defs).values(row))
        property_cache.touch(conn, caller.hub_id, [object_type.id])
    except IntegrityError:
        # A concurrent request took the name between our check and the insert (PostgreSQL).
        raise _name_taken(body.name, archived=False) from None
    _audit_change(conn, caller, now, object_type.id, body.data_sensitivity, body.name, "create")
    return _find(conn, caller.hub_id, object_type, body.name)


def _name_taken(name: str, archived: bool) -> HubSpotError:
    state = "an archived" if archived else "a"
    return conflict(
        f"There is already {state} property named {name} on this object.",
        category="OBJECT_ALREADY_EXISTS",
        context={"propertyName": [name]},
    )


def update_property(
    rt: Runtime, caller: Caller, object_key: str, name: str, raw: dict[str, Any]
) -> Any:
    immutable = [f for f in IMMUTABLE_FIELDS if f in raw]
    if immutable:
        raise validation_error(
            f"{', '.join(immutable)} cannot be changed after a property is created",
            context={"field": immutable},
        )
    body = parse_input(PropertyUpdate, raw)
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        return _update(conn, caller, rt.protector, rt.clock.now(), object_type, name, body)


def _update(
    conn: Connection,
    caller: Caller,
    protector: Protector,
    now: datetime,
    object_type: ObjectType,
    name: str,
    body: PropertyUpdate,
) -> Any:
    current = _find(conn, caller.hub_id, object_type, name)
    policy.check_definition_write(caller, object_type.id, current.data_sensitivity, [name])
    if current.read_only_definition:
        raise validation_error(
            f"Property {name} is defined by HubSpot and its definition cannot be changed",
            context={"propertyName": [name]},
        )

    # null means "not given", as for record values (SPEC §3.3): it never clears a field.
    changes = body.model_dump(exclude_unset=True, exclude_none=True, by_alias=False)
    if body.options is not None:
        changes["options"] = dump_options(body.options)
    if body.label is not None:
        check_label(body.label)
    if body.group_name is not None:
        check_group(conn, caller.hub_id, object_type, body.group_name)
    type_ = changes.get("type", current.type)
    field_type = changes.get("field_type", current.field_type)
    if (type_, field_type) != (current.type, current.field_type):
        policy.check_retype(caller, object_type.id, current.data_sensitivity, name)
    if (field_type == "calculation_equation") != (current.field_type == "calculation_equation"):
        # Stored values would outlive the retype (formulas are not evaluated here) and a
        # formula would outlive the way back: a calculation is made as one, and stays one.
        raise validation_error(
            f"Property {name} cannot become a calculation property or stop being one; "
            "create a new property instead",
            context={"propertyName": [name]},
        )
    options = changes.get("options", current.options) if type_ in ("enumeration", "bool") else []
    changes["options"] = options
    check_shape(
        type_,
        field_type,
        options,
        current.external_options,
        changes.get("calculation_formula", current.calculation_formula),
    )
    changes.update(
        updated_at=now,
        updated_user_id=str(caller.user_id) if caller.user_id is not None else None,
    )
    conn.execute(update(defs).where(defs.c.id == current.id).values(changes))
    updated = _find(conn, caller.hub_id, object_type, name)
    if (updated.type, updated.field_type) != (current.type, current.field_type):
        _rederive_values(conn, caller, protector, object_type, updated)
    changed = sorted(k for k in body.model_dump(exclude_unset=True, by_alias=True))
    _audit_change(
        conn, caller, now, object_type.id, current.data_sensitivity, name, "update", changed
    )
    property_cache.touch(conn, caller.hub_id, [object_type.id])
    return updated


def _rederive_values(
    conn: Connection, caller: Caller, protector: Protector, object_type: ObjectType, definition: Any
) -> None:
    """Stored values checked and given their search forms under a changed type or field type.

    Search and sorting read the derived forms, so a value kept under its old type's forms
    would drop out of range filters and sort among unset records. A value that does not fit
    the new type refuses the whole change (the caller's transaction rolls back); the error
    counts them and names records, never a value.
    """
    # TODO(properties): every value is held in memory within one write transaction, and on
    # PostgreSQL a record write checked against the old type may commit after this read (the
    # definition row is not locked); chunk it and lock the definition for large stores.
    sensitive = policy.is_protected(definition.data_sensitivity)
    fitting, misfits = [], []
    texts = record_rederive.stored_texts(conn, protector, caller.hub_id, object_type, definition)
    for record_id, text in texts:
        stored = check_value(definition, text, None, sensitive)
        if isinstance(stored, Problem):
            misfits.append(record_id)
        else:
            fitting.append((record_id, stored))
    if misfits:
        count = len(misfits)
        shown = sorted(misfits)[:MAX_MISFITS_SHOWN]
        raise validation_error(
            f"Property {definition.name} cannot become type {definition.type} "
            f"(fieldType {definition.field_type}): {count} existing "
            f"{'value does' if count == 1 else 'values do'} not fit it. Change or clear "
            "those values first.",
            context={"propertyName": [definition.name], "objectIds": [str(i) for i in shown]},
        )
    record_rederive.rederive(conn, protector, caller.hub_id, object_type, definition, fitting)


def archive_property(rt: Runtime, caller: Caller, object_key: str, name: str) -> None:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        current = _find(conn, caller.hub_id, object_type, name)
        _archive(conn, caller, rt.clock.now(), [current])


def _archive(conn: Connection, caller: Caller, now: datetime, rows: list[Any]) -> None:
    for row in rows:
        policy.check_definition_write(caller, row.object_type_id, row.data_sensitivity, [row.name])
        if row.hubspot_defined:
            raise validation_error(
                f"Property {row.name} is defined by HubSpot and cannot be archived",
                context={"propertyName": [row.name]},
            )
    ids = [row.id for row in rows]
    if ids:
        conn.execute(update(defs).where(defs.c.id.in_(ids)).values(archived=True, archived_at=now))
        property_cache.touch(conn, caller.hub_id, [row.object_type_id for row in rows])
        for type_id in {row.object_type_id for row in rows}:
            object_type = object_types.resolve(conn, caller.hub_id, type_id)
            if any(
                r.object_type_id == type_id and r.name in object_type.searchable_properties
                for r in rows
            ):
                query_index.rebuild(conn, caller.hub_id, object_type)
    for row in rows:
        _audit_change(
            conn, caller, now, row.object_type_id, row.data_sensitivity, row.name, "archive"
        )


def _audit_change(
    conn: Connection,
    caller: Caller,
    now: datetime,
    object_type_id: str,
    sensitivity: str,
    name: str,
    operation: str,
    fields: list[str] | None = None,
) -> None:
    """Definition changes of sensitive properties go to the audit trail (names, never values)."""
    if sensitivity == "non_sensitive":
        return
    detail: dict[str, Any] = {"operation": operation, "dataSensitivity": sensitivity}
    if fields:
        detail["fields"] = fields
    at_ms = int(now.timestamp() * 1000)
    audit.record(conn, at_ms, caller, "definition_change", object_type_id, [], [name], detail)


def batch_archive(rt: Runtime, caller: Caller, object_key: str, names: list[str]) -> None:
    """Archives the active ones among ``names``; unknown or archived names are no error."""
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_write(caller, object_type.id, "non_sensitive")
        query = select(defs).where(
            scope(caller.hub_id, object_type), defs.c.name.in_(names), defs.c.archived.is_(False)
        )
        _archive(conn, caller, rt.clock.now(), list(conn.execute(query)))


def batch_read(
    rt: Runtime, caller: Caller, object_key: str, names: list[str], archived: bool
) -> tuple[list[Any], list[str]]:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_read(caller, object_type.id)
        query = select(defs).where(
            scope(caller.hub_id, object_type), defs.c.name.in_(names), defs.c.archived == archived
        )
        found = {row.name: row for row in conn.execute(query)}
    missing = [n for n in dict.fromkeys(names) if n not in found]
    return [found[n] for n in dict.fromkeys(names) if n in found], missing


def audit_schema_change(
    conn: Connection, caller: Caller, now: datetime, rows: list[Any], operation: str
) -> None:
    """A schema archive or purge changes each sensitive definition it carries; audit them."""
    for row in rows:
        _audit_change(
            conn, caller, now, row.object_type_id, row.data_sensitivity, row.name, operation
        )
