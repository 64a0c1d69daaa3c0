"""LocalSpot's control plane under /localspot/v1 (SPEC Part C), authenticated by the admin key."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator
from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import admin, record_lifecycle
from localspot.errors import HubSpotError, validation_error
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.validation import whole_number

PREFIX = "/localspot/v1"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# Bounds match the columns, which PostgreSQL enforces; hub ids stay within a signed 64-bit int.
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
HubId = Annotated[StrictInt, Field(ge=1, le=2**53 - 1)]
MAX_CLOCK_STEP_DAYS = 100 * 366


class AccountCreate(_Body):
    name: Name = "LocalSpot account"
    tier: StrictStr = "enterprise"
    hub_id: HubId | None = Field(None, alias="hubId")


class AccountUpdate(_Body):
    name: Name | None = None
    tier: StrictStr | None = None


class UserCreate(_Body):
    email: Annotated[StrictStr, Field(max_length=320)]
    role: StrictStr = "user"
    # Lets the user sign in on the OAuth consent page; never echoed back.
    password: StrictStr | None = None


class PrivateAppCreate(_Body):
    name: Name = "Private app"
    scopes: list[StrictStr] = []


class PrivateAppUpdate(_Body):
    scopes: list[StrictStr]


class ClockAdvance(_Body):
    seconds: float = 0
    days: float = 0

    @model_validator(mode="after")
    def _forward_only(self) -> ClockAdvance:
        if self.seconds < 0 or self.days < 0:
            raise ValueError("the clock only moves forward")
        # Far enough for any expiry, and short of the year 9999 where datetimes end.
        if self.seconds + self.days * 86_400 > MAX_CLOCK_STEP_DAYS * 86_400:
            raise ValueError(f"the clock moves at most {MAX_CLOCK_STEP_DAYS} days at a time")
        return self


def _admin(ctx: Ctx) -> None:
    header = ctx.request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not admin.check_admin_key(ctx.runtime, key.strip()):
        raise HubSpotError(
            401,
            "INVALID_AUTHENTICATION",
            "The control plane needs the admin key printed at first start, as a Bearer token.",
        )


def _int(ctx: Ctx, name: str) -> int:
    raw = ctx.path[name]
    number = whole_number(raw)
    if number is None:
        raise validation_error(f"{name} must be a number", context={name: [raw]})
    return number


def _account(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "hubId": row["hub_id"],
        "name": row["name"],
        "tier": row["tier"],
        "createdAt": iso(row["created_at"]),
    }


def _user(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "hubId": row["hub_id"],
        "email": row["email"],
        "role": row["role"],
        "createdAt": iso(row["created_at"]),
    }


def _app(row: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "hubId": row["hub_id"],
        "name": row["name"],
        "scopes": row["scopes"],
        "tokenHint": "…" + row["token_hint"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }
    if token is not None:
        out["accessToken"] = token
    return out


def list_accounts(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON({"results": [_account(a) for a in admin.list_accounts(ctx.runtime)]})


def create_account(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(AccountCreate)
    row = admin.create_account(ctx.runtime, body.name, body.tier, body.hub_id)
    return JSON(_account(row), status_code=201)


def get_account(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON(_account(admin.get_account(ctx.runtime, _int(ctx, "hubId"))))


def update_account(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(AccountUpdate)
    row = admin.update_account(ctx.runtime, _int(ctx, "hubId"), body.name, body.tier)
    return JSON(_account(row))


def reset_account(ctx: Ctx) -> Response:
    _admin(ctx)
    admin.reset_account(ctx.runtime, _int(ctx, "hubId"))
    return no_content()


def list_users(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON({"results": [_user(u) for u in admin.list_users(ctx.runtime, _int(ctx, "hubId"))]})


def create_user(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(UserCreate)
    row = admin.create_user(ctx.runtime, _int(ctx, "hubId"), body.email, body.role, body.password)
    return JSON(_user(row), status_code=201)


def list_private_apps(ctx: Ctx) -> Response:
    _admin(ctx)
    rows = admin.list_private_apps(ctx.runtime, _int(ctx, "hubId"))
    return JSON({"results": [_app(r) for r in rows]})


def create_private_app(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(PrivateAppCreate)
    row, token = admin.create_private_app(ctx.runtime, _int(ctx, "hubId"), body.name, body.scopes)
    return JSON(_app(row, token), status_code=201)


def get_private_app(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON(_app(admin.get_private_app(ctx.runtime, _int(ctx, "appId"))))


def update_private_app(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(PrivateAppUpdate)
    return JSON(_app(admin.set_private_app_scopes(ctx.runtime, _int(ctx, "appId"), body.scopes)))


def rotate_private_app_token(ctx: Ctx) -> Response:
    _admin(ctx)
    app_id = _int(ctx, "appId")
    token = admin.rotate_private_app_token(ctx.runtime, app_id)
    return JSON(_app(admin.get_private_app(ctx.runtime, app_id), token))


def _clock(ctx: Ctx) -> Response:
    return JSON({"now": iso(ctx.clock.now()), "offsetSeconds": ctx.clock.offset})


def get_clock(ctx: Ctx) -> Response:
    _admin(ctx)
    return _clock(ctx)


def advance_clock(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(ClockAdvance)
    admin.advance_clock(ctx.runtime, body.seconds + body.days * 86_400)
    return _clock(ctx)


def reset_clock(ctx: Ctx) -> Response:
    _admin(ctx)
    admin.reset_clock(ctx.runtime)
    return _clock(ctx)


def restore_record(ctx: Ctx) -> Response:
    _admin(ctx)
    record_lifecycle.restore(
        ctx.runtime, _int(ctx, "hubId"), ctx.path["objectType"], _int(ctx, "objectId")
    )
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("/accounts", ["GET"], list_accounts),
        ("/accounts", ["POST"], create_account),
        ("/accounts/{hubId}", ["GET"], get_account),
        ("/accounts/{hubId}", ["PATCH"], update_account),
        ("/accounts/{hubId}/reset", ["POST"], reset_account),
        ("/accounts/{hubId}/users", ["GET"], list_users),
        ("/accounts/{hubId}/users", ["POST"], create_user),
        ("/accounts/{hubId}/private-apps", ["GET"], list_private_apps),
        ("/accounts/{hubId}/private-apps", ["POST"], create_private_app),
        ("/private-apps/{appId}", ["GET"], get_private_app),
        ("/private-apps/{appId}", ["PATCH"], update_private_app),
        ("/private-apps/{appId}/rotate-token", ["POST"], rotate_private_app_token),
        ("/accounts/{hubId}/objects/{objectType}/{objectId}/restore", ["POST"], restore_record),
        ("/clock", ["GET"], get_clock),
        ("/clock/advance", ["POST"], advance_clock),
        ("/clock/reset", ["POST"], reset_clock),
    ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
