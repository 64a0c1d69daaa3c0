"""The authorization step of OAuth: who may install an app where, with which scopes.

The consent page calls these in order: ``check_request`` (the URL), ``sign_in`` (email and
password, across every account the user belongs to), ``consent`` (what the chosen account would
grant, or why it cannot install) and ``approve`` or ``deny`` (where the browser goes next).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import AccessDeniedError, FatalClientError, OAuth2Error
from sqlalchemy import Connection

from localspot import policy
from localspot import scopes as sc
from localspot.domain import accounts, public_apps
from localspot.domain.oauth_server import Refusal, Validator, server
from localspot.runtime import Runtime


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.title)
        self.refusal = refusal


@dataclass(frozen=True)
class AuthRequest:
    uri: str
    client_id: str
    app_id: int
    app_name: str
    redirect_uri: str
    state: str | None
    scopes: list[str]
    optional_scopes: list[str]
    pinned_hub_id: int | None


@dataclass(frozen=True)
class Consent:
    hub_id: int
    account_name: str
    tier: str
    user_id: int
    email: str
    required: list[str]
    optional_granted: list[str]
    optional_withheld: list[str]
    previously_granted: list[str] | None

    @property
    def granted(self) -> list[str]:
        return self.required + self.optional_granted


def check_request(rt: Runtime, uri: str, pinned_hub_id: int | None) -> AuthRequest:
    """The authorization URL, checked against the app; ``Refused`` says why not."""
    params = dict(parse_qsl(urlsplit(uri).query))
    optional = params.get("optional_scope", "").split()
    # HubSpot's URLs carry no response_type: the code flow is the only one.
    if "response_type" not in params:
        uri = add_params_to_uri(uri, [("response_type", "code")])
    with rt.store.read() as conn:
        validator = Validator(conn, rt.clock.now(), optional)
        try:
            scopes, info = server(validator).validate_authorization_request(uri, "GET")
        except (FatalClientError, OAuth2Error) as exc:
            raise Refused(
                validator.refusal or Refusal(400, "Invalid authorization request", exc.description)
            ) from None
        app = info["request"].client.app
    return AuthRequest(
        uri=uri,
        client_id=app["client_id"],
        app_id=app["id"],
        app_name=app["name"],
        redirect_uri=info["redirect_uri"],
        state=info["state"],
        scopes=list(scopes),
        optional_scopes=optional,
        pinned_hub_id=pinned_hub_id,
    )


def sign_in(rt: Runtime, auth: AuthRequest, email: str, password: str) -> list[dict[str, Any]]:
    """The user's memberships whose password matches, with each account's name and tier."""
    with rt.store.read() as conn:
        matched = accounts.users_signing_in(conn, email, password, auth.pinned_hub_id)
        return [{**user, "account": accounts.get_account(conn, user["hub_id"])} for user in matched]


def consent(rt: Runtime, auth: AuthRequest, user_id: int) -> Consent:
    with rt.store.read() as conn:
        return _consent(conn, auth, user_id)


def _consent(conn: Connection, auth: AuthRequest, user_id: int) -> Consent:
    user = accounts.get_user(conn, user_id)
    hub_id = user["hub_id"]
    account = accounts.get_account(conn, hub_id)
    if auth.pinned_hub_id is not None and hub_id != auth.pinned_hub_id:
        raise Refused(Refusal(403, "Wrong account", "This URL installs into another account."))
    if user["role"] != "super_admin":
        raise Refused(
            Refusal(
                403,
                "Only a Super admin can install apps",
                f"{user['email']} is not a Super admin of {account['name']} ({hub_id}). "
                "Ask a Super admin of the account to install this app.",
            )
        )
    sensitive = [s for s in auth.scopes if sc.is_sensitive_scope(s)]
    enterprise = account["tier"] == policy.ENTERPRISE
    if sensitive and not enterprise:
        raise Refused(
            Refusal(
                403,
                "Enterprise subscription required",
                f"This app needs sensitive data scopes ({', '.join(sensitive)}), which only an "
                f"Enterprise account can grant. {account['name']} ({hub_id}) is on the "
                f"{account['tier']} tier.",
            )
        )
    # Optional scopes are granted only where the account has them.
    granted = [s for s in auth.optional_scopes if enterprise or not sc.is_sensitive_scope(s)]
    install = public_apps.get_install(conn, auth.app_id, hub_id)
    return Consent(
        hub_id=hub_id,
        account_name=account["name"],
        tier=account["tier"],
        user_id=user_id,
        email=user["email"],
        required=list(auth.scopes),
        optional_granted=granted,
        optional_withheld=[s for s in auth.optional_scopes if s not in granted],
        previously_granted=list(install["scopes"]) if install is not None else None,
    )


def approve(rt: Runtime, auth: AuthRequest, user_id: int) -> str:
    """Installs (or re-authorizes) the app; returns the redirect URI with code and state."""
    with rt.store.write() as conn:
        # Before the reviews are read: see public_apps.hold_app.
        public_apps.hold_app(conn, auth.app_id)
        view = _consent(conn, auth, user_id)
        validator = Validator(conn, rt.clock.now(), auth.optional_scopes)
        headers, _, _ = server(validator).create_authorization_response(
            auth.uri,
            "GET",
            scopes=view.granted,
            credentials={"user_id": user_id, "hub_id": view.hub_id},
        )
        if validator.refusal is not None:
            raise Refused(validator.refusal)
        return str(headers["Location"])


def deny(auth: AuthRequest) -> str:
    error = AccessDeniedError(description="The user declined to install the app.", state=auth.state)
    return str(add_params_to_uri(auth.redirect_uri, error.twotuples))
