"""Control plane for public apps (SPEC Part C): developer accounts, apps, scope review, installs."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr
from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import public_apps
from localspot.faces.control import PREFIX, _admin, _Body, _int
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.validation import whole_number


class DeveloperCreate(_Body):
    name: StrictStr = "Developer account"
    email: StrictStr | None = None


class PublicAppCreate(_Body):
    name: StrictStr = "Public app"
    redirect_uris: list[StrictStr] = Field(alias="redirectUris")
    required_scopes: list[StrictStr] = Field([], alias="requiredScopes")
    optional_scopes: list[StrictStr] = Field([], alias="optionalScopes")
    webhook_settings: dict[str, Any] = Field({}, alias="webhookSettings")


class PublicAppUpdate(_Body):
    name: StrictStr | None = None
    redirect_uris: list[StrictStr] | None = Field(None, alias="redirectUris")
    required_scopes: list[StrictStr] | None = Field(None, alias="requiredScopes")
    optional_scopes: list[StrictStr] | None = Field(None, alias="optionalScopes")
    webhook_settings: dict[str, Any] | None = Field(None, alias="webhookSettings")


class ReviewDecision(_Body):
    note: StrictStr | None = None


def _developer(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "createdAt": iso(row["created_at"]),
    }


def _review(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "appId": row["app_id"],
        "scope": row["scope"],
        "state": row["state"],
        "note": row["note"],
        "requestedAt": iso(row["requested_at"]),
        "decidedAt": iso(row["decided_at"]) if row["decided_at"] else None,
    }


def _app(row: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "developerId": row["developer_id"],
        "name": row["name"],
        "clientId": row["client_id"],
        "clientSecretHint": "…" + row["client_secret_hint"],
        "redirectUris": row["redirect_uris"],
        "requiredScopes": row["required_scopes"],
        "optionalScopes": row["optional_scopes"],
        "webhookSettings": row["webhook_settings"],
        "scopeReviews": [_review(r) for r in row.get("reviews", [])],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }
    if secret is not None:
        out["clientSecret"] = secret
    return out


def _install(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "appId": row["app_id"],
        "hubId": row["hub_id"],
        "userId": row["user_id"],
        "scopes": row["scopes"],
        "installedAt": iso(row["installed_at"]),
        "authorizedAt": iso(row["authorized_at"]),
    }


def list_developers(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON({"results": [_developer(d) for d in public_apps.list_developers(ctx.runtime)]})


def create_developer(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(DeveloperCreate)
    row = public_apps.create_developer(ctx.runtime, body.name, body.email)
    return JSON(_developer(row), status_code=201)


def new_developer_key(ctx: Ctx) -> Response:
    """The developer API key (``hapikey``) for the webhooks API of the developer's public apps;
    shown once, a new one replaces the old."""
    _admin(ctx)
    developer_id = _int(ctx, "developerId")
    key = public_apps.new_developer_key(ctx.runtime, developer_id)
    return JSON({"developerId": developer_id, "apiKey": key}, status_code=201)


def create_app(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(PublicAppCreate)
    row, secret = public_apps.create_app(
        ctx.runtime,
        _int(ctx, "developerId"),
        body.name,
        body.redirect_uris,
        body.required_scopes,
        body.optional_scopes,
        body.webhook_settings,
    )
    return JSON(_app(row, secret), status_code=201)


def list_apps(ctx: Ctx) -> Response:
    _admin(ctx)
    developer = ctx.query.get("developerId")
    developer_id = whole_number(developer) if developer else None
    rows = public_apps.list_apps(ctx.runtime, developer_id)
    return JSON({"results": [_app(r) for r in rows]})


def get_app(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON(_app(public_apps.get_app(ctx.runtime, _int(ctx, "appId"))))


def update_app(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(PublicAppUpdate)
    row = public_apps.update_app(
        ctx.runtime,
        _int(ctx, "appId"),
        body.name,
        body.redirect_uris,
        body.required_scopes,
        body.optional_scopes,
        body.webhook_settings,
    )
    return JSON(_app(row))


def rotate_secret(ctx: Ctx) -> Response:
    _admin(ctx)
    app_id = _int(ctx, "appId")
    secret = public_apps.rotate_secret(ctx.runtime, app_id)
    return JSON(_app(public_apps.get_app(ctx.runtime, app_id), secret))


def list_reviews(ctx: Ctx) -> Response:
    _admin(ctx)
    rows = public_apps.list_reviews(ctx.runtime, ctx.query.get("state") or None)
    return JSON({"results": [_review(r) for r in rows]})


def _decide(ctx: Ctx, approve: bool) -> Response:
    _admin(ctx)
    body = ctx.model(ReviewDecision, {}) if not ctx.body.strip() else ctx.model(ReviewDecision)
    row = public_apps.decide_review(
        ctx.runtime, _int(ctx, "appId"), ctx.path["scope"], approve, body.note
    )
    return JSON(_review(row))


def approve_scope(ctx: Ctx) -> Response:
    return _decide(ctx, True)


def deny_scope(ctx: Ctx) -> Response:
    return _decide(ctx, False)


def list_app_installs(ctx: Ctx) -> Response:
    _admin(ctx)
    rows = public_apps.list_installs(ctx.runtime, app_id=_int(ctx, "appId"))
    return JSON({"results": [_install(r) for r in rows]})


def list_account_installs(ctx: Ctx) -> Response:
    _admin(ctx)
    rows = public_apps.list_installs(ctx.runtime, hub_id=_int(ctx, "hubId"))
    return JSON({"results": [_install(r) for r in rows]})


def uninstall(ctx: Ctx) -> Response:
    _admin(ctx)
    public_apps.uninstall(ctx.runtime, _int(ctx, "appId"), _int(ctx, "hubId"))
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("/developers", ["GET"], list_developers),
        ("/developers", ["POST"], create_developer),
        ("/developers/{developerId}/apps", ["POST"], create_app),
        ("/developers/{developerId}/api-key", ["POST"], new_developer_key),
        ("/public-apps", ["GET"], list_apps),
        ("/public-apps/{appId}", ["GET"], get_app),
        ("/public-apps/{appId}", ["PATCH"], update_app),
        ("/public-apps/{appId}/rotate-secret", ["POST"], rotate_secret),
        ("/scope-reviews", ["GET"], list_reviews),
        ("/public-apps/{appId}/scope-reviews/{scope}/approve", ["POST"], approve_scope),
        ("/public-apps/{appId}/scope-reviews/{scope}/deny", ["POST"], deny_scope),
        ("/public-apps/{appId}/installs", ["GET"], list_app_installs),
        ("/public-apps/{appId}/installs/{hubId}", ["DELETE"], uninstall),
        ("/accounts/{hubId}/installs", ["GET"], list_account_installs),
    ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
