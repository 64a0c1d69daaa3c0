"""Pipelines (read-only defaults), at /crm/v3/pipelines and the dated /crm/pipelines/<date>."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import pipelines
from localspot.errors import not_implemented
from localspot.faces.http import JSON, Ctx, route

PREFIXES = ("/crm/v3/pipelines", "/crm/pipelines/{version:apiversion}")


def list_pipelines(ctx: Ctx) -> Response:
    return JSON({"results": pipelines.list_pipelines(ctx.caller(), ctx.path["objectType"])})


def get_pipeline(ctx: Ctx) -> Response:
    return JSON(
        pipelines.get_pipeline(ctx.caller(), ctx.path["objectType"], ctx.path["pipelineId"])
    )


def list_stages(ctx: Ctx) -> Response:
    stages = pipelines.list_stages(ctx.caller(), ctx.path["objectType"], ctx.path["pipelineId"])
    return JSON({"results": stages})


def get_stage(ctx: Ctx) -> Response:
    path = ctx.path
    stage = pipelines.get_stage(
        ctx.caller(), path["objectType"], path["pipelineId"], path["stageId"]
    )
    return JSON(stage)


def write_pipeline(ctx: Ctx) -> Response:
    # HubSpot serves these writes, so a 405 would claim the method does not exist at all.
    raise not_implemented(ctx.request.method, ctx.request.url.path)


def routes() -> list[BaseRoute]:
    table = [
        ("/{objectType}", ["GET"], list_pipelines),
        ("/{objectType}", ["POST"], write_pipeline),
        ("/{objectType}/{pipelineId}", ["GET"], get_pipeline),
        ("/{objectType}/{pipelineId}", ["PUT", "PATCH", "DELETE"], write_pipeline),
        ("/{objectType}/{pipelineId}/stages", ["GET"], list_stages),
        ("/{objectType}/{pipelineId}/stages", ["POST"], write_pipeline),
        ("/{objectType}/{pipelineId}/stages/{stageId}", ["GET"], get_stage),
        ("/{objectType}/{pipelineId}/stages/{stageId}", ["PUT", "PATCH", "DELETE"], write_pipeline),
    ]
    return [route(prefix + path, methods, fn) for prefix in PREFIXES for path, methods, fn in table]
