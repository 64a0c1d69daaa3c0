"""OAuth access and refresh tokens: issue, look up, revoke, and turn into a caller.

Tokens are random and stored as sha256 hashes only. An access token carries the grant as it
stood when it was issued, less any sensitive scope withdrawn since (``oauth_grants``), and lives
1,800 s on the server clock; a refresh token lives until it is revoked or the app is
uninstalled, and mints the install's grant as it stands (SPEC §8.2, Part B15).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from localspot import scopes as sc
from localspot.clock import iso
from localspot.errors import HubSpotError, expired_authentication
from localspot.policy import Caller
from localspot.store.schema import (
    accounts,
    app_installs,
    oauth_access_tokens,
    oauth_refresh_tokens,
    public_apps,
    users,
)

ACCESS_TOKEN_SECONDS = 1800
HUB_DOMAIN = "localspot.test"
# Every LocalSpot account lives in one data centre; refresh tokens carry the same prefix.
HUBLET = "na1"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_access_token() -> str:
    # HubSpot's access tokens are opaque base64-like strings; never the private app prefix.
    return "C" + secrets.token_urlsafe(48)


def new_refresh_token() -> str:
    return f"na1-{uuid.UUID(bytes=secrets.token_bytes(16), version=4)}"


def save_access_token(
    conn: Connection,
    now: datetime,
    token: str,
    install_id: int,
    user_id: int | None,
    scopes: list[str],
) -> None:
    conn.execute(
        insert(oauth_access_tokens).values(
            token_hash=digest(token),
            install_id=install_id,
            user_id=user_id,
            scopes=scopes,
            created_at=now,
            expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
    )


def save_refresh_token(
    conn: Connection, now: datetime, token: str, install_id: int, user_id: int | None
) -> None:
    conn.execute(
        insert(oauth_refresh_tokens).values(
            token_hash=digest(token), install_id=install_id, user_id=user_id, created_at=now
        )
    )


def _install_columns() -> list[Any]:
    return [
        app_installs.c.id.label("install_id"),
        app_installs.c.hub_id,
        app_installs.c.scopes.label("install_scopes"),
        app_installs.c.user_id.label("installing_user_id"),
        public_apps.c.id.label("app_id"),
        public_apps.c.client_id,
        accounts.c.tier,
        users.c.email.label("user_email"),
    ]


def _access_row(conn: Connection, token: str) -> dict[str, Any] | None:
    t = oauth_access_tokens
    query = (
        select(t.c.id, t.c.user_id, t.c.scopes, t.c.expires_at, *_install_columns())
        .join(app_installs, app_installs.c.id == t.c.install_id)
        .join(public_apps, public_apps.c.id == app_installs.c.app_id)
        .join(accounts, accounts.c.hub_id == app_installs.c.hub_id)
        .outerjoin(users, users.c.id == t.c.user_id)
        .where(t.c.token_hash == digest(token))
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def refresh_row(conn: Connection, token: str) -> dict[str, Any] | None:
    """A live (unrevoked) refresh token with its install, or None."""
    t = oauth_refresh_tokens
    query = (
        select(t.c.id, t.c.user_id, t.c.revoked_at, *_install_columns())
        .join(app_installs, app_installs.c.id == t.c.install_id)
        .join(public_apps, public_apps.c.id == app_installs.c.app_id)
        .join(accounts, accounts.c.hub_id == app_installs.c.hub_id)
        .outerjoin(users, users.c.id == t.c.user_id)
        .where(t.c.token_hash == digest(token), t.c.revoked_at.is_(None))
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def _check_live(row: dict[str, Any], now: datetime) -> None:
    if row["expires_at"] <= now:
        seconds = int((now - row["expires_at"]).total_seconds())
        raise expired_authentication(seconds, iso(row["expires_at"]))


def caller_for(conn: Connection, token: str, now: datetime) -> Caller | None:
    """The caller an OAuth access token stands for; None when unknown; 401 when expired."""
    row = _access_row(conn, token)
    if row is None:
        return None
    _check_live(row, now)
    return Caller(
        hub_id=row["hub_id"],
        tier=row["tier"],
        scopes=sc.canonical_set(row["scopes"]),
        app_id=row["app_id"],
        token_id=f"oauth:{row['id']}",
        user_id=row["user_id"],
    )


# TODO(oauth): HubSpot's body for an unknown token on the info endpoints is not captured; 404
# with the standard error body is our guess.
def _token_not_found(kind: str) -> HubSpotError:
    return HubSpotError(404, "OBJECT_NOT_FOUND", f"The {kind} token was not found.")


def signed_access_token(row: dict[str, Any], key: str) -> dict[str, Any]:
    """HubSpot's ``signed_access_token``: what the token stands for, and an HMAC over it.

    HubSpot encodes ``scopes`` (and the scope-group fields) opaquely; LocalSpot gives the scope
    names space-separated, as an OAuth ``scope`` parameter does. The signature is HMAC-SHA256,
    keyed by a server-wide key in the store, over the other fields as compact JSON with sorted
    keys: the server can recompute it, and no secret can be derived from it.
    """
    signed: dict[str, Any] = {
        "expiresAt": int(row["expires_at"].timestamp() * 1000),
        "scopes": " ".join(row["scopes"]),
        "hubId": row["hub_id"],
        "userId": row["user_id"],
        "appId": row["app_id"],
        "installingUserId": row["installing_user_id"],
        "hublet": HUBLET,
        # Public app installs are account-wide; LocalSpot has no user-level apps, trial
        # scopes or service accounts, and lists no app privately.
        "isUserLevel": False,
        "isServiceAccount": False,
        "isPrivateDistribution": False,
        "trialScopes": "",
        "trialScopeToScopeGroupPks": "",
        "scopeToScopeGroupPks": "",
    }
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    signed["signature"] = hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()
    return signed


def access_token_info(
    conn: Connection, token: str, now: datetime, signing_key: str
) -> dict[str, Any]:
    row = _access_row(conn, token)
    if row is None:
        raise _token_not_found("access")
    _check_live(row, now)
    return {
        "token": token,
        "user": row["user_email"],
        "hub_domain": f"{row['hub_id']}.{HUB_DOMAIN}",
        "scopes": row["scopes"],
        "signed_access_token": signed_access_token(row, signing_key),
        "hub_id": row["hub_id"],
        "app_id": row["app_id"],
        "expires_in": int((row["expires_at"] - now).total_seconds()),
        "user_id": row["user_id"],
        "token_type": "access",
        "is_private_distribution": False,
    }


def refresh_token_info(conn: Connection, token: str) -> dict[str, Any]:
    row = refresh_row(conn, token)
    if row is None:
        raise _token_not_found("refresh")
    return {
        "token": token,
        "user": row["user_email"],
        "hub_domain": f"{row['hub_id']}.{HUB_DOMAIN}",
        "scopes": row["install_scopes"],
        "hub_id": row["hub_id"],
        "client_id": row["client_id"],
        "user_id": row["user_id"],
        "token_type": "refresh",
    }


def revoke_refresh_token(conn: Connection, token: str, now: datetime) -> None:
    """Revokes the refresh token only: issued access tokens and the install stay."""
    row = refresh_row(conn, token)
    if row is None:
        raise _token_not_found("refresh")
    conn.execute(
        update(oauth_refresh_tokens)
        .where(oauth_refresh_tokens.c.id == row["id"])
        .values(revoked_at=now)
    )
