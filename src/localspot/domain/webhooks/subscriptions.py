"""Webhook settings and subscriptions of an app (SPEC §5.1, Part B7)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy import Connection, delete, func, insert, select, update

from localspot import policy
from localspot.clock import iso
from localspot.domain import accounts, object_types, property_lookup, public_apps
from localspot.errors import HubSpotError, forbidden, not_found, validation_error
from localspot.policy import Caller
from localspot.protection.values import Protector
from localspot.runtime import Runtime
from localspot.store.schema import webhook_app_secrets, webhook_settings, webhook_subscriptions
from localspot.validation import WholeNumberInput

from . import event_types as et

PRIVATE = "private"
PUBLIC = "public"
APP_KINDS = (PRIVATE, PUBLIC)
MIN_CONCURRENT_REQUESTS = 5


@dataclass(frozen=True)
class AppRef:
    """An app whose webhooks are managed: its kind ("private" or "public"), id and, for private
    apps, its account."""

    kind: str
    app_id: int
    hub_id: int | None = None


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Throttling(Input):
    max_concurrent_requests: StrictInt = Field(alias="maxConcurrentRequests")
    period: Literal["SECONDLY", "ROLLING_MINUTE"] | None = None


class SettingsChange(Input):
    target_url: StrictStr = Field(alias="targetUrl")
    throttling: Throttling


class SubscriptionCreate(Input):
    event_type: StrictStr = Field(alias="eventType")
    property_name: StrictStr | None = Field(None, alias="propertyName")
    active: StrictBool = False
    object_type_id: StrictStr | None = Field(None, alias="objectTypeId")
    event_type_name: StrictStr | None = Field(None, alias="eventTypeName")


class SubscriptionPatch(Input):
    active: StrictBool


class BatchUpdateInput(Input):
    # GET /subscriptions renders ids as strings; HubSpot's schema says integer.
    id: WholeNumberInput
    active: StrictBool


# Who may manage an app's webhooks ---------------------------------------------------------------


def authorize(
    rt: Runtime,
    app_id: int,
    caller: Caller | None,
    developer_key: str | None,
    app_kind: str | None = None,
) -> AppRef:
    """Which app ``app_id`` names, once the caller is known to be allowed to manage it.

    Private and public app ids share one number space, so the credential decides the kind: a
    private app's Bearer token names that private app; a developer API key (``hapikey``) names
    one of its developer's public apps; the admin key as ``hapikey`` names a private app unless
    ``appKind=public`` asks for the public one. An OAuth access token belongs to an install in a
    customer's account, not to the app's developer, and manages nothing here.
    """
    if app_kind is not None and app_kind not in APP_KINDS:
        raise validation_error(
            f"appKind must be one of {', '.join(APP_KINDS)}", context={"appKind": [app_kind]}
        )
    with rt.store.read() as conn:
        if developer_key is not None:
            if accounts.check_admin_key(conn, developer_key):
                if app_kind == PUBLIC:
                    return _public_app(conn, app_id)
                return _private_app(conn, app_id)
            developer_id = public_apps.developer_by_key(conn, developer_key)
            if developer_id is None:
                raise HubSpotError(
                    401, "INVALID_AUTHENTICATION", "The developer API key (hapikey) is not valid."
                )
            if app_kind == PRIVATE:
                raise forbidden("A developer API key manages its developer's public apps only.")
            return _public_app(conn, app_id, developer_id)
        assert caller is not None
        if caller.token_id is None or not caller.token_id.startswith("pat:"):
            raise forbidden("Only the app itself or its developer can manage its webhooks.")
        if app_kind == PUBLIC:
            raise forbidden("A private app's token manages that private app's webhooks only.")
        if caller.app_id != app_id:
            raise forbidden(f"This token belongs to another app and cannot manage app {app_id}.")
        return _private_app(conn, app_id)


def private_app_ref(rt: Runtime, app_id: int) -> AppRef:
    with rt.store.read() as conn:
        return _private_app(conn, app_id)


def public_app_ref(rt: Runtime, app_id: int) -> AppRef:
    with rt.store.read() as conn:
        return _public_app(conn, app_id)


def _private_app(conn: Connection, app_id: int) -> AppRef:
    try:
        app = accounts.get_private_app(conn, app_id)
    except HubSpotError:
        raise not_found(f"No app with id {app_id}.") from None
    return AppRef(PRIVATE, app_id, app["hub_id"])


def _public_app(conn: Connection, app_id: int, developer_id: int | None = None) -> AppRef:
    """A public app, of ``developer_id`` if given: another developer's app is not found, so
    that a key learns nothing about apps it does not own."""
    try:
        app = public_apps.get_app_row(conn, app_id)
    except HubSpotError:
        app = None
    if app is None or (developer_id is not None and app["developer_id"] != developer_id):
        raise not_found(f"No app with id {app_id}.")
    # Installed in many accounts, so no single account: hub_id stays None.
    return AppRef(PUBLIC, app_id)


# The signing secret ---------------------------------------------------------------------------


def app_secret(conn: Connection, protector: Protector, app: AppRef, now: Any) -> str:
    """The secret deliveries are signed with: a public app's OAuth client secret (raises
    ``public_apps.NoSigningSecret`` when none is kept); private apps get one made on first use."""
    if app.kind == PUBLIC:
        return public_apps.signing_secret(conn, protector, app.app_id)
    table = webhook_app_secrets
    where = (table.c.app_kind == app.kind, table.c.app_id == app.app_id)
    secret = conn.scalar(select(table.c.secret).where(*where))
    if secret is None:
        secret = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
        conn.execute(
            insert(table).values(
                app_kind=app.kind, app_id=app.app_id, secret=secret, created_at=now
            )
        )
    return str(secret)


def get_secret(rt: Runtime, app: AppRef) -> str:
    """A private app's signing secret (a public app's is its client secret, shown once)."""
    _check_private(app)
    with rt.store.write() as conn:
        return app_secret(conn, rt.protector, app, rt.clock.now())


def rotate_secret(rt: Runtime, app: AppRef) -> str:
    _check_private(app)
    table = webhook_app_secrets
    with rt.store.write() as conn:
        conn.execute(
            delete(table).where(table.c.app_kind == app.kind, table.c.app_id == app.app_id)
        )
        return app_secret(conn, rt.protector, app, rt.clock.now())


def _check_private(app: AppRef) -> None:
    if app.kind != PRIVATE:
        raise validation_error("A public app signs with its client secret; rotate that instead.")


# Settings -------------------------------------------------------------------------------------


def _settings_where(app: AppRef) -> Any:
    return (webhook_settings.c.app_kind == app.kind) & (webhook_settings.c.app_id == app.app_id)


def _find_settings(conn: Connection, app: AppRef) -> Any:
    return conn.execute(select(webhook_settings).where(_settings_where(app))).first()


def get_settings(rt: Runtime, app: AppRef) -> Any:
    with rt.store.read() as conn:
        row = _find_settings(conn, app)
    if row is None:
        raise not_found(f"No webhook settings for app {app.app_id}.")
    return row


def put_settings(rt: Runtime, app: AppRef, body: SettingsChange) -> Any:
    _check_target_url(body.target_url)
    if body.throttling.max_concurrent_requests < MIN_CONCURRENT_REQUESTS:
        raise validation_error(
            f"maxConcurrentRequests must be at least {MIN_CONCURRENT_REQUESTS}",
            context={"maxConcurrentRequests": [str(body.throttling.max_concurrent_requests)]},
        )
    values = {
        "target_url": body.target_url,
        "max_concurrent_requests": body.throttling.max_concurrent_requests,
        "period": body.throttling.period,
    }
    with rt.store.write() as conn:
        now = rt.clock.now()
        if _find_settings(conn, app) is None:
            conn.execute(
                insert(webhook_settings).values(
                    app_kind=app.kind, app_id=app.app_id, created_at=now, updated_at=now, **values
                )
            )
        else:
            conn.execute(
                update(webhook_settings)
                .where(_settings_where(app))
                .values(updated_at=now, **values)
            )
        if app.kind == PRIVATE:
            app_secret(conn, rt.protector, app, now)
        return _find_settings(conn, app)


def delete_settings(rt: Runtime, app: AppRef) -> None:
    """Subscriptions stay, paused until a target URL is set again."""
    with rt.store.write() as conn:
        if _find_settings(conn, app) is None:
            raise not_found(f"No webhook settings for app {app.app_id}.")
        conn.execute(delete(webhook_settings).where(_settings_where(app)))


def _check_target_url(url: str) -> None:
    # HubSpot requires HTTPS; LocalSpot also takes http so that receivers on localhost work.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise validation_error(
            "targetUrl must be an absolute http or https URL", context={"targetUrl": [url]}
        )


def render_settings(row: Any) -> dict[str, Any]:
    throttling: dict[str, Any] = {"maxConcurrentRequests": row.max_concurrent_requests}
    if row.period:
        throttling["period"] = row.period
    return {
        "targetUrl": row.target_url,
        "throttling": throttling,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


# Subscriptions --------------------------------------------------------------------------------


class SubscriptionLimitReached(HubSpotError):
    """HubSpot answers this one with a bare body: no category, and a requestId."""

    def body(self, correlation_id: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "requestId": str(uuid.uuid4()),
        }


def _subs_where(app: AppRef) -> Any:
    subs = webhook_subscriptions.c
    return (subs.app_kind == app.kind) & (subs.app_id == app.app_id)


def list_subscriptions(rt: Runtime, app: AppRef) -> list[Any]:
    query = select(webhook_subscriptions).where(_subs_where(app))
    with rt.store.read() as conn:
        return list(conn.execute(query.order_by(webhook_subscriptions.c.id)))


def _find(conn: Connection, app: AppRef, subscription_id: int) -> Any:
    row = conn.execute(
        select(webhook_subscriptions).where(
            _subs_where(app), webhook_subscriptions.c.id == subscription_id
        )
    ).first()
    if row is None:
        raise not_found(f"No subscription {subscription_id} for app {app.app_id}.")
    return row


def get_subscription(rt: Runtime, app: AppRef, subscription_id: int) -> Any:
    with rt.store.read() as conn:
        return _find(conn, app, subscription_id)


def create_subscription(rt: Runtime, app: AppRef, body: SubscriptionCreate) -> Any:
    event_type, kind, type_id = _check_subscription(body)
    limit = rt.settings.webhook_max_subscriptions
    with rt.store.write() as conn:
        # A public app has no single account whose properties could be checked; events of a
        # highly sensitive property are dropped for it at emit time instead (events._screen).
        if type_id is not None and app.hub_id is not None:
            _check_object_type(conn, app.hub_id, type_id, body.property_name)
        count = conn.scalar(
            select(func.count()).select_from(webhook_subscriptions).where(_subs_where(app))
        )
        if (count or 0) >= limit:
            raise SubscriptionLimitReached(
                400,
                "VALIDATION_ERROR",
                "Couldn't create another subscription. You've reached the maximum number "
                f"allowed per application ({limit}).",
            )
        now = rt.clock.now()
        new_id = conn.execute(
            insert(webhook_subscriptions).values(
                app_kind=app.kind,
                app_id=app.app_id,
                event_type=event_type,
                kind=kind,
                match_type_id=type_id,
                object_type_id=body.object_type_id
                if et.split(event_type)[0] == et.GENERIC
                else None,
                property_name=body.property_name,
                event_type_name=body.event_type_name,
                active=body.active,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        return _find(conn, app, int(new_id))


def _check_subscription(body: SubscriptionCreate) -> tuple[str, str, str | None]:
    event_type = body.event_type
    if event_type not in et.EVENT_TYPES:
        raise validation_error(
            f"eventType {event_type} is not a valid webhook event type",
            context={"eventType": [event_type]},
        )
    obj, kind = et.split(event_type)
    if obj == et.GENERIC:
        if body.object_type_id is None:
            raise validation_error(f"objectTypeId is required for {event_type} subscriptions")
        if not et.OBJECT_TYPE_ID.match(body.object_type_id):
            raise validation_error(
                "objectTypeId must be an object type id such as 0-1 or 2-12345",
                context={"objectTypeId": [body.object_type_id]},
            )
    if kind == "propertyChange":
        if not body.property_name:
            raise validation_error(f"propertyName is required for {event_type} subscriptions")
        if body.property_name in et.UNSUBSCRIBABLE:
            raise validation_error(
                f"Subscriptions to {body.property_name} are not allowed",
                context={"propertyName": [body.property_name]},
            )
    elif body.property_name is not None:
        raise validation_error("propertyName is only allowed on propertyChange subscriptions")
    return event_type, kind, et.match_type_id(event_type, body.object_type_id)


def _check_object_type(conn: Connection, hub_id: int, type_id: str, name: str | None) -> None:
    """For an app of one account: an object type it does not have is refused. A property it
    lacks is fine (no events until it exists); a highly sensitive one is refused (B7), and a
    sensitive one of a custom object (``policy.check_webhook_subscription``)."""
    try:
        object_type = object_types.resolve(conn, hub_id, type_id)
    except HubSpotError:
        raise validation_error(
            f"objectTypeId {type_id} is not an object type of this account",
            context={"objectTypeId": [type_id]},
        ) from None
    if name is None:
        return
    found = property_lookup.definitions_by_name(conn, hub_id, object_type, [name])
    if name in found:
        policy.check_webhook_subscription(object_type.id, name, found[name].data_sensitivity)


def set_active(rt: Runtime, app: AppRef, subscription_id: int, active: bool) -> Any:
    with rt.store.write() as conn:
        _find(conn, app, subscription_id)
        _set_active(conn, rt, subscription_id, active)
        return _find(conn, app, subscription_id)


def _set_active(conn: Connection, rt: Runtime, subscription_id: int, active: bool) -> None:
    conn.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(active=active, updated_at=rt.clock.now())
    )


def delete_subscription(rt: Runtime, app: AppRef, subscription_id: int) -> None:
    with rt.store.write() as conn:
        _find(conn, app, subscription_id)
        conn.execute(
            delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        )


def batch_update(
    rt: Runtime, app: AppRef, inputs: list[BatchUpdateInput]
) -> tuple[list[Any], list[HubSpotError]]:
    """Each input is its own unit (HubSpot's multi-status): unknown ids fail alone."""
    results: list[Any] = []
    errors: list[HubSpotError] = []
    with rt.store.write() as conn:
        for item in inputs:
            try:
                _find(conn, app, item.id)
            except HubSpotError as exc:
                exc.context = {"ids": [str(item.id)]}
                errors.append(exc)
                continue
            _set_active(conn, rt, item.id, item.active)
            results.append(_find(conn, app, item.id))
    return results, errors


def render_subscription(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(row.id), "eventType": row.event_type}
    if row.property_name is not None:
        out["propertyName"] = row.property_name
    if row.object_type_id is not None:
        out["objectTypeId"] = row.object_type_id
    if row.event_type_name is not None:
        out["eventTypeName"] = row.event_type_name
    out["active"] = row.active
    out["createdAt"] = iso(row.created_at)
    out["updatedAt"] = iso(row.updated_at)
    return out
