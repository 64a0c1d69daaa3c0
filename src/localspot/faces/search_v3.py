"""CRM Search v3, at /crm/v3/objects/{objectType}/search and its date-versioned twin."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import search
from localspot.faces.http import JSON, Ctx, route

PREFIXES = ("/crm/v3/objects", "/crm/objects/{version:apiversion}")


def do_search(ctx: Ctx) -> Response:
    return JSON(search.search(ctx.runtime, ctx.caller(), ctx.path["objectType"], ctx.json_object()))


def routes() -> list[BaseRoute]:
    # Registered before the objects face: its /{objectType}/{objectId} would take the path.
    return [
        route(prefix + "/{objectType}/search", ["POST"], do_search, reads_only=True)
        for prefix in PREFIXES
    ]
