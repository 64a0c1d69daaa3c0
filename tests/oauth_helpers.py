"""Helpers for the OAuth tests: public apps, users with passwords, and a form-driving client."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from localspot.testing import LocalSpotServer

REDIRECT_URI = "https://app.example.test/oauth/callback"
PASSWORD = "correct horse battery"
SENSITIVE_READ = "crm.objects.contacts.sensitive.read"


@dataclass
class PublicApp:
    id: int
    client_id: str
    client_secret: str
    raw: dict[str, Any]


def new_public_app(
    server: LocalSpotServer,
    required: list[str],
    optional: list[str] | None = None,
    approve: bool = True,
) -> PublicApp:
    dev = server.control("POST", "/developers", json={"name": "Dev", "email": "dev@example.test"})
    made = server.control(
        "POST",
        f"/developers/{dev['id']}/apps",
        json={
            "name": "Passport Checker",
            "redirectUris": [REDIRECT_URI],
            "requiredScopes": required,
            "optionalScopes": optional or [],
        },
    )
    app = PublicApp(made["id"], made["clientId"], made["clientSecret"], made)
    if approve:
        for review in made["scopeReviews"]:
            server.control("POST", f"/public-apps/{app.id}/scope-reviews/{review['scope']}/approve")
    return app


def new_user(
    server: LocalSpotServer,
    tier: str = "enterprise",
    role: str = "super_admin",
    email: str | None = None,
    hub_id: int | None = None,
) -> tuple[int, str]:
    """(hub id, email) of a user with PASSWORD, in a new account of ``tier`` by default."""
    hub_id = hub_id if hub_id is not None else server.new_account(tier)
    email = email or f"user-{secrets.token_hex(4)}@example.test"
    server.control(
        "POST",
        f"/accounts/{hub_id}/users",
        json={"email": email, "role": role, "password": PASSWORD},
    )
    return hub_id, email


def authorize_url(
    server: LocalSpotServer,
    app: PublicApp,
    scopes: list[str],
    optional: list[str] | None = None,
    state: str = "st-123",
    hub_id: int | None = None,
    redirect_uri: str = REDIRECT_URI,
    **extra: str,
) -> str:
    params = {"client_id": app.client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes)}
    if optional:
        params["optional_scope"] = " ".join(optional)
    params["state"] = state
    params.update(extra)
    path = f"/oauth/{hub_id}/authorize" if hub_id is not None else "/oauth/authorize"
    return f"{server.url}{path}?{urlencode(params)}"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


class FormClient:
    """Drives the consent pages with plain HTTP, the way a browser posts the forms."""

    def __init__(self, server: LocalSpotServer) -> None:
        self.http = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
        self.url = ""
        self.page: httpx.Response | None = None

    def open(self, url: str) -> httpx.Response:
        self.url = url
        self.page = self.http.get(url)
        return self.page

    def post(self, **fields: str) -> httpx.Response:
        assert self.page is not None
        fields.setdefault("csrf_token", csrf_of(self.page.text))
        self.page = self.http.post(self.url, data=fields)
        return self.page

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post(step="signin", email=email, password=password)

    def decide(self, decision: str = "approve") -> httpx.Response:
        return self.post(step="consent", decision=decision)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def install(server: LocalSpotServer, app: PublicApp, email: str, scopes: list[str]) -> str:
    """Runs the consent flow over HTTP and returns the authorization code."""
    client = FormClient(server)
    assert client.open(authorize_url(server, app, scopes)).status_code == 200
    assert client.sign_in(email).status_code == 200
    return redirect_params(client.decide())["code"]


def refresh(
    server: LocalSpotServer, app: PublicApp, refresh_token: str, **extra: str
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            **extra,
        },
    )


def exchange(server: LocalSpotServer, app: PublicApp, code: str, **extra: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/oauth/v1/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": REDIRECT_URI,
            "code": code,
            **extra,
        },
    )


def bearer(server: LocalSpotServer, token: str) -> httpx.Client:
    """A client calling ``server`` with ``token`` (an OAuth access token, say)."""
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
