"""The OAuth 2.0 protocol, done by oauthlib; this module holds only HubSpot's rules.

oauthlib parses and checks requests (RFC 6749, PKCE of RFC 7636) and asks a request validator
about clients, codes and tokens. Ours answers from the store, inside one transaction per call,
and remembers why it said no, so that errors carry HubSpot's ``status`` (SPEC Part B15).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from oauthlib.common import Request, generate_token
from oauthlib.oauth2 import RequestValidator, WebApplicationServer
from sqlalchemy import Connection, select, update

from localspot import scopes as sc
from localspot.domain import oauth_forms, oauth_tokens, public_apps
from localspot.domain.accounts import hash_secret
from localspot.store.schema import app_installs, oauth_codes

if TYPE_CHECKING:
    from localspot.runtime import Runtime

# oauthlib logs codes and tokens at DEBUG; they must not reach our logs.
logging.getLogger("oauthlib").setLevel(logging.INFO)

CODE_SECONDS = 600
GRANT_TYPES = ("authorization_code", "refresh_token")


@dataclass
class Refusal:
    """Why an authorization request cannot go on, for the page the user sees."""

    status: int
    title: str
    message: str


@dataclass(frozen=True)
class Client:
    """What oauthlib needs of a client: its id; the app row rides along."""

    client_id: str
    app: dict[str, Any] = field(hash=False, compare=False)


class Validator(RequestValidator):  # type: ignore[misc]
    """Answers oauthlib from the store within one transaction (``conn``) at one ``now``."""

    def __init__(
        self, conn: Connection, now: datetime, optional_scopes: list[str] | None = None
    ) -> None:
        super().__init__()
        self.conn = conn
        self.now = now
        self.optional_scopes = list(optional_scopes or [])
        self.refusal: Refusal | None = None
        self.status: str | None = None
        # The RFC 6749 error to answer with when it is not the one HubSpot's status implies.
        self.error: str | None = None
        self.issued: dict[str, Any] = {}

    def _client(self, client_id: str | None) -> Client | None:
        app = public_apps.app_by_client_id(self.conn, client_id) if client_id else None
        return Client(app["client_id"], app) if app is not None else None

    # Authorization request ------------------------------------------------------------------

    def validate_client_id(self, client_id: str, request: Request, *a: Any, **k: Any) -> bool:
        request.client = self._client(client_id)
        if request.client is None:
            self.refusal = Refusal(400, "Unknown app", "No app has this client_id.")
            return False
        return True

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Request, *a: Any, **k: Any
    ) -> bool:
        # Exact match only: a near match would let anyone steer the code elsewhere.
        if redirect_uri in request.client.app["redirect_uris"]:
            return True
        self.refusal = Refusal(
            400,
            "Redirect URI mismatch",
            "The redirect_uri is not one of the app's redirect URIs. No redirect was made.",
        )
        return False

    def get_default_redirect_uri(self, client_id: str, request: Request, *a: Any, **k: Any) -> None:
        # No default: the consent page and the token endpoint both need redirect_uri given.
        self.refusal = Refusal(400, "Missing redirect URI", "The URL has no redirect_uri.")
        if request.grant_type is not None:
            # A token request that leaves it out: a missing parameter is invalid_request (RFC
            # 6749 §5.2), and HubSpot's status names the redirect URI, not the code.
            self.status = "MISSING_REDIRECT_URI"
            self.error = "invalid_request"
        return None

    def validate_response_type(
        self,
        client_id: str,
        response_type: str,
        client: Client,
        request: Request,
        *a: Any,
        **k: Any,
    ) -> bool:
        return bool(response_type == "code")

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        return False

    def get_default_scopes(self, client_id: str, request: Request, *a: Any, **k: Any) -> list[str]:
        return list(request.client.app["required_scopes"])

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Client,
        request: Request,
        *a: Any,
        **k: Any,
    ) -> bool:
        self.refusal = check_requested_scopes(self.conn, client.app, scopes, self.optional_scopes)
        return self.refusal is None

    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Request, *a: Any, **k: Any
    ) -> None:
        app = request.client.app
        public_apps.record_install(
            self.conn, self.now, app["id"], request.hub_id, request.user_id, request.scopes
        )
        self.conn.execute(
            oauth_codes.insert().values(
                code_hash=hash_secret(code["code"]),
                app_id=app["id"],
                hub_id=request.hub_id,
                user_id=request.user_id,
                redirect_uri=request.redirect_uri,
                scopes=list(request.scopes),
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                expires_at=self.now + timedelta(seconds=CODE_SECONDS),
            )
        )

    # Token request --------------------------------------------------------------------------

    def client_authentication_required(self, request: Request, *a: Any, **k: Any) -> bool:
        return True

    def authenticate_client(self, request: Request, *a: Any, **k: Any) -> bool:
        client = self._client(request.client_id)
        secret = request.client_secret or ""
        if client is None or client.app["client_secret_hash"] != hash_secret(secret):
            self.status = "BAD_CLIENT_ID"
            return False
        # Before the code or refresh token is read: see public_apps.hold_app.
        public_apps.hold_app(self.conn, client.app["id"])
        request.client = client
        return True

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Client, request: Request, *a: Any, **k: Any
    ) -> bool:
        return grant_type in GRANT_TYPES

    def validate_code(
        self, client_id: str, code: str, client: Client, request: Request, *a: Any, **k: Any
    ) -> bool:
        row = (
            self.conn.execute(
                select(oauth_codes).where(oauth_codes.c.code_hash == hash_secret(code))
            )
            .mappings()
            .first()
        )
        # TODO(oauth): RFC 6749 §4.1.2 suggests revoking the tokens of a replayed code; we only
        # refuse the replay, as HubSpot's documented behaviour says nothing more.
        if row is None or row["app_id"] != client.app["id"] or row["used_at"] is not None:
            self.status = "BAD_AUTH_CODE"
            return False
        if row["expires_at"] <= self.now:
            self.status = "EXPIRED_AUTH_CODE"
            return False
        install = public_apps.get_install(self.conn, row["app_id"], row["hub_id"])
        # The guarded update makes a code single-use even when two exchanges race.
        used = self.conn.execute(
            update(oauth_codes)
            .where(oauth_codes.c.id == row["id"], oauth_codes.c.used_at.is_(None))
            .values(used_at=self.now)
        )
        if install is None or used.rowcount != 1:
            self.status = "BAD_AUTH_CODE"
            return False
        request.user = row["user_id"]
        request.scopes = list(row["scopes"])
        request.code_row = dict(row)
        request.install = install
        return True

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        return request.code_row["code_challenge"]  # type: ignore[no-any-return]

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        return request.code_row["code_challenge_method"]  # type: ignore[no-any-return]

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Client,
        request: Request,
        *a: Any,
        **k: Any,
    ) -> bool:
        if redirect_uri == request.code_row["redirect_uri"]:
            return True
        self.status = "BAD_REDIRECT_URI"
        return False

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *a: Any, **k: Any
    ) -> None:
        """Already marked used in ``validate_code``, in the same transaction."""

    def validate_refresh_token(
        self, refresh_token: str, client: Client, request: Request, *a: Any, **k: Any
    ) -> bool:
        row = oauth_tokens.refresh_row(self.conn, refresh_token)
        if row is None or row["app_id"] != client.app["id"]:
            self.status = "BAD_REFRESH_TOKEN"
            return False
        request.user = row["user_id"]
        install = (
            self.conn.execute(select(app_installs).where(app_installs.c.id == row["install_id"]))
            .mappings()
            .one()
        )
        request.install = dict(install)
        return True

    def get_original_scopes(self, refresh_token: str, request: Request, *a: Any, **k: Any) -> Any:
        # A refreshed token gets the install's current grant, which only (re)authorization sets.
        return list(request.install["scopes"])

    def is_within_original_scope(
        self, request_scopes: list[str], refresh_token: str, request: Request, *a: Any, **k: Any
    ) -> bool:
        """A ``scope`` on a refresh may narrow the grant (RFC 6749 §6), named in either form
        (``.v2`` or not); oauthlib compares exact names first and asks this only if they differ.
        A scope outside the grant is invalid_scope: the token itself is still good."""
        within = sc.canonical_set(request_scopes) <= sc.canonical_set(request.install["scopes"])
        if not within:
            self.status = "BAD_SCOPE"
        return within

    def rotate_refresh_token(self, request: Request) -> bool:
        return False

    def save_bearer_token(self, token: dict[str, Any], request: Request, *a: Any, **k: Any) -> None:
        install = request.install
        oauth_tokens.save_access_token(
            self.conn, self.now, token["access_token"], install["id"], request.user, request.scopes
        )
        if request.grant_type == "authorization_code":
            oauth_tokens.save_refresh_token(
                self.conn, self.now, token["refresh_token"], install["id"], request.user
            )
        self.issued = {
            "hub_id": install["hub_id"],
            "user_id": request.user,
            "scopes": list(request.scopes),
        }


def server(validator: Validator) -> WebApplicationServer:
    return WebApplicationServer(
        validator,
        token_generator=lambda _request: oauth_tokens.new_access_token(),
        refresh_token_generator=lambda _request: oauth_tokens.new_refresh_token(),
        token_expires_in=oauth_tokens.ACCESS_TOKEN_SECONDS,
    )


def new_code() -> str:
    return generate_token(40)


# HubSpot's rules on requested scopes ------------------------------------------------------------


def check_requested_scopes(
    conn: Connection, app: dict[str, Any], scopes: list[str], optional: list[str]
) -> Refusal | None:
    """The URL must ask for the app's required scopes, may add its optional ones, and may name
    a sensitive scope only once a reviewer approved it."""
    required = sc.canonical_set(app["required_scopes"])
    configured = required | sc.canonical_set(app["optional_scopes"])
    asked = sc.canonical_set(scopes)
    asked_optional = sc.canonical_set(optional)
    unknown = sorted((asked | asked_optional) - configured)
    if unknown:
        return Refusal(
            400,
            "Scope mismatch",
            "The URL asks for scopes the app does not list: " + ", ".join(unknown) + ".",
        )
    missing = sorted(required - asked)
    if missing:
        return Refusal(
            400,
            "Scope mismatch",
            "The URL leaves out scopes the app requires: " + ", ".join(missing) + ".",
        )
    approved = public_apps.approved_scopes(conn, app["id"])
    unapproved = sorted(s for s in asked | asked_optional if sc.is_sensitive_scope(s))
    unapproved = [s for s in unapproved if s not in approved]
    if unapproved:
        return Refusal(
            403,
            "Sensitive scopes not approved",
            "This app asks for sensitive data scopes that have not passed review: "
            + ", ".join(unapproved)
            + ". The app cannot be installed until a reviewer approves them.",
        )
    return None


# The token endpoint ---------------------------------------------------------------------------

# Reasons, each with HubSpot's ``status`` (SPEC Part B15) and its message. Two reasons may share
# a status: a missing parameter and a wrong one answer different RFC 6749 errors and messages.
_REASONS = {
    "BAD_AUTH_CODE": ("BAD_AUTH_CODE", "missing or invalid auth code"),
    "EXPIRED_AUTH_CODE": ("EXPIRED_AUTH_CODE", "auth code is expired"),
    "BAD_CLIENT_ID": ("BAD_CLIENT_ID", "missing or invalid client_id or client_secret"),
    "BAD_REDIRECT_URI": (
        "BAD_REDIRECT_URI",
        "redirect_uri does not match the one the code was issued for",
    ),
    "MISSING_REDIRECT_URI": ("BAD_REDIRECT_URI", "redirect_uri is required"),
    "BAD_REFRESH_TOKEN": ("BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked"),
    "BAD_GRANT_TYPE": ("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token"),
    "MISSING_GRANT_TYPE": ("BAD_GRANT_TYPE", "grant_type is required"),
    # Not in Part B15's list: no status there fits a good token asked for more than its grant,
    # and BAD_REFRESH_TOKEN would tell the client to throw a valid token away.
    "BAD_SCOPE": (
        "BAD_SCOPE",
        "scope asks for more than the refresh token was granted; ask for the granted scopes "
        "or fewer, or reauthorize the app",
    ),
}
# RFC 6749 §5.2 error for each reason.
_ERRORS = {
    "BAD_AUTH_CODE": "invalid_grant",
    "EXPIRED_AUTH_CODE": "invalid_grant",
    "BAD_CLIENT_ID": "invalid_client",
    "BAD_REDIRECT_URI": "invalid_grant",
    "MISSING_REDIRECT_URI": "invalid_request",
    "BAD_REFRESH_TOKEN": "invalid_grant",
    "BAD_GRANT_TYPE": "unsupported_grant_type",
    "MISSING_GRANT_TYPE": "invalid_request",
    "BAD_SCOPE": "invalid_scope",
}


class _Failed(Exception):
    """Rolls the token transaction back after oauthlib answered with an error."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def _reason_for(error: str, grant_type: str | None, said: str | None) -> str:
    if said is not None:
        return said
    if error in ("invalid_client", "unauthorized_client"):
        return "BAD_CLIENT_ID"
    if error == "unsupported_grant_type" or grant_type not in GRANT_TYPES:
        return "BAD_GRANT_TYPE"
    return "BAD_REFRESH_TOKEN" if grant_type == "refresh_token" else "BAD_AUTH_CODE"


