"""Custom object schemas, at /crm/v3/schemas and /crm-object-schemas/v3/schemas, and pipelines."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import pipelines, schemas
from localspot.errors import not_found
from localspot.faces.http import JSON, Ctx, no_content, route

PREFIXES = ("/crm/v3/schemas", "/crm-object-schemas/v3/schemas")
_PIPELINE_TYPES = {"deals": "0-3", "0-3": "0-3", "tickets": "0-5", "0-5": "0-5"}


def list_schemas(ctx: Ctx) -> Response:
    return JSON({"results": schemas.list_schemas(ctx.runtime, ctx.caller(), ctx.flag("archived"))})


def create_schema(ctx: Ctx) -> Response:
    return JSON(
        schemas.create_schema(ctx.runtime, ctx.caller(), ctx.json_object()), status_code=201
    )


def get_schema(ctx: Ctx) -> Response:
    return JSON(schemas.get_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"]))


def update_schema(ctx: Ctx) -> Response:
    return JSON(
        schemas.update_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.json_object())
    )


def archive_schema(ctx: Ctx) -> Response:
    schemas.archive_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"])
    return no_content()


def list_pipelines(ctx: Ctx) -> Response:
    ctx.caller()
    object_type_id = _PIPELINE_TYPES.get(ctx.path["objectType"])
    if object_type_id is None:
        raise not_found(f"No pipelines for {ctx.path['objectType']}")
    created = iso(
        ctx.clock.now().replace(
            year=2020, month=1, day=1, hour=0, minute=0, second=0, microsecond=0
        )
    )
    return JSON({"results": pipelines.render(object_type_id, created)})


def routes() -> list[BaseRoute]:
    table = [
        ("", ["GET"], list_schemas),
        ("", ["POST"], create_schema),
        ("/{objectType}", ["GET"], get_schema),
        ("/{objectType}", ["PATCH"], update_schema),
        ("/{objectType}", ["DELETE"], archive_schema),
    ]
    out = [route(prefix + path, methods, fn) for prefix in PREFIXES for path, methods, fn in table]
    out.append(route("/crm/v3/pipelines/{objectType}", ["GET"], list_pipelines))
    return out
