"""Developer accounts, public apps, the review of sensitive scopes, and installs.

A public app asks for scopes; each sensitive or highly sensitive one opens a review that a
reviewer approves or denies, and only approved ones may be asked for at authorization. An
install keeps the scopes its last (re)authorization granted: an app whose scopes grow leaves
existing installs as they were, and a sensitive scope that is denied or no longer listed leaves
them for good (``oauth_grants``; SPEC §1.2, §8.2, Part C).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from localspot import scopes as sc
from localspot.domain import oauth_grants
from localspot.domain.accounts import get_account, hash_secret
from localspot.domain.webhooks.events import discard_pending
from localspot.errors import HubSpotError, not_found, validation_error
from localspot.protection.keyring import KeyringError
from localspot.protection.values import Protector, ValueRef
from localspot.runtime import Runtime
from localspot.store.schema import (
    app_installs,
    developer_accounts,
    developer_api_keys,
    public_apps,
    scope_reviews,
)

REVIEW_STATES = ("pending", "approved", "denied")


def new_client_secret() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def client_secret_ref(app_id: int) -> ValueRef:
    # Binds the ciphertext to this app: a sealed secret copied to another app fails to open.
    return ValueRef(0, "public_app", app_id, "client_secret")


def _secret_columns(rt: Runtime, app_id: int, secret: str) -> dict[str, Any]:
    """The token endpoint checks the hash; webhook signing needs the secret, kept sealed."""
    return {
        "client_secret_hash": hash_secret(secret),
        "client_secret_hint": secret[-4:],
        "client_secret_ct": rt.protector.seal(client_secret_ref(app_id), secret),
    }


class NoSigningSecret(Exception):
    """A public app whose client secret cannot be read back; the message holds no secret."""


def signing_secret(conn: Connection, protector: Protector, app_id: int) -> str:
    """The client secret a public app's webhook deliveries are signed with."""
    sealed = conn.scalar(select(public_apps.c.client_secret_ct).where(public_apps.c.id == app_id))
    if sealed is None:
        raise NoSigningSecret(
            f"Public app {app_id} has no stored client secret to sign with (made before "
            "LocalSpot kept one); rotate its client secret."
        )
    try:
        return protector.open(client_secret_ref(app_id), bytes(sealed))
    except KeyringError:
        raise NoSigningSecret(
            f"The stored client secret of public app {app_id} cannot be opened with this "
            "keyring; rotate its client secret."
        ) from None


# Developer accounts ---------------------------------------------------------------------------


def create_developer(rt: Runtime, name: str, email: str | None) -> dict[str, Any]:
    row = {"name": name, "email": email, "created_at": rt.clock.now()}
    with rt.store.write() as conn:
        dev_id = conn.execute(insert(developer_accounts).values(row)).inserted_primary_key[0]
    return {"id": dev_id, **row}


