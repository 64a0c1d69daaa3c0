"""The install flow refused: by a clear page before any redirect, or by HubSpot's token error."""

from __future__ import annotations

import httpx

from localspot.testing import LocalSpotServer
from tests.oauth_helpers import (
    REDIRECT_URI,
    SENSITIVE_READ,
    FormClient,
    authorize_url,
    exchange,
    install,
    new_public_app,
    new_user,
    refresh,
)

READ = "crm.objects.contacts.read"


def _assert_token_error(response: httpx.Response, status: str, error: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == status
    assert body["error"] == error
    assert body["error_description"] == body["message"]
    assert body["correlationId"]


def test_non_super_admin_cannot_install(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    for role in ("admin", "user"):
        _, email = new_user(server, role=role)
        client = FormClient(server)
        client.open(authorize_url(server, app, [READ, SENSITIVE_READ]))
        refused = client.sign_in(email)
        assert refused.status_code == 403
        assert "Only a Super admin can install apps" in refused.text
        assert "csrf_token" not in refused.text
    assert server.control("GET", f"/public-apps/{app.id}/installs")["results"] == []


def test_professional_account_cannot_take_sensitive_scopes(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    _, email = new_user(server, tier="professional")
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ, SENSITIVE_READ]))
    refused = client.sign_in(email)
    assert refused.status_code == 403
    assert "Enterprise subscription required" in refused.text
    assert SENSITIVE_READ in refused.text
    assert server.control("GET", f"/public-apps/{app.id}/installs")["results"] == []


def test_unapproved_sensitive_scope_is_refused_until_approved(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ], approve=False)
    pending = server.control("GET", "/scope-reviews?state=pending")["results"]
    assert {"appId": app.id, "scope": SENSITIVE_READ} in [
        {"appId": r["appId"], "scope": r["scope"]} for r in pending
    ]
    url = authorize_url(server, app, [READ, SENSITIVE_READ])
    refused = FormClient(server).open(url)
    assert refused.status_code == 403
    assert "Sensitive scopes not approved" in refused.text
    assert "csrf_token" not in refused.text

    server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/deny")
    assert FormClient(server).open(url).status_code == 403
    server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/approve")
    _, email = new_user(server)
    assert exchange(server, app, install(server, app, email, [READ, SENSITIVE_READ])).is_success


def test_wrong_redirect_uri_shows_a_page_and_never_redirects(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    for uri in (
        "https://evil.example.test/steal",
        REDIRECT_URI + "/extra",
        REDIRECT_URI + "?x=1",
        REDIRECT_URI.replace("https", "http"),
    ):
        page = FormClient(server).open(authorize_url(server, app, [READ], redirect_uri=uri))
        assert page.status_code == 400, uri
        assert "location" not in page.headers
        assert "Redirect URI mismatch" in page.text
    unknown = FormClient(server).open(
        f"{server.url}/oauth/authorize?client_id=nope&redirect_uri={REDIRECT_URI}&scope={READ}"
    )
    assert unknown.status_code == 400
    assert "Unknown app" in unknown.text


def test_code_redeemed_with_another_redirect_uri_is_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    refused = exchange(server, app, code, redirect_uri="https://evil.example.test/steal")
    _assert_token_error(refused, "BAD_REDIRECT_URI", "invalid_grant")
    # A failed exchange changes nothing: the code still works with the right URI.
    assert exchange(server, app, code).status_code == 200


def test_reused_code_is_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    assert exchange(server, app, code).status_code == 200
    _assert_token_error(exchange(server, app, code), "BAD_AUTH_CODE", "invalid_grant")


def test_wrong_client_secret_is_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    refused = exchange(server, app, code, client_secret="0" * 36)
    _assert_token_error(refused, "BAD_CLIENT_ID", "invalid_client")
    other = new_public_app(server, [READ])
    stolen = exchange(
        server, other, code, client_id=other.client_id, client_secret=other.client_secret
    )
    _assert_token_error(stolen, "BAD_AUTH_CODE", "invalid_grant")
    assert exchange(server, app, code).status_code == 200

    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    rotated = server.control("POST", f"/public-apps/{app.id}/rotate-secret")["clientSecret"]
    _assert_token_error(
        refresh(server, app, tokens["refresh_token"]), "BAD_CLIENT_ID", "invalid_client"
    )
    app.client_secret = rotated
    assert refresh(server, app, tokens["refresh_token"]).status_code == 200


def test_revoked_refresh_token_is_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    revoke = httpx.delete(f"{server.url}/oauth/v1/refresh-tokens/{tokens['refresh_token']}")
    assert revoke.status_code == 204
    _assert_token_error(
        refresh(server, app, tokens["refresh_token"]), "BAD_REFRESH_TOKEN", "invalid_grant"
    )
    info = httpx.get(f"{server.url}/oauth/v1/refresh-tokens/{tokens['refresh_token']}")
    assert info.status_code == 404
    # Revoking the refresh token leaves issued access tokens alone.
    api = httpx.get(
        f"{server.url}/crm/v3/properties/contacts",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert api.status_code == 200


def test_unknown_grant_type_and_missing_fields(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    url = f"{server.url}/oauth/v1/token"
    creds = {"client_id": app.client_id, "client_secret": app.client_secret}
    _assert_token_error(
        httpx.post(url, data={"grant_type": "password", **creds}),
        "BAD_GRANT_TYPE",
        "unsupported_grant_type",
    )
    missing = httpx.post(url, data={"grant_type": "authorization_code", **creds})
    assert missing.status_code == 400
    assert missing.json()["status"] == "BAD_AUTH_CODE"
    json_body = httpx.post(url, json={"grant_type": "authorization_code", **creds})
    assert json_body.status_code == 400


def test_missing_grant_type_is_invalid_request(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    creds = {"client_id": app.client_id, "client_secret": app.client_secret}
    for body in (creds, {"grant_type": "", **creds}):
        refused = httpx.post(f"{server.url}/oauth/v1/token", data=body)
        # RFC 6749 §5.2: a missing parameter is invalid_request, not unsupported_grant_type.
        _assert_token_error(refused, "BAD_GRANT_TYPE", "invalid_request")
        assert refused.json()["message"] == "grant_type is required"


def test_exchange_without_redirect_uri_names_the_redirect_uri(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    refused = httpx.post(
        f"{server.url}/oauth/v1/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "code": code,
        },
    )
    _assert_token_error(refused, "BAD_REDIRECT_URI", "invalid_request")
    assert refused.json()["message"] == "redirect_uri is required"
    # The refused exchange did not use the code up.
    assert exchange(server, app, code).status_code == 200


def test_refresh_asking_beyond_the_grant_is_invalid_scope(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ], optional=[SENSITIVE_READ])
    _, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    wider = refresh(server, app, tokens["refresh_token"], scope=f"{READ} {SENSITIVE_READ}")
    _assert_token_error(wider, "BAD_SCOPE", "invalid_scope")
    assert "revoked" not in wider.json()["message"]
    # The token is as good as before.
    assert refresh(server, app, tokens["refresh_token"]).status_code == 200
