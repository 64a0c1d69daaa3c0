"""Marketing Forms API v3: form definitions at /marketing/v3/forms."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import forms
from localspot.errors import validation_error
from localspot.faces.http import JSON, Ctx, no_content, route

PREFIX = "/marketing/v3/forms"


def int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation_error(f"{name} must be a whole number", context={name: [raw]}) from None


def paged(ctx: Ctx, results: list[dict[str, Any]], next_after: str | None) -> Response:
    body: dict[str, Any] = {"results": results}
    if next_after is not None:
        link = ctx.request.url.include_query_params(after=next_after)
        body["paging"] = {"next": {"after": next_after, "link": str(link)}}
    return JSON(body)


def list_forms(ctx: Ctx) -> Response:
    form_types = [t for v in ctx.query.getlist("formTypes") for t in v.split(",") if t]
    results, next_after = forms.list_forms(
        ctx.runtime,
        ctx.caller(),
        int_param(ctx, "limit", forms.DEFAULT_LIMIT),
        ctx.query.get("after"),
        ctx.flag("archived"),
        form_types or None,
    )
    return paged(ctx, results, next_after)


def create_form(ctx: Ctx) -> Response:
    caller = ctx.caller()
    return JSON(forms.create_form(ctx.runtime, caller, ctx.json_object()), status_code=201)


def get_form(ctx: Ctx) -> Response:
    caller = ctx.caller()
    return JSON(forms.get_form(ctx.runtime, caller, ctx.path["formId"], ctx.flag("archived")))


def patch_form(ctx: Ctx) -> Response:
    caller = ctx.caller()
    body = ctx.json_object()
    return JSON(forms.update_form(ctx.runtime, caller, ctx.path["formId"], body, replace=False))


def replace_form(ctx: Ctx) -> Response:
    caller = ctx.caller()
    body = ctx.json_object()
    return JSON(forms.update_form(ctx.runtime, caller, ctx.path["formId"], body, replace=True))


def archive_form(ctx: Ctx) -> Response:
    forms.archive_form(ctx.runtime, ctx.caller(), ctx.path["formId"])
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("", ["GET"], list_forms),
        ("/", ["GET"], list_forms),
        ("", ["POST"], create_form),
        ("/", ["POST"], create_form),
        ("/{formId}", ["GET"], get_form),
        ("/{formId}", ["PATCH"], patch_form),
        ("/{formId}", ["PUT"], replace_form),
        ("/{formId}", ["DELETE"], archive_form),
    ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
