"""Control plane for webhooks under /localspot/v1/webhooks: what a developer sees in HubSpot's
app settings and monitoring pages (SPEC Part C), authenticated by the admin key."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain.webhooks import outcomes
from localspot.domain.webhooks import subscriptions as subs
from localspot.errors import validation_error
from localspot.faces.control import PREFIX, _admin
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.validation import whole_number


def _number(ctx: Ctx, name: str, raw: str | None = None) -> int:
    raw = ctx.path[name] if raw is None else raw
    number = whole_number(raw)
    if number is None:
        raise validation_error(f"{name} must be a number", context={name: [raw]})
    return number


def _app(ctx: Ctx) -> subs.AppRef:
    """The path says the kind (``private-apps`` or ``public-apps``): the ids can be equal."""
    _admin(ctx)
    app_id = _number(ctx, "appId")
    if ctx.request.url.path.startswith(PREFIX + "/webhooks/public-apps/"):
        return subs.public_app_ref(ctx.runtime, app_id)
    return subs.private_app_ref(ctx.runtime, app_id)


def _page(ctx: Ctx) -> tuple[int, int]:
    limit = _number(ctx, "limit", ctx.query.get("limit", "100"))
    after = _number(ctx, "after", ctx.query.get("after", "0"))
    return limit, after


def get_secret(ctx: Ctx) -> Response:
    app = _app(ctx)
    return JSON({"appId": app.app_id, "secret": subs.get_secret(ctx.runtime, app)})


def rotate_secret(ctx: Ctx) -> Response:
    app = _app(ctx)
    return JSON({"appId": app.app_id, "secret": subs.rotate_secret(ctx.runtime, app)})


def get_settings(ctx: Ctx) -> Response:
    return JSON(subs.render_settings(subs.get_settings(ctx.runtime, _app(ctx))))


def put_settings(ctx: Ctx) -> Response:
    app = _app(ctx)
    row = subs.put_settings(ctx.runtime, app, ctx.model(subs.SettingsChange))
    return JSON(subs.render_settings(row))


def delete_settings(ctx: Ctx) -> Response:
    subs.delete_settings(ctx.runtime, _app(ctx))
    return no_content()


def list_subscriptions(ctx: Ctx) -> Response:
    rows = subs.list_subscriptions(ctx.runtime, _app(ctx))
    return JSON({"results": [subs.render_subscription(r) for r in rows]})


def create_subscription(ctx: Ctx) -> Response:
    app = _app(ctx)
    row = subs.create_subscription(ctx.runtime, app, ctx.model(subs.SubscriptionCreate))
    return JSON(subs.render_subscription(row), status_code=201)


def list_deliveries(ctx: Ctx) -> Response:
    app = _app(ctx)
    limit, after = _page(ctx)
    rows = outcomes.list_deliveries(ctx.runtime, app, limit, after)
    return JSON({"results": [outcomes.render_delivery(r) for r in rows]})


def get_delivery(ctx: Ctx) -> Response:
    _admin(ctx)
    row, events = outcomes.get_delivery(ctx.runtime, _number(ctx, "deliveryId"))
    return JSON(
        {**outcomes.render_delivery(row), "events": [outcomes.render_event(e) for e in events]}
    )


def list_events(ctx: Ctx) -> Response:
    app = _app(ctx)
    limit, after = _page(ctx)
    rows = outcomes.list_events(ctx.runtime, app, ctx.query.get("status"), limit, after)
    return JSON({"results": [outcomes.render_event(r) for r in rows]})


def routes() -> list[BaseRoute]:
    private = "/webhooks/private-apps/{appId}"
    # A public app signs with its OAuth client secret, shown at creation and rotation only
    # (/localspot/v1/public-apps/{appId}/rotate-secret): it has no secret routes here.
    table = [
        (f"{private}/secret", ["GET"], get_secret),
        (f"{private}/secret/rotate", ["POST"], rotate_secret),
        ("/webhooks/deliveries/{deliveryId}", ["GET"], get_delivery),
    ]
    for app in (private, "/webhooks/public-apps/{appId}"):
        table += [
            (f"{app}/settings", ["GET"], get_settings),
            (f"{app}/settings", ["PUT"], put_settings),
            (f"{app}/settings", ["DELETE"], delete_settings),
            (f"{app}/subscriptions", ["GET"], list_subscriptions),
            (f"{app}/subscriptions", ["POST"], create_subscription),
            (f"{app}/deliveries", ["GET"], list_deliveries),
            (f"{app}/events", ["GET"], list_events),
        ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
