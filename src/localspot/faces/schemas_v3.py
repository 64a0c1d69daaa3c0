"""Custom object schemas, at /crm/v3/schemas, /crm-object-schemas/v3/schemas and the dated
/crm-object-schemas/<date>/schemas."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import schema_associations, schemas
from localspot.faces.http import JSON, Ctx, no_content, route

PREFIXES = (
    "/crm/v3/schemas",
    "/crm-object-schemas/v3/schemas",
    "/crm-object-schemas/{version:apiversion}/schemas",
)


def _include(ctx: Ctx) -> schemas.Include:
    return schemas.Include(
        properties=ctx.flag("includePropertyDefinitions", default=True),
        associations=ctx.flag("includeAssociationDefinitions", default=True),
        audit_metadata=ctx.flag("includeAuditMetadata", default=True),
    )


def list_schemas(ctx: Ctx) -> Response:
    found = schemas.list_schemas(ctx.runtime, ctx.caller(), ctx.flag("archived"), _include(ctx))
    return JSON({"results": found})


def create_schema(ctx: Ctx) -> Response:
    return JSON(
        schemas.create_schema(ctx.runtime, ctx.caller(), ctx.json_object()), status_code=201
    )


def get_schema(ctx: Ctx) -> Response:
    return JSON(
        schemas.get_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"], _include(ctx))
    )


def update_schema(ctx: Ctx) -> Response:
    return JSON(
        schemas.update_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.json_object())
    )


def archive_schema(ctx: Ctx) -> Response:
    # HubSpot's hard delete is the same DELETE with archived=true, on an archived schema.
    purge = ctx.flag("archived")
    schemas.archive_schema(ctx.runtime, ctx.caller(), ctx.path["objectType"], purge=purge)
    return no_content()


def batch_read(ctx: Ctx) -> Response:
    return JSON({"results": schemas.batch_read(ctx.runtime, ctx.caller(), ctx.json_object())})


def create_association(ctx: Ctx) -> Response:
    created = schema_associations.create_association(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.json_object()
    )
    return JSON(created, status_code=201)


def delete_association(ctx: Ctx) -> Response:
    schema_associations.delete_association(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.path["associationIdentifier"]
    )
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("", ["GET"], list_schemas),
        ("", ["POST"], create_schema),
        ("/batch/read", ["POST"], batch_read),
        ("/{objectType}", ["GET"], get_schema),
        ("/{objectType}", ["PATCH"], update_schema),
        ("/{objectType}", ["DELETE"], archive_schema),
        ("/{objectType}/associations", ["POST"], create_association),
        ("/{objectType}/associations/{associationIdentifier}", ["DELETE"], delete_association),
    ]
    return [route(prefix + path, methods, fn) for prefix in PREFIXES for path, methods, fn in table]