def list_developers(rt: Runtime) -> list[dict[str, Any]]:
    with rt.store.read() as conn:
        query = select(developer_accounts).order_by(developer_accounts.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def _developer(conn: Connection, dev_id: int) -> dict[str, Any]:
    query = select(developer_accounts).where(developer_accounts.c.id == dev_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise not_found(f"No developer account with id {dev_id}.")
    return dict(row)


def new_developer_key(rt: Runtime, dev_id: int) -> str:
    """A new developer API key (HubSpot's developer ``hapikey``), replacing any earlier one.
    Shown here only: the store keeps its hash."""
    key = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
    keys = developer_api_keys
    with rt.store.write() as conn:
        _developer(conn, dev_id)
        conn.execute(delete(keys).where(keys.c.developer_id == dev_id))
        conn.execute(
            insert(keys).values(
                developer_id=dev_id,
                key_hash=hash_secret(key),
                key_hint=key[-4:],
                created_at=rt.clock.now(),
            )
        )
    return key


def developer_by_key(conn: Connection, key: str) -> int | None:
    keys = developer_api_keys
    found = conn.scalar(select(keys.c.developer_id).where(keys.c.key_hash == hash_secret(key)))
    return int(found) if found is not None else None


# Public apps ----------------------------------------------------------------------------------


def _check_scopes(field: str, scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if sc.canonical(s) not in sc.KNOWN_SCOPES]
    if unknown:
        raise validation_error(f"Unknown {field}: {', '.join(unknown)}", context={field: unknown})
    return list(dict.fromkeys(scopes))


def _check_redirect_uris(uris: list[str]) -> list[str]:
    if not uris:
        raise validation_error("A public app needs at least one redirect URI.")
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise validation_error(
                "Redirect URIs must be absolute http(s) URLs without a fragment.",
                context={"redirectUris": [uri]},
            )
    return list(dict.fromkeys(uris))


def _check_scope_sets(required: list[str], optional: list[str]) -> None:
    both = sc.canonical_set(required) & sc.canonical_set(optional)
    if both:
        raise validation_error(
            "A scope cannot be both required and optional.", context={"scopes": sorted(both)}
        )


def create_app(
    rt: Runtime,
    developer_id: int,
    name: str,
    redirect_uris: list[str],
    required_scopes: list[str],
    optional_scopes: list[str],
    webhook_settings: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """A public app and its client secret; the secret is shown here and at rotation only."""
    required = _check_scopes("requiredScopes", required_scopes)
    optional = _check_scopes("optionalScopes", optional_scopes)
    _check_scope_sets(required, optional)
    uris = _check_redirect_uris(redirect_uris)
    secret = new_client_secret()
    now = rt.clock.now()
    row = {
        "developer_id": developer_id,
        "name": name,
        "client_id": str(uuid.uuid4()),
        "client_secret_hash": hash_secret(secret),
        "client_secret_hint": secret[-4:],
        "redirect_uris": uris,
        "required_scopes": required,
        "optional_scopes": optional,
        "webhook_settings": webhook_settings or {},
        "created_at": now,
        "updated_at": now,
    }
    with rt.store.write() as conn:
        _developer(conn, developer_id)
        app_id = conn.execute(insert(public_apps).values(row)).inserted_primary_key[0]
        # The id is part of what the sealed secret is bound to, so it is sealed after insert.
        conn.execute(
            update(public_apps)
            .where(public_apps.c.id == app_id)
            .values(_secret_columns(rt, app_id, secret))
        )
        _open_reviews(conn, now, app_id, required + optional)
        return _with_reviews(conn, get_app_row(conn, app_id)), secret


def update_app(
    rt: Runtime,
    app_id: int,
    name: str | None = None,
    redirect_uris: list[str] | None = None,
    required_scopes: list[str] | None = None,
    optional_scopes: list[str] | None = None,
    webhook_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Edits an app. New sensitive scopes go to review; existing installs keep their grant,
    less any sensitive scope the app no longer lists."""
    now = rt.clock.now()
    with rt.store.write() as conn:
        app = get_app_row(conn, app_id, hold=True)
        changes: dict[str, Any] = {"updated_at": now}
        if name is not None:
            changes["name"] = name
        if redirect_uris is not None:
            changes["redirect_uris"] = _check_redirect_uris(redirect_uris)
        if required_scopes is not None:
            changes["required_scopes"] = _check_scopes("requiredScopes", required_scopes)
        if optional_scopes is not None:
            changes["optional_scopes"] = _check_scopes("optionalScopes", optional_scopes)
        if webhook_settings is not None:
            changes["webhook_settings"] = webhook_settings
        required = changes.get("required_scopes", app["required_scopes"])
        optional = changes.get("optional_scopes", app["optional_scopes"])
        _check_scope_sets(required, optional)
        conn.execute(update(public_apps).where(public_apps.c.id == app_id).values(changes))
        _open_reviews(conn, now, app_id, required + optional)
        standing = oauth_grants.standing_scopes(required + optional, approved_scopes(conn, app_id))
        oauth_grants.withdraw(conn, app_id, standing, now)
        return _with_reviews(conn, get_app_row(conn, app_id))


def rotate_secret(rt: Runtime, app_id: int) -> str:
    secret = new_client_secret()
    with rt.store.write() as conn:
        get_app_row(conn, app_id)
        conn.execute(
            update(public_apps)
            .where(public_apps.c.id == app_id)
            .values(updated_at=rt.clock.now(), **_secret_columns(rt, app_id, secret))
        )
    return secret


def get_app_row(conn: Connection, app_id: int, hold: bool = False) -> dict[str, Any]:
    """The app's row; ``hold`` locks it for the transaction, as withdrawing a scope needs
    (see ``hold_app``)."""
    query = select(public_apps).where(public_apps.c.id == app_id)
    if hold:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise not_found(f"No public app with id {app_id}.")
    return dict(row)


def app_by_client_id(conn: Connection, client_id: str) -> dict[str, Any] | None:
    if "\x00" in client_id:
        return None  # no client id holds one, and PostgreSQL refuses it as a parameter
    query = select(public_apps).where(public_apps.c.client_id == client_id)
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def hold_app(conn: Connection, app_id: int) -> None:
    """A shared lock on the app's row until the transaction ends, taken by whatever mints a
    grant (consent, code exchange, refresh). Withdrawing a scope locks the row exclusively,
    so on PostgreSQL the two run one after the other, and a grant minted from a review state
    read before a denial cannot be saved after the denial stripped the others. (SQLite's
    writers are serial already; SQLAlchemy leaves the clause out there.)"""
    query = select(public_apps.c.id).where(public_apps.c.id == app_id)
    conn.execute(query.with_for_update(read=True))


def get_app(rt: Runtime, app_id: int) -> dict[str, Any]:
    with rt.store.read() as conn:
        return _with_reviews(conn, get_app_row(conn, app_id))


def list_apps(rt: Runtime, developer_id: int | None = None) -> list[dict[str, Any]]:
    query = select(public_apps).order_by(public_apps.c.id)
    if developer_id is not None:
        query = query.where(public_apps.c.developer_id == developer_id)
    with rt.store.read() as conn:
        return [_with_reviews(conn, dict(r)) for r in conn.execute(query).mappings()]


def _with_reviews(conn: Connection, app: dict[str, Any]) -> dict[str, Any]:
    return {**app, "reviews": _reviews(conn, app_id=app["id"])}


# Scope review ---------------------------------------------------------------------------------


def _open_reviews(conn: Connection, now: datetime, app_id: int, scopes: list[str]) -> None:
    """A pending review for each sensitive scope that has none yet; decided ones stand."""
    asked = {sc.canonical(s) for s in scopes if sc.is_sensitive_scope(s)}
    known = set(conn.scalars(select(scope_reviews.c.scope).where(scope_reviews.c.app_id == app_id)))
    for scope in sorted(asked - known):
        conn.execute(
            insert(scope_reviews).values(
                app_id=app_id, scope=scope, state="pending", requested_at=now
            )
        )


def _reviews(
    conn: Connection, app_id: int | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    query = select(scope_reviews).order_by(scope_reviews.c.id)
    if app_id is not None:
        query = query.where(scope_reviews.c.app_id == app_id)
    if state is not None:
        query = query.where(scope_reviews.c.state == state)
    return [dict(r) for r in conn.execute(query).mappings()]


def list_reviews(rt: Runtime, state: str | None = None) -> list[dict[str, Any]]:
    if state is not None and state not in REVIEW_STATES:
        raise validation_error(f"state must be one of {', '.join(REVIEW_STATES)}")
    with rt.store.read() as conn:
        return _reviews(conn, state=state)


def decide_review(
    rt: Runtime, app_id: int, scope: str, approve: bool, note: str | None = None
) -> dict[str, Any]:
    """A reviewer's decision on one sensitive scope of one app. A denial takes the scope from
    every install of the app at once; a later approval does not give it back."""
    now = rt.clock.now()
    with rt.store.write() as conn:
        app = get_app_row(conn, app_id, hold=True)
        where = (scope_reviews.c.app_id == app_id) & (scope_reviews.c.scope == sc.canonical(scope))
        if conn.scalar(select(scope_reviews.c.id).where(where)) is None:
            raise not_found(f"App {app_id} has not asked for {scope}.")
        conn.execute(
            update(scope_reviews)
            .where(where)
            .values(state="approved" if approve else "denied", note=note, decided_at=now)
        )
        if not approve:
            listed = app["required_scopes"] + app["optional_scopes"]
            standing = oauth_grants.standing_scopes(listed, approved_scopes(conn, app_id))
            oauth_grants.withdraw(conn, app_id, standing, now)
        return dict(conn.execute(select(scope_reviews).where(where)).mappings().one())


def approved_scopes(conn: Connection, app_id: int) -> set[str]:
    query = select(scope_reviews.c.scope).where(
        scope_reviews.c.app_id == app_id, scope_reviews.c.state == "approved"
    )
    return set(conn.scalars(query))


# Installs -------------------------------------------------------------------------------------


def get_install(conn: Connection, app_id: int, hub_id: int) -> dict[str, Any] | None:
    query = select(app_installs).where(
        app_installs.c.app_id == app_id, app_installs.c.hub_id == hub_id
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def record_install(
    conn: Connection, now: datetime, app_id: int, hub_id: int, user_id: int, scopes: list[str]
) -> int:
    """Installs the app, or replaces an install's grant on re-authorization."""
    existing = get_install(conn, app_id, hub_id)
    if existing is None:
        row = {
            "app_id": app_id,
            "hub_id": hub_id,
            "user_id": user_id,
            "scopes": scopes,
            "installed_at": now,
            "authorized_at": now,
        }
        return int(conn.execute(insert(app_installs).values(row)).inserted_primary_key[0])
    conn.execute(
        update(app_installs)
        .where(app_installs.c.id == existing["id"])
        .values(scopes=scopes, user_id=user_id, authorized_at=now)
    )
    return int(existing["id"])


def list_installs(
    rt: Runtime, app_id: int | None = None, hub_id: int | None = None
) -> list[dict[str, Any]]:
    query = select(app_installs).order_by(app_installs.c.id)
    if app_id is not None:
        query = query.where(app_installs.c.app_id == app_id)
    if hub_id is not None:
        query = query.where(app_installs.c.hub_id == hub_id)
    with rt.store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def uninstall(rt: Runtime, app_id: int, hub_id: int) -> None:
    """Removes the install; its access and refresh tokens go with it."""
    with rt.store.write() as conn:
        get_app_row(conn, app_id)
        get_account(conn, hub_id)
        done = conn.execute(
            delete(app_installs).where(
                app_installs.c.app_id == app_id, app_installs.c.hub_id == hub_id
            )
        )
        if done.rowcount == 0:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", f"App {app_id} is not installed in account {hub_id}."
            )
        # No more webhooks from that account: events still waiting are not sent either.
        discard_pending(conn, "public", app_id, hub_id, rt.clock.millis())
