"""What the legacy faces share: the legacy caller, input lists, paging numbers and error bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from localspot.domain import legacy
from localspot.errors import HubSpotError, validation_error
from localspot.faces.http import JSON, Ctx, route
from localspot.policy import Caller
from localspot.validation import whole_number

_EXISTING = re.compile(r"Existing ID: (\d+)")


def caller(ctx: Ctx) -> Caller:
    """The token's caller, stating that this request came through a legacy generation."""
    return legacy.as_legacy(ctx.caller())


def legacy_route(path: str, methods: list[str], handler: Callable[[Ctx], Response]) -> Route:
    """A route whose property-value errors use the legacy ``validationResults`` body."""

    def run(ctx: Ctx) -> Response:
        try:
            return handler(ctx)
        except HubSpotError as exc:
            if exc.validation_results is None:
                raise
            return JSON(
                {
                    "status": "error",
                    "message": "Property values were not valid",
                    "correlationId": ctx.correlation_id,
                    "validationResults": exc.validation_results,
                    "requestId": ctx.correlation_id,
                },
                status_code=400,
            )

    run.__name__ = handler.__name__
    return route(path, methods, run)


def contact_exists(ctx: Ctx, exc: HubSpotError, email: str) -> Response:
    """Contacts v1's 409 for a create whose email another contact holds."""
    found = _EXISTING.search(exc.message)
    profile: dict[str, Any] = {"identity": [{"type": "EMAIL", "value": email, "isPrimary": True}]}
    if found:
        profile["vid"] = int(found.group(1))
    return JSON(
        {
            "status": "error",
            "message": "Contact already exists",
            "correlationId": ctx.correlation_id,
            "identityProfile": profile,
            "error": "CONTACT_EXISTS",
            "requestId": ctx.correlation_id,
        },
        status_code=409,
    )


def property_list(body: dict[str, Any], key: str) -> dict[str, Any]:
    """``{"properties": [{key: name, "value": v}, ...]}`` as {name: value}; later ones win."""
    items = body.get("properties", [])
    if not isinstance(items, list):
        raise validation_error("Invalid input JSON: properties must be a list")
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            raise validation_error(
                f'Invalid input JSON: each property needs a "{key}" and a "value"'
            )
        out[item[key]] = item.get("value")
    return out


def int_param(ctx: Ctx, name: str, default: int | None) -> int | None:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    number = whole_number(raw.removeprefix("-"))
    if number is None:
        raise validation_error(f"{name} must be a whole number", context={name: [raw]})
    return -number if raw.startswith("-") else number


def count_param(ctx: Ctx, name: str = "count", default: int = 20) -> int:
    count = int_param(ctx, name, default)
    assert count is not None
    return count


def names_param(ctx: Ctx, name: str = "property") -> list[str] | None:
    values = [n.strip() for v in ctx.query.getlist(name) for n in v.split(",") if n.strip()]
    return values or None
