"""Control plane for forms (SPEC Part C): what a portal's forms editor does in HubSpot's UI."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import form_submissions, forms
from localspot.faces.control import PREFIX, _admin, _int
from localspot.faces.forms_v3 import int_param, paged
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.policy import Caller


def _caller(ctx: Ctx) -> Caller:
    _admin(ctx)
    return forms.console_caller(ctx.runtime, _int(ctx, "hubId"))


def list_forms(ctx: Ctx) -> Response:
    results, next_after = forms.list_forms(
        ctx.runtime,
        _caller(ctx),
        int_param(ctx, "limit", forms.DEFAULT_LIMIT),
        ctx.query.get("after"),
        ctx.flag("archived"),
        None,
    )
    return paged(ctx, results, next_after)


def create_form(ctx: Ctx) -> Response:
    caller = _caller(ctx)
    return JSON(forms.create_form(ctx.runtime, caller, ctx.json_object()), status_code=201)


def get_form(ctx: Ctx) -> Response:
    caller = _caller(ctx)
    return JSON(forms.get_form(ctx.runtime, caller, ctx.path["formId"], ctx.flag("archived")))


def patch_form(ctx: Ctx) -> Response:
    caller = _caller(ctx)
    body = ctx.json_object()
    return JSON(forms.update_form(ctx.runtime, caller, ctx.path["formId"], body, replace=False))


def archive_form(ctx: Ctx) -> Response:
    forms.archive_form(ctx.runtime, _caller(ctx), ctx.path["formId"])
    return no_content()


def list_submissions(ctx: Ctx) -> Response:
    results, next_after = form_submissions.list_submissions(
        ctx.runtime,
        _caller(ctx),
        ctx.path["formId"],
        int_param(ctx, "limit", form_submissions.DEFAULT_READ_LIMIT),
        ctx.query.get("after"),
    )
    return paged(ctx, results, next_after)


def routes() -> list[BaseRoute]:
    table = [
        ("/accounts/{hubId}/forms", ["GET"], list_forms),
        ("/accounts/{hubId}/forms", ["POST"], create_form),
        ("/accounts/{hubId}/forms/{formId}", ["GET"], get_form),
        ("/accounts/{hubId}/forms/{formId}", ["PATCH"], patch_form),
        ("/accounts/{hubId}/forms/{formId}", ["DELETE"], archive_form),
        ("/accounts/{hubId}/forms/{formId}/submissions", ["GET"], list_submissions),
    ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