def token_response(rt: Runtime, body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """``POST /oauth/v1/token``: HubSpot's token body, or its error with RFC 6749 ``error``."""
    grant_type = dict(parse_qsl(body)).get("grant_type")
    try:
        # oauthlib takes a missing grant_type for authorization_code and then calls it
        # unsupported; RFC 6749 §5.2 calls a missing parameter invalid_request.
        if not grant_type:
            raise _Failed("MISSING_GRANT_TYPE", "invalid_request")
        with rt.store.write() as conn:
            validator = Validator(conn, rt.clock.now())
            _, text, status = server(validator).create_token_response(
                "/oauth/v1/token", "POST", body, headers
            )
            answer = json.loads(text)
            if status != 200:
                error = answer.get("error", "invalid_request")
                reason = _reason_for(error, grant_type, validator.status)
                if validator.error is not None:
                    error = validator.error
                elif validator.status is not None or error != "invalid_request":
                    error = _ERRORS[reason]
                raise _Failed(reason, error)
    except _Failed as failed:
        status_name, message = _REASONS[failed.reason]
        return 400, {
            "status": status_name,
            "message": message,
            "error": failed.error,
            "error_description": message,
        }
    return 200, {
        "token_type": "bearer",
        "refresh_token": answer["refresh_token"],
        "access_token": answer["access_token"],
        "expires_in": answer["expires_in"],
        **validator.issued,
    }


# Token information and revocation ---------------------------------------------------------------


SIGNATURE_KEY = "oauth_access_token_signature_key"


def access_token_info(rt: Runtime, token: str) -> dict[str, Any]:
    # Its own key, so that a signature never helps forge a consent form or the reverse.
    key = oauth_forms.server_key(rt, SIGNATURE_KEY)
    with rt.store.read() as conn:
        return oauth_tokens.access_token_info(conn, token, rt.clock.now(), key)


def refresh_token_info(rt: Runtime, token: str) -> dict[str, Any]:
    with rt.store.read() as conn:
        return oauth_tokens.refresh_token_info(conn, token)


def revoke_refresh_token(rt: Runtime, token: str) -> None:
    with rt.store.write() as conn:
        oauth_tokens.revoke_refresh_token(conn, token, rt.clock.now())
