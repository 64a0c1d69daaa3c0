"""The checks a property definition's name, label, type, options and group must pass."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from localspot.domain.object_types import ObjectType
from localspot.domain.property_models import (
    FIELD_TYPES_BY_TYPE,
    MAX_LABEL,
    MAX_OPTIONS,
    NAME_PATTERN,
    OptionInput,
)
from localspot.errors import validation_error
from localspot.store.schema import property_groups as groups


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise validation_error(
            f"Property name {name!r} is not valid: use lowercase letters, digits and "
            "underscores, starting with a letter, at most 100 characters.",
            context={"propertyName": [name]},
        )
    if name.startswith("hs_"):
        raise validation_error(
            f"Property name {name!r} is not valid: the hs_ prefix is reserved for "
            "HubSpot-defined properties.",
            context={"propertyName": [name]},
        )


def check_label(label: str) -> None:
    if not label.strip():
        raise validation_error("label must not be empty")
    if len(label) > MAX_LABEL:
        raise validation_error(f"label must be at most {MAX_LABEL} characters")


def check_shape(
    type_: str,
    field_type: str,
    options: list[dict[str, Any]],
    external_options: bool,
    formula: str | None,
) -> None:
    if field_type not in FIELD_TYPES_BY_TYPE[type_]:
        allowed = ", ".join(sorted(FIELD_TYPES_BY_TYPE[type_]))
        raise validation_error(
            f"fieldType {field_type} is not valid for a property of type {type_}; "
            f"use one of: {allowed}"
        )
    if type_ == "enumeration" and not options and not external_options:
        raise validation_error("Enumeration properties must have at least one option")
    if len(options) > MAX_OPTIONS:
        raise validation_error(f"A property can have at most {MAX_OPTIONS} options")
    values = [o["value"] for o in options]
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise validation_error(f"Option values must be unique; repeated: {', '.join(duplicates)}")
    if any(not o["value"] or not o["label"] for o in options):
        raise validation_error("Every option needs a non-empty label and value")
    if field_type == "calculation_equation" and not formula:
        raise validation_error("calculationFormula is required for calculation properties")


def dump_options(options: list[OptionInput]) -> list[dict[str, Any]]:
    return [o.model_dump(by_alias=True) for o in options]


def check_group(conn: Connection, hub_id: int, object_type: ObjectType, name: str) -> None:
    found = conn.scalar(
        select(groups.c.id).where(
            groups.c.hub_id == hub_id,
            groups.c.object_type_id == object_type.id,
            groups.c.name == name,
            groups.c.archived.is_(False),
        )
    )
    if found is None:
        raise validation_error(
            f"Property group {name} does not exist", context={"groupName": [name]}
        )
