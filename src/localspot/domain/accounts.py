"""Accounts (portals), their users and private apps, and the tokens that identify callers."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from localspot import policy
from localspot import scopes as sc
from localspot.clock import Clock
from localspot.domain import catalog, oauth_tokens
from localspot.errors import HubSpotError, not_found, validation_error
from localspot.policy import Caller
from localspot.store.driver import fetch
from localspot.store.engine import Store
from localspot.store.schema import accounts, private_apps, server_state, users

ROLES = ("super_admin", "admin", "user")
PRIVATE_APP_PREFIX = "pat-na1-"
MIN_PASSWORD_LENGTH = 8

_passwords = PasswordHasher()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_private_app_token() -> str:
    return PRIVATE_APP_PREFIX + str(uuid.uuid4())


# Accounts -------------------------------------------------------------------------------------


def _check_tier(tier: str) -> None:
    if tier not in policy.TIERS:
        raise validation_error(f"tier must be one of {', '.join(policy.TIERS)}")


def create_account(
    conn: Connection, now: datetime, name: str, tier: str, hub_id: int | None = None
) -> dict[str, Any]:
    _check_tier(tier)
    if hub_id is None:
        hub_id = _free_hub_id(conn)
    elif conn.scalar(select(accounts.c.hub_id).where(accounts.c.hub_id == hub_id)) is not None:
        raise _account_taken(hub_id)
    row = {"hub_id": hub_id, "name": name, "tier": tier, "created_at": now}
    try:
        conn.execute(insert(accounts).values(row))
    except IntegrityError:  # taken by a concurrent request since the check above
        raise _account_taken(hub_id) from None
    catalog.seed_account(conn, hub_id, now)
    return row


def _account_taken(hub_id: int) -> HubSpotError:
    return HubSpotError(409, "CONFLICT", f"An account with hub id {hub_id} already exists.")


def _free_hub_id(conn: Connection) -> int:
    while True:
        candidate = 10_000_000 + secrets.randbelow(90_000_000)
        taken = conn.scalar(select(accounts.c.hub_id).where(accounts.c.hub_id == candidate))
        if taken is None:
            return candidate


def get_account(conn: Connection, hub_id: int) -> dict[str, Any]:
    row = conn.execute(select(accounts).where(accounts.c.hub_id == hub_id)).mappings().first()
    if row is None:
        raise not_found(f"No account with hub id {hub_id}.")
    return dict(row)


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r) for r in conn.execute(select(accounts).order_by(accounts.c.created_at)).mappings()
    ]


def count_accounts(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(accounts)) or 0)


def update_account(
    conn: Connection, hub_id: int, name: str | None = None, tier: str | None = None
) -> dict[str, Any]:
    get_account(conn, hub_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if tier is not None:
        _check_tier(tier)
        changes["tier"] = tier
    if changes:
        conn.execute(update(accounts).where(accounts.c.hub_id == hub_id).values(changes))
    return get_account(conn, hub_id)


# Users ----------------------------------------------------------------------------------------


def create_user(
    conn: Connection,
    now: datetime,
    hub_id: int,
    email: str,
    role: str,
    password: str | None = None,
) -> dict[str, Any]:
    """A user of an account; without a password the user cannot sign in to consent pages."""
    get_account(conn, hub_id)
    if role not in ROLES:
        raise validation_error(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if "@" not in email:
        raise validation_error("email must be an email address")
    taken = conn.scalar(select(users.c.id).where(users.c.hub_id == hub_id, users.c.email == email))
    if taken is not None:
        raise HubSpotError(409, "CONFLICT", f"User {email} already exists in this account.")
    row = {"hub_id": hub_id, "email": email, "role": role, "created_at": now}
    values = {**row, "password_hash": _hash_password(password) if password is not None else None}
    try:
        user_id = conn.execute(insert(users).values(values)).inserted_primary_key[0]
    except IntegrityError:  # taken by a concurrent request since the check above
        raise HubSpotError(
            409, "CONFLICT", f"User {email} already exists in this account."
        ) from None
    return {"id": user_id, **row}


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise validation_error(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _passwords.hash(password)


def users_signing_in(
    conn: Connection, email: str, password: str, hub_id: int | None = None
) -> list[dict[str, Any]]:
    """The users with this email whose password matches, one per account, oldest first."""
    query = select(users).where(users.c.email == email.strip().lower())
    if hub_id is not None:
        query = query.where(users.c.hub_id == hub_id)
    matched = []
    for row in conn.execute(query.order_by(users.c.id)).mappings():
        if row["password_hash"] and _password_matches(row["password_hash"], password):
            matched.append({k: v for k, v in row.items() if k != "password_hash"})
    return matched


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _passwords.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(conn: Connection, user_id: int) -> dict[str, Any]:
    query = select(users.c.id, users.c.hub_id, users.c.email, users.c.role, users.c.created_at)
    row = conn.execute(query.where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise not_found(f"No user with id {user_id}.")
    return dict(row)


def list_users(conn: Connection, hub_id: int) -> list[dict[str, Any]]:
    query = select(users.c.id, users.c.hub_id, users.c.email, users.c.role, users.c.created_at)
    return [dict(r) for r in conn.execute(query.where(users.c.hub_id == hub_id)).mappings()]


# Private apps ---------------------------------------------------------------------------------


def _check_scopes(tier: str, scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if sc.canonical(s) not in sc.KNOWN_SCOPES]
    if unknown:
        raise validation_error(f"Unknown scopes: {', '.join(unknown)}")
    policy.check_scope_grant(tier, scopes)
    return list(dict.fromkeys(scopes))


def create_private_app(
    conn: Connection,
    now: datetime,
    hub_id: int,
    name: str,
    scopes: list[str],
    token: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A private app and its access token; the token is shown here and never again."""
    account = get_account(conn, hub_id)
    scopes = _check_scopes(account["tier"], scopes)
    token = token or new_private_app_token()
    row = {
        "hub_id": hub_id,
        "name": name,
        "scopes": scopes,
        "token_hash": hash_secret(token),
        "token_hint": token[-4:],
        "created_at": now,
        "updated_at": now,
    }
    app_id = conn.execute(insert(private_apps).values(row)).inserted_primary_key[0]
    return {"id": app_id, **row}, token


