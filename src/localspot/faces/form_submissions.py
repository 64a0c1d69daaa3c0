"""Form submissions: the secure and open submit endpoints (HubSpot serves them from
api.hsforms.com) and reading submissions at /form-integrations/v1."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import form_submissions
from localspot.domain.form_checks import FormsError
from localspot.errors import HubSpotError
from localspot.faces.forms_v3 import int_param, paged
from localspot.faces.http import JSON, Ctx, route
from localspot.policy import Caller
from localspot.validation import whole_number


def _hub_id(ctx: Ctx) -> int:
    raw = ctx.path["hubId"]
    hub_id = whole_number(raw)
    if hub_id is None:
        raise FormsError(404, f"Form {ctx.path['formGuid']} was not found in portal {raw}")
    return hub_id


def _body(ctx: Ctx) -> Any:
    try:
        return ctx.json()
    except HubSpotError as exc:
        raise FormsError(exc.status, exc.message) from None


def _submit(ctx: Ctx, caller: Caller | None) -> Response:
    hub_id = _hub_id(ctx)
    data = _body(ctx)
    return JSON(form_submissions.submit(ctx.runtime, caller, hub_id, ctx.path["formGuid"], data))


def secure_submit(ctx: Ctx) -> Response:
    return _submit(ctx, ctx.caller())


# The open endpoint is called from visitors' browsers on other sites, so it allows CORS.
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
}


def open_submit(ctx: Ctx) -> Response:
    # TODO(forms): error bodies of the open endpoint lack the CORS headers, so a browser
    # hides them from the page; the middleware renders errors without knowing the route.
    response = _submit(ctx, None)
    response.headers.update(_CORS)
    return response


def open_submit_preflight(ctx: Ctx) -> Response:
    return Response(status_code=204, headers=_CORS)


def list_submissions(ctx: Ctx) -> Response:
    results, next_after = form_submissions.list_submissions(
        ctx.runtime,
        ctx.caller(),
        ctx.path["formGuid"],
        int_param(ctx, "limit", form_submissions.DEFAULT_READ_LIMIT),
        ctx.query.get("after"),
    )
    return paged(ctx, results, next_after)


def routes() -> list[BaseRoute]:
    return [
        route(
            "/submissions/v3/integration/secure/submit/{hubId}/{formGuid}",
            ["POST"],
            secure_submit,
        ),
        route("/submissions/v3/integration/submit/{hubId}/{formGuid}", ["POST"], open_submit),
        route(
            "/submissions/v3/integration/submit/{hubId}/{formGuid}",
            ["OPTIONS"],
            open_submit_preflight,
        ),
        route("/form-integrations/v1/submissions/forms/{formGuid}", ["GET"], list_submissions),
    ]
