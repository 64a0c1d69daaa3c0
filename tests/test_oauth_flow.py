"""Public apps over OAuth 2.0, driven with plain HTTP and HubSpot's v3 client (SPEC §8.2)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import httpx
import hubspot
import pytest
from hubspot.oauth.exceptions import ApiException

from localspot.testing import LocalSpotServer
from tests import leakcheck
from tests.oauth_helpers import (
    REDIRECT_URI,
    SENSITIVE_READ,
    FormClient,
    authorize_url,
    bearer,
    exchange,
    install,
    new_public_app,
    new_user,
    redirect_params,
    refresh,
)

READ = "crm.objects.contacts.read"
WRITE = "crm.objects.contacts.write"
SCHEMA_WRITE = "crm.schemas.contacts.write"
SENSITIVE_WRITE = "crm.objects.contacts.sensitive.write"


def _oauth(server: LocalSpotServer) -> hubspot.HubSpot:
    return hubspot.HubSpot(host=server.url)


def test_install_exchange_call_and_refresh(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    hub_id, email = new_user(server)
    code = install(server, app, email, [READ, SENSITIVE_READ])

    tokens = _oauth(server).oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 1800
    assert not tokens.access_token.startswith("pat-")

    with bearer(server, tokens.access_token) as api:
        listed = api.get("/crm/v3/properties/contacts")
        assert listed.status_code == 200, listed.text
        assert "email" in {p["name"] for p in listed.json()["results"]}

    info = _oauth(server).oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == hub_id
    assert info.user == email
    assert set(info.scopes) == {READ, SENSITIVE_READ}
    assert 0 < info.expires_in <= 1800
    refresh_info = _oauth(server).oauth.refresh_tokens_api.get(tokens.refresh_token)
    assert refresh_info.client_id == app.client_id
    assert refresh_info.hub_id == hub_id

    refreshed = _oauth(server).oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=tokens.refresh_token,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token
    with bearer(server, refreshed.access_token) as api:
        assert api.get("/crm/v3/properties/contacts").status_code == 200

    installs = server.control("GET", f"/public-apps/{app.id}/installs")["results"]
    assert [(i["hubId"], set(i["scopes"])) for i in installs] == [(hub_id, {READ, SENSITIVE_READ})]


def test_stored_codes_and_tokens_are_hashed(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    tokens = exchange(server, app, code).json()
    assert leakcheck.scan_store(server, [app.client_id])  # the scan sees stored values
    secrets = [code, tokens["access_token"], tokens["refresh_token"], app.client_secret]
    assert leakcheck.scan_store(server, secrets) == []


def test_deny_redirects_with_access_denied_and_state(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ], state="keep-me"))
    client.sign_in(email)
    params = redirect_params(client.decide("deny"))
    assert params["error"] == "access_denied"
    assert params["state"] == "keep-me"
    assert "code" not in params
    assert server.control("GET", f"/public-apps/{app.id}/installs")["results"] == []


def test_user_of_several_accounts_chooses_one(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    first, email = new_user(server, role="user")
    second, _ = new_user(server, email=email)
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ]))
    page = client.sign_in(email)
    assert page.status_code == 200
    assert "Choose an account" in page.text
    assert str(first) in page.text and str(second) in page.text
    users = server.control("GET", f"/accounts/{second}/users")["results"]
    consent = client.post(step="choose", user_id=str(users[0]["id"]))
    assert consent.status_code == 200
    assert f"account {second}" in consent.text
    code = redirect_params(client.decide())["code"]
    assert exchange(server, app, code).json()["hub_id"] == second


def test_pinned_account_url_signs_in_only_that_account(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    hub_id, email = new_user(server)
    other, _ = new_user(server)
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ], hub_id=other))
    refused = client.sign_in(email)
    assert refused.status_code == 401
    assert "Wrong email or password" in refused.text
    client.open(authorize_url(server, app, [READ], hub_id=hub_id))
    assert client.sign_in(email).status_code == 200


def test_wrong_password_and_forged_form_are_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ]))
    assert client.sign_in(email, "not the password").status_code == 401

    # A form posted from elsewhere carries no valid token for this browser's nonce.
    stranger = httpx.Client(follow_redirects=False)
    forged = stranger.post(
        authorize_url(server, app, [READ]),
        data={"step": "signin", "email": email, "password": "x", "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    assert "expired" in forged.text
    stolen = client.post(step="consent", decision="approve")  # a sign-in token, not a consent one
    assert stolen.status_code == 403
    assert "location" not in stolen.headers


def test_pkce_verifier_is_checked(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    client = FormClient(server)
    url = authorize_url(server, app, [READ], code_challenge=challenge, code_challenge_method="S256")
    client.open(url)
    client.sign_in(email)
    code = redirect_params(client.decide())["code"]
    wrong = exchange(server, app, code, code_verifier="w" * 64)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert exchange(server, app, code, code_verifier=verifier).status_code == 200


def test_optional_sensitive_scope_is_withheld_outside_enterprise(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ], optional=[SENSITIVE_READ])
    _, email = new_user(server, tier="professional")
    client = FormClient(server)
    client.open(authorize_url(server, app, [READ], optional=[SENSITIVE_READ]))
    consent = client.sign_in(email)
    assert consent.status_code == 200
    assert "Not granted" in consent.text
    code = redirect_params(client.decide())["code"]
    assert exchange(server, app, code).json()["scopes"] == [READ]


def test_expired_access_token_is_401_with_seconds(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    server.advance_clock(seconds=1800 + 75)
    with bearer(server, tokens["access_token"]) as api:
        expired = api.get("/crm/v3/properties/contacts")
    assert expired.status_code == 401
    body = expired.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    seconds = int(body["message"].split("expired ")[1].split(" ")[0])
    assert 75 <= seconds < 140
    assert body["context"]["expire time"][0].endswith("Z")
    # The refresh token still works and gives a live access token.
    fresh = refresh(server, app, tokens["refresh_token"]).json()
    with bearer(server, fresh["access_token"]) as api:
        assert api.get("/crm/v3/properties/contacts").status_code == 200


def test_expired_code_is_refused(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    _, email = new_user(server)
    code = install(server, app, email, [READ])
    server.advance_clock(seconds=601)
    refused = exchange(server, app, code)
    assert refused.status_code == 400
    assert refused.json()["status"] == "EXPIRED_AUTH_CODE"


def test_uninstall_ends_the_tokens(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    hub_id, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    server.control("DELETE", f"/public-apps/{app.id}/installs/{hub_id}")
    with bearer(server, tokens["access_token"]) as api:
        gone = api.get("/crm/v3/properties/contacts")
    assert gone.status_code == 401
    assert gone.json()["category"] == "INVALID_AUTHENTICATION"


def test_grown_scopes_wait_for_reauthorization(server: LocalSpotServer) -> None:
    app = new_public_app(server, [SCHEMA_WRITE])
    hub_id, email = new_user(server)
    old = exchange(server, app, install(server, app, email, [SCHEMA_WRITE])).json()
    passport = {
        "name": "passport_number",
        "label": "Passport",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
        "dataSensitivity": "sensitive",
    }

    server.control(
        "PATCH", f"/public-apps/{app.id}", json={"requiredScopes": [SCHEMA_WRITE, SENSITIVE_WRITE]}
    )
    server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_WRITE}/approve")
    with bearer(server, old["access_token"]) as api:
        refused = api.post("/crm/v3/properties/contacts", json=passport)
    assert refused.status_code == 403
    assert refused.json()["category"] == "MISSING_SCOPES"
    refreshed = refresh(server, app, old["refresh_token"]).json()
    assert refreshed["scopes"] == [SCHEMA_WRITE]
    # The old install link no longer matches the app's scopes.
    stale = FormClient(server).open(authorize_url(server, app, [SCHEMA_WRITE]))
    assert stale.status_code == 400

    client = FormClient(server)
    client.open(authorize_url(server, app, [SCHEMA_WRITE, SENSITIVE_WRITE]))
    consent = client.sign_in(email)
    assert "re-authorizes" in consent.text
    assert "New" in consent.text
    new = exchange(server, app, redirect_params(client.decide())["code"]).json()
    with bearer(server, old["access_token"]) as api:
        assert api.post("/crm/v3/properties/contacts", json=passport).status_code == 403
    with bearer(server, new["access_token"]) as api:
        created = api.post("/crm/v3/properties/contacts", json=passport)
    assert created.status_code == 201, created.text
    installs = server.control("GET", f"/accounts/{hub_id}/installs")["results"]
    assert set(installs[0]["scopes"]) == {SCHEMA_WRITE, SENSITIVE_WRITE}


def test_token_endpoint_wants_known_grant_types(server: LocalSpotServer) -> None:
    refused = httpx.post(f"{server.url}/oauth/v1/token", data={"grant_type": "password"})
    assert refused.status_code == 400
    assert refused.json()["status"] in ("BAD_GRANT_TYPE", "BAD_CLIENT_ID")


def test_sdk_raises_on_bad_code(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    with pytest.raises(ApiException) as refused:
        _oauth(server).oauth.tokens_api.create(
            grant_type="authorization_code",
            code="nope",
            redirect_uri=REDIRECT_URI,
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
    assert refused.value.status == 400
    assert '"BAD_AUTH_CODE"' in refused.value.body


def test_refresh_with_a_narrower_scope_narrows_the_new_token(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    _, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ, SENSITIVE_READ])).json()
    # The .v2 name is an alias of the granted one (SPEC Part B2).
    narrowed = refresh(server, app, tokens["refresh_token"], scope=f"{SENSITIVE_READ}.v2")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scopes"] == [f"{SENSITIVE_READ}.v2"]
    info = _oauth(server).oauth.access_tokens_api.get(narrowed.json()["access_token"])
    assert info.scopes == [f"{SENSITIVE_READ}.v2"]
    with bearer(server, narrowed.json()["access_token"]) as api:
        assert api.get("/crm/v3/objects/contacts").status_code == 403
    # The grant itself is unchanged: the next refresh without scope gets all of it.
    full = _oauth(server).oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    with bearer(server, full.access_token) as api:
        assert api.get("/crm/v3/objects/contacts").status_code == 200


def test_access_token_info_has_a_signed_access_token(server: LocalSpotServer) -> None:
    app = new_public_app(server, [READ])
    hub_id, email = new_user(server)
    tokens = exchange(server, app, install(server, app, email, [READ])).json()
    # The v3 client's model has no signed_access_token, so read the body itself.
    body = httpx.get(f"{server.url}/oauth/v1/access-tokens/{tokens['access_token']}").json()
    signed = body["signed_access_token"]
    assert signed["hubId"] == hub_id == body["hub_id"]
    assert signed["appId"] == app.id == body["app_id"]
    assert signed["userId"] == body["user_id"] == signed["installingUserId"]
    assert signed["scopes"] == READ
    assert signed["hublet"] == "na1"
    assert signed["isUserLevel"] is False
    now = datetime.fromisoformat(server.control("GET", "/clock")["now"].replace("Z", "+00:00"))
    expires_ms = signed["expiresAt"] - now.timestamp() * 1000
    assert 0 < expires_ms <= 1800 * 1000
    assert abs(expires_ms / 1000 - body["expires_in"]) < 5
    assert len(signed["signature"]) == 64
    # The server recomputes the same signature for the same token.
    again = httpx.get(f"{server.url}/oauth/v1/access-tokens/{tokens['access_token']}").json()
    assert again["signed_access_token"] == signed
    # The older fields stay, and the v3 client still reads them.
    assert _oauth(server).oauth.access_tokens_api.get(tokens["access_token"]).hub_id == hub_id


@pytest.mark.parametrize("revoked_by", ["denied review", "scope dropped from the app"])
def test_a_revoked_sensitive_scope_leaves_issued_tokens_at_once(
    server: LocalSpotServer, revoked_by: str
) -> None:
    app = new_public_app(server, [READ, WRITE, SENSITIVE_READ, SCHEMA_WRITE, SENSITIVE_WRITE])
    _, email = new_user(server)
    tokens = exchange(
        server,
        app,
        install(server, app, email, [READ, WRITE, SENSITIVE_READ, SCHEMA_WRITE, SENSITIVE_WRITE]),
    ).json()
    with bearer(server, tokens["access_token"]) as api:
        made = api.post(
            "/crm/v3/properties/contacts",
            json={
                "name": "passport_number",
                "label": "Passport",
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "dataSensitivity": "sensitive",
            },
        )
        assert made.status_code == 201, made.text
        path = "/crm/v3/objects/contacts"
        created = api.post(path, json={"properties": {"passport_number": "P-REVOKED-1"}})
        assert created.status_code == 201, created.text
        read = f"{path}/{created.json()['id']}?properties=passport_number"
        assert api.get(read).json()["properties"]["passport_number"] == "P-REVOKED-1"

        if revoked_by == "denied review":
            server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/deny")
        else:
            kept = [READ, WRITE, SCHEMA_WRITE, SENSITIVE_WRITE]
            server.control("PATCH", f"/public-apps/{app.id}", json={"requiredScopes": kept})
        refused = api.get(read)
        assert refused.status_code == 403, refused.text
        assert refused.json()["category"] == "MISSING_SCOPES"
        assert "P-REVOKED" not in refused.text
        # The scopes it did not touch still work.
        assert api.get(f"{path}/{created.json()['id']}").status_code == 200

    info = _oauth(server).oauth.access_tokens_api.get(tokens["access_token"])
    assert set(info.scopes) == {READ, WRITE, SCHEMA_WRITE, SENSITIVE_WRITE}
    refreshed = refresh(server, app, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()["scopes"]) == {READ, WRITE, SCHEMA_WRITE, SENSITIVE_WRITE}
    with bearer(server, refreshed.json()["access_token"]) as api:
        assert api.get(read).status_code == 403
    asking = refresh(server, app, tokens["refresh_token"], scope=f"{READ} {SENSITIVE_READ}")
    assert asking.status_code == 400, asking.text
