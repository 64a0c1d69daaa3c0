"""Webhooks management API v3 (SPEC §5.1), at /webhooks/v3/{appId} and /webhooks/<date>/{appId}.

Callers: a private app with its own Bearer token; a developer account's API key as
``?hapikey=`` (what hubspot-api-client's webhooks API sends) for that developer's public apps; or
the control plane's admin key as ``?hapikey=``, for private apps, or public ones with
``appKind=public``. ``subscriptions.authorize`` decides; the kind comes from the credential
because private and public app ids can be equal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain.webhooks import subscriptions as subs
from localspot.errors import HubSpotError, validation_error
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.validation import whole_number

PREFIXES = ("/webhooks/v3/{appId}", "/webhooks/{version:apiversion}/{appId}")


def _number(ctx: Ctx, name: str) -> int:
    raw = ctx.path[name]
    number = whole_number(raw)
    if number is None:
        raise validation_error(f"{name} must be a number", context={name: [raw]})
    return number


def _app(ctx: Ctx) -> subs.AppRef:
    app_id = _number(ctx, "appId")
    developer_key = ctx.query.get("hapikey")
    caller = None if developer_key is not None else ctx.caller()
    app_kind = ctx.query.get("appKind")
    return subs.authorize(ctx.runtime, app_id, caller, developer_key, app_kind)


def get_settings(ctx: Ctx) -> Response:
    return JSON(subs.render_settings(subs.get_settings(ctx.runtime, _app(ctx))))


def put_settings(ctx: Ctx) -> Response:
    app = _app(ctx)
    body = ctx.model(subs.SettingsChange)
    return JSON(subs.render_settings(subs.put_settings(ctx.runtime, app, body)))


def delete_settings(ctx: Ctx) -> Response:
    subs.delete_settings(ctx.runtime, _app(ctx))
    return no_content()


def list_subscriptions(ctx: Ctx) -> Response:
    rows = subs.list_subscriptions(ctx.runtime, _app(ctx))
    return JSON({"results": [subs.render_subscription(r) for r in rows]})


def create_subscription(ctx: Ctx) -> Response:
    app = _app(ctx)
    body = ctx.model(subs.SubscriptionCreate)
    row = subs.create_subscription(ctx.runtime, app, body)
    return JSON(subs.render_subscription(row), status_code=201)


def get_subscription(ctx: Ctx) -> Response:
    row = subs.get_subscription(ctx.runtime, _app(ctx), _number(ctx, "subscriptionId"))
    return JSON(subs.render_subscription(row))


def patch_subscription(ctx: Ctx) -> Response:
    app = _app(ctx)
    body = ctx.model(subs.SubscriptionPatch)
    row = subs.set_active(ctx.runtime, app, _number(ctx, "subscriptionId"), body.active)
    return JSON(subs.render_subscription(row))


def delete_subscription(ctx: Ctx) -> Response:
    subs.delete_subscription(ctx.runtime, _app(ctx), _number(ctx, "subscriptionId"))
    return no_content()


def batch_update(ctx: Ctx) -> Response:
    app = _app(ctx)
    started = ctx.clock.now()
    raw = ctx.json_object().get("inputs")
    if not isinstance(raw, list):
        raise validation_error(
            "Invalid input JSON: inputs must be a list",
            errors=[{"message": "inputs is required", "code": "REQUIRED", "in": "inputs"}],
        )
    if len(raw) > 100:
        raise validation_error("Batch requests are limited to 100 inputs")
    inputs = [ctx.model(subs.BatchUpdateInput, item) for item in raw]
    results, errors = subs.batch_update(ctx.runtime, app, inputs)
    body = _batch_body(results, errors, started, ctx.clock.now())
    return JSON(body, status_code=207 if errors else 200)


def _batch_body(
    results: list[Any], errors: list[HubSpotError], started: datetime, done: datetime
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": [subs.render_subscription(r) for r in results],
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = [e.as_batch_error() for e in errors]
    body["startedAt"] = iso(started)
    body["completedAt"] = iso(done)
    return body


def routes() -> list[BaseRoute]:
    table = [
        ("/settings", ["GET"], get_settings),
        ("/settings", ["PUT"], put_settings),
        ("/settings", ["DELETE"], delete_settings),
        ("/subscriptions", ["GET"], list_subscriptions),
        ("/subscriptions", ["POST"], create_subscription),
        ("/subscriptions/batch/update", ["POST"], batch_update),
        ("/subscriptions/{subscriptionId}", ["GET"], get_subscription),
        ("/subscriptions/{subscriptionId}", ["PATCH"], patch_subscription),
        ("/subscriptions/{subscriptionId}", ["DELETE"], delete_subscription),
    ]
    return [route(prefix + path, methods, fn) for prefix in PREFIXES for path, methods, fn in table]