def get_private_app(conn: Connection, app_id: int) -> dict[str, Any]:
    row = conn.execute(select(private_apps).where(private_apps.c.id == app_id)).mappings().first()
    if row is None:
        raise not_found(f"No private app with id {app_id}.")
    return dict(row)


def list_private_apps(conn: Connection, hub_id: int) -> list[dict[str, Any]]:
    query = select(private_apps).where(private_apps.c.hub_id == hub_id)
    return [dict(r) for r in conn.execute(query.order_by(private_apps.c.id)).mappings()]


def set_private_app_scopes(
    conn: Connection, now: datetime, app_id: int, scopes: list[str]
) -> dict[str, Any]:
    """New scopes apply to the existing token at once, as in HubSpot's private app settings."""
    app = get_private_app(conn, app_id)
    account = get_account(conn, app["hub_id"])
    scopes = _check_scopes(account["tier"], scopes)
    conn.execute(
        update(private_apps)
        .where(private_apps.c.id == app_id)
        .values(scopes=scopes, updated_at=now)
    )
    return get_private_app(conn, app_id)


def rotate_private_app_token(conn: Connection, now: datetime, app_id: int) -> str:
    get_private_app(conn, app_id)
    token = new_private_app_token()
    conn.execute(
        update(private_apps)
        .where(private_apps.c.id == app_id)
        .values(token_hash=hash_secret(token), token_hint=token[-4:], updated_at=now)
    )
    return token


# Authentication -------------------------------------------------------------------------------


# Every request runs this: on the driver's cursor (store.driver.fetch).
_BY_TOKEN_SQL = (
    "SELECT private_apps.id, private_apps.scopes, accounts.hub_id, accounts.tier "
    "FROM private_apps JOIN accounts ON accounts.hub_id = private_apps.hub_id "
    "WHERE private_apps.token_hash = ?"
)


def authenticate(conn: Connection, token: str, clock: Clock | None = None) -> Caller | None:
    """The caller a bearer token stands for, or None when the token is unknown.

    Private app tokens start with ``pat-``; anything else may be an OAuth access token, which
    raises HubSpot's 401 ``EXPIRED_AUTHENTICATION`` once its 1,800 s are over.
    """
    if not token.startswith("pat-"):
        now = clock.now() if clock is not None else datetime.now(UTC)
        return oauth_tokens.caller_for(conn, token, now)
    found = fetch(conn, _BY_TOKEN_SQL, (hash_secret(token),))
    if not found:
        return None
    app_id, scopes, hub_id, tier = found[0]
    if isinstance(scopes, str | bytes):  # SQLite hands JSON back as text; psycopg decodes it
        scopes = orjson.loads(scopes)
    return Caller(
        hub_id=hub_id,
        tier=tier,
        scopes=sc.canonical_set(scopes),
        app_id=app_id,
        token_id=f"pat:{app_id}",
    )


def caller_for_token(store: Store, token: str, clock: Clock) -> Caller | None:
    """``authenticate`` in a read of its own. A private app token's caller is remembered while
    nothing commits (a scope edit or a rotation commits); an OAuth token's life runs on the
    clock, so it is looked up each time."""
    if not token.startswith("pat-"):
        with store.read() as conn:
            return authenticate(conn, token, clock)
    return store.remembered(("caller", _token_hash(token)), lambda c: authenticate(c, token))


# A token's hash never changes, so remembering it needs no invalidation (a rotated token is a
# new string; what a hash stands for is remembered in the store's memo, which commits spend).
_token_hash = functools.lru_cache(maxsize=1024)(hash_secret)


# Deployment state -----------------------------------------------------------------------------

_ADMIN_KEY = "admin_key_hash"
_CLOCK_OFFSET = "clock_offset"


def _state(conn: Connection, key: str) -> str | None:
    return conn.scalar(select(server_state.c.value).where(server_state.c.key == key))


def _set_state(conn: Connection, key: str, value: str) -> None:
    if _state(conn, key) is None:
        conn.execute(insert(server_state).values(key=key, value=value))
    else:
        conn.execute(update(server_state).where(server_state.c.key == key).values(value=value))


def set_admin_key(conn: Connection, key: str) -> None:
    _set_state(conn, _ADMIN_KEY, hash_secret(key))


def has_admin_key(conn: Connection) -> bool:
    return _state(conn, _ADMIN_KEY) is not None


def check_admin_key(conn: Connection, key: str) -> bool:
    stored = _state(conn, _ADMIN_KEY)
    return stored is not None and secrets.compare_digest(stored, hash_secret(key))


def new_admin_key() -> str:
    return "lsadm-" + secrets.token_urlsafe(32)


def clock_offset(conn: Connection) -> float:
    value = _state(conn, _CLOCK_OFFSET)
    return float(value) if value is not None else 0.0


def set_clock_offset(conn: Connection, offset: float) -> None:
    _set_state(conn, _CLOCK_OFFSET, repr(offset))
