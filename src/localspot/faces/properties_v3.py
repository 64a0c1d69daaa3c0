"""Properties API v3, at /crm/v3/properties and the date-versioned /crm/properties/<date>."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import properties, property_groups
from localspot.errors import not_found, validation_error
from localspot.faces.http import JSON, Ctx, EncodedOnce, no_content, route
from localspot.policy import SENSITIVITIES

PREFIXES = ("/crm/v3/properties", "/crm/properties/{version:apiversion}")


def _sensitivity(ctx: Ctx) -> str:
    return ctx.choice("dataSensitivity", SENSITIVITIES, "non_sensitive")


# Listings of a few objects' definitions: some 4 MB of JSON at the most.
_listings = EncodedOnce(most_bytes=4 * 1024 * 1024)


def list_properties(ctx: Ctx) -> Response:
    rendered = properties.list_properties(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.flag("archived"), _sensitivity(ctx)
    )
    return JSON({"results": _listings(rendered)})


def create_property(ctx: Ctx) -> Response:
    caller = ctx.caller()  # who is asking comes before what they sent: 401 beats 400
    body = ctx.model(properties.PropertyCreate)
    row = properties.create_property(ctx.runtime, caller, ctx.path["objectType"], body)
    location = f"{ctx.request.url.path.rstrip('/')}/{row.name}"
    return JSON(properties.render(row), status_code=201, headers={"Location": location})


def get_property(ctx: Ctx) -> Response:
    _sensitivity(ctx)  # validated, though one property is returned whatever its level
    rendered = properties.get_property(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        ctx.path["propertyName"],
        ctx.flag("archived"),
    )
    return JSON(rendered)


def update_property(ctx: Ctx) -> Response:
    row = properties.update_property(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        ctx.path["propertyName"],
        ctx.json_object(),
    )
    return JSON(properties.render(row))


def archive_property(ctx: Ctx) -> Response:
    properties.archive_property(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.path["propertyName"]
    )
    return no_content()


def _inputs(ctx: Ctx, body: dict[str, Any]) -> list[Any]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error(
            "Invalid input JSON: inputs must be a list",
            errors=[{"message": "inputs is required", "code": "REQUIRED", "in": "inputs"}],
        )
    if len(inputs) > 100:
        raise validation_error("Batch requests are limited to 100 inputs")
    return inputs


def _names(inputs: list[Any]) -> list[str]:
    names = []
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise validation_error("Each input must be an object with a string name")
        names.append(item["name"])
    return names


def _batch_body(
    ctx: Ctx, started: str, results: list[Any], errors: list[dict[str, Any]], status: int
) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": [properties.render(r) for r in results],
        "startedAt": started,
        "completedAt": iso(ctx.clock.now()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        status = 207
    return JSON(body, status_code=status)


def batch_create(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    caller = ctx.caller()
    inputs = _inputs(ctx, ctx.json_object())
    results, failures = properties.batch_create(ctx.runtime, caller, ctx.path["objectType"], inputs)
    return _batch_body(ctx, started, results, [f.as_batch_error() for f in failures], 201)


def batch_read(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    caller = ctx.caller()
    body = ctx.json_object()
    names = _names(_inputs(ctx, body))
    archived = body.get("archived", False)
    if not isinstance(archived, bool):
        raise validation_error("archived must be a boolean")
    sensitivity = body.get("dataSensitivity", "non_sensitive")
    if sensitivity not in SENSITIVITIES:
        raise validation_error(f"dataSensitivity must be one of: {', '.join(SENSITIVITIES)}")
    found, missing = properties.batch_read(
        ctx.runtime, caller, ctx.path["objectType"], names, archived
    )
    errors = [
        not_found(
            f"Property {name} does not exist", context={"propertyName": [name]}
        ).as_batch_error()
        for name in missing
    ]
    return _batch_body(ctx, started, found, errors, 200)


def batch_archive(ctx: Ctx) -> Response:
    caller = ctx.caller()
    names = _names(_inputs(ctx, ctx.json_object()))
    properties.batch_archive(ctx.runtime, caller, ctx.path["objectType"], names)
    return no_content()


def list_groups(ctx: Ctx) -> Response:
    rows = property_groups.list_groups(ctx.runtime, ctx.caller(), ctx.path["objectType"])
    return JSON({"results": [property_groups.render(r) for r in rows]})


def create_group(ctx: Ctx) -> Response:
    caller = ctx.caller()
    body = ctx.model(property_groups.GroupCreate)
    row = property_groups.create_group(ctx.runtime, caller, ctx.path["objectType"], body)
    location = f"{ctx.request.url.path.rstrip('/')}/{row.name}"
    return JSON(property_groups.render(row), status_code=201, headers={"Location": location})


def get_group(ctx: Ctx) -> Response:
    row = property_groups.get_group(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.path["groupName"]
    )
    return JSON(property_groups.render(row))


def update_group(ctx: Ctx) -> Response:
    row = property_groups.update_group(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        ctx.path["groupName"],
        ctx.json_object(),
    )
    return JSON(property_groups.render(row))


def archive_group(ctx: Ctx) -> Response:
    property_groups.archive_group(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.path["groupName"]
    )
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("/{objectType}/groups", ["GET"], list_groups),
        ("/{objectType}/groups", ["POST"], create_group),
        ("/{objectType}/groups/{groupName}", ["GET"], get_group),
        ("/{objectType}/groups/{groupName}", ["PATCH"], update_group),
        ("/{objectType}/groups/{groupName}", ["DELETE"], archive_group),
        ("/{objectType}/batch/create", ["POST"], batch_create),
        ("/{objectType}/batch/read", ["POST"], batch_read),
        ("/{objectType}/batch/archive", ["POST"], batch_archive),
        ("/{objectType}", ["GET"], list_properties),
        ("/{objectType}", ["POST"], create_property),
        ("/{objectType}/{propertyName}", ["GET"], get_property),
        ("/{objectType}/{propertyName}", ["PATCH"], update_property),
        ("/{objectType}/{propertyName}", ["DELETE"], archive_property),
    ]
    return [
        route(prefix + path, methods, fn, reads_only=fn is batch_read)
        for prefix in PREFIXES
        for path, methods, fn in table
    ]
