"""Properties API v1 and v2: definitions in the legacy model, at /properties/v1 and /v2.

Legacy listings show every definition, sensitive ones included, with the legacy
``dataSensitivity`` names ``none``, ``standard`` and ``high`` (SPEC §1.3, Part B8). Definition
writes go through the same domain and policy as v3: a sensitive definition still needs the
sensitive write scope.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot import policy
from localspot.domain import properties
from localspot.errors import validation_error
from localspot.faces.http import JSON, Ctx, no_content
from localspot.faces.legacy_common import caller, legacy_route
from localspot.policy import SENSITIVITIES
from localspot.validation import whole_number

# Fields of the legacy model that describe the portal's UI or are computed; writes ignore them.
_IGNORED = frozenset(
    {
        "calculated",
        "createdAt",
        "createdUserId",
        "deleted",
        "displayMode",
        "favorited",
        "favoritedOrder",
        "hubspotDefined",
        "isCustomizedDefault",
        "mutableDefinitionNotDeletable",
        "optionsAreMutable",
        "readOnlyDefinition",
        "readOnlyValue",
        "searchableInGlobalSearch",
        "updatedAt",
        "updatedUserId",
    }
)
_OPTION_FIELDS = ("label", "value", "hidden", "description", "displayOrder")
_UPDATABLE = frozenset(
    field.alias or name for name, field in properties.PropertyUpdate.model_fields.items()
)


def _user(value: str | None) -> int | None:
    return whole_number(value) if value else None


def _ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def render(row: Any) -> dict[str, Any]:
    """A definition in the legacy property model."""
    out: dict[str, Any] = {
        "name": row.name,
        "label": row.label,
        "description": row.description,
        "groupName": row.group_name,
        "type": row.type,
        "fieldType": row.field_type,
        "options": [
            {
                "label": o.get("label"),
                "value": o.get("value"),
                "displayOrder": o.get("displayOrder", -1),
                "hidden": o.get("hidden", False),
                "description": o.get("description", ""),
                "readOnly": False,
            }
            for o in row.options or []
        ],
        "displayOrder": row.display_order,
        "formField": row.form_field,
        "readOnlyValue": row.read_only_value,
        "readOnlyDefinition": row.read_only_definition,
        "hidden": row.hidden,
        "mutableDefinitionNotDeletable": row.hubspot_defined,
        "calculated": row.field_type == "calculation_equation",
        "externalOptions": row.external_options,
        "hubspotDefined": row.hubspot_defined,
        "hasUniqueValue": row.has_unique_value,
        "deleted": row.archived,
        "favorited": False,
        "favoritedOrder": -1,
        "displayMode": "current_value",
        "createdAt": _ms(row.created_at),
        "updatedAt": _ms(row.updated_at),
        "createdUserId": _user(row.created_user_id),
        "updatedUserId": _user(row.updated_user_id),
        "dataSensitivity": policy.LEGACY_SENSITIVITY[row.data_sensitivity],
    }
    optional = {
        "showCurrencySymbol": row.show_currency_symbol,
        "currencyPropertyName": row.currency_property_name,
        "numberDisplayHint": row.number_display_hint,
        "textDisplayHint": row.text_display_hint,
        "calculationFormula": row.calculation_formula,
        "referencedObjectType": row.referenced_object_type,
        "sensitiveDataCategories": row.sensitive_data_categories or None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _translate(body: dict[str, Any]) -> dict[str, Any]:
    """A legacy definition body in the v3 model's words, legacy-only fields left out."""
    out = {k: v for k, v in body.items() if k not in _IGNORED}
    if "dataSensitivity" in out:
        legacy_level = out["dataSensitivity"]
        if legacy_level not in policy.SENSITIVITY_FROM_LEGACY:
            if legacy_level in SENSITIVITIES:
                return out
            raise validation_error(
                "dataSensitivity must be one of: none, standard, high",
                context={"dataSensitivity": [str(legacy_level)]},
            )
        out["dataSensitivity"] = policy.SENSITIVITY_FROM_LEGACY[legacy_level]
    options = out.get("options")
    if isinstance(options, list):
        out["options"] = [
            {k: v for k, v in o.items() if k in _OPTION_FIELDS} if isinstance(o, dict) else o
            for o in options
        ]
    return out


def list_properties(ctx: Ctx) -> Response:
    who = caller(ctx)
    rows = properties.definition_rows(ctx.runtime, who, ctx.path["objectType"])
    return JSON([render(r) for r in sorted(rows, key=lambda r: r.id)])


def create_property(ctx: Ctx) -> Response:
    body = ctx.model(properties.PropertyCreate, _translate(ctx.json_object()))
    row = properties.create_property(ctx.runtime, caller(ctx), ctx.path["objectType"], body)
    return JSON(render(row))


def get_property(ctx: Ctx) -> Response:
    row = properties.definition_row(
        ctx.runtime, caller(ctx), ctx.path["objectType"], ctx.path["propertyName"]
    )
    return JSON(render(row))


def update_property(ctx: Ctx) -> Response:
    who = caller(ctx)
    current = properties.definition_row(
        ctx.runtime, who, ctx.path["objectType"], ctx.path["propertyName"]
    )
    # A legacy PUT sends the whole definition back: fields the v3 update does not take are no
    # change when they repeat the current definition, and an error when they differ.
    shown = render(current)
    raw = {
        key: value
        for key, value in ctx.json_object().items()
        if key in _UPDATABLE
        or not (shown.get(key) == value or (key not in shown and value in (None, [], "")))
    }
    row = properties.update_property(
        ctx.runtime, who, ctx.path["objectType"], ctx.path["propertyName"], _translate(raw)
    )
    return JSON(render(row))


def delete_property(ctx: Ctx) -> Response:
    properties.archive_property(
        ctx.runtime, caller(ctx), ctx.path["objectType"], ctx.path["propertyName"]
    )
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("/{objectType}/properties", ["GET"], list_properties),
        ("/{objectType}/properties", ["POST"], create_property),
        ("/{objectType}/properties/", ["POST"], create_property),
        ("/{objectType}/properties/named/{propertyName}", ["GET"], get_property),
        ("/{objectType}/properties/named/{propertyName}", ["PUT"], update_property),
        ("/{objectType}/properties/named/{propertyName}", ["DELETE"], delete_property),
    ]
    return [
        legacy_route(prefix + path, methods, fn)
        for prefix in ("/properties/v1", "/properties/v2")
        for path, methods, fn in table
    ]
