"""Private and public app ids share one number space: the webhooks API must never take one kind
of app for the other. These tests make a private and a public app with the same id."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer
from tests.oauth_helpers import REDIRECT_URI, PublicApp, new_public_app
from tests.public_webhook_helpers import (
    READ,
    developer_api,
    developer_key,
    install_into,
    new_contact,
    patch_contact,
    signatures,
    wire_public,
)
from tests.webhook_helpers import client, wire
from tests.webhook_receiver import Receiver


def _public_app(server: LocalSpotServer, developer_id: int) -> PublicApp:
    made = server.control(
        "POST",
        f"/developers/{developer_id}/apps",
        json={"name": "Twin", "redirectUris": [REDIRECT_URI], "requiredScopes": [READ]},
    )
    return PublicApp(made["id"], made["clientId"], made["clientSecret"], made)


@pytest.fixture(scope="module")
def twins(server: LocalSpotServer) -> tuple[App, PublicApp, str]:
    """A private app and a public app with the same id, and the public app's developer key.
    Whichever kind is behind gets new apps until the ids meet."""
    hub_id = server.new_account("enterprise")
    developer = server.control("POST", "/developers", json={"name": "Twin developer"})
    private = server.new_app(all_scopes(), hub_id=hub_id)
    public = _public_app(server, developer["id"])
    for _ in range(20_000):
        if public.id == private.app_id:
            break
        if public.id < private.app_id:
            public = _public_app(server, developer["id"])
        else:
            private = server.new_app(all_scopes(), hub_id=hub_id)
    assert public.id == private.app_id
    return private, public, developer_key(server, public)


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    pair = (Receiver(), Receiver())
    yield pair
    for r in pair:
        r.close()


def _hapi(server: LocalSpotServer, method: str, path: str, key: str, **kw) -> httpx.Response:
    params = {"hapikey": key, **kw.pop("params", {})}
    return httpx.request(method, server.url + path, params=params, timeout=30, **kw)


def _settings(url: str) -> dict:
    return {"targetUrl": url, "throttling": {"maxConcurrentRequests": 10}}


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["results"]]


def test_each_credential_names_its_own_kind_of_app(
    server: LocalSpotServer, twins: tuple[App, PublicApp, str]
) -> None:
    private, public, key = twins
    app_id = private.app_id
    base = f"/webhooks/v3/{app_id}"
    admin = server.admin_key
    with client(server, private) as own:
        put = own.put(f"{base}/settings", json=_settings("https://private.test/"))
        assert put.status_code == 200
        # The public twin has no settings yet; the private app's are not its.
        assert _hapi(server, "GET", f"{base}/settings", key).status_code == 404
        assert (
            _hapi(server, "GET", f"{base}/settings", admin, params={"appKind": "public"})
        ).status_code == 404
        put = _hapi(server, "PUT", f"{base}/settings", key, json=_settings("https://public.test/"))
        assert put.status_code == 200, put.text
        assert own.get(f"{base}/settings").json()["targetUrl"] == "https://private.test/"
    assert _hapi(server, "GET", f"{base}/settings", key).json()["targetUrl"] == (
        "https://public.test/"
    )
    # The admin key names a private app unless appKind says otherwise.
    assert _hapi(server, "GET", f"{base}/settings", admin).json()["targetUrl"] == (
        "https://private.test/"
    )
    as_public = _hapi(server, "GET", f"{base}/settings", admin, params={"appKind": "public"})
    assert as_public.json()["targetUrl"] == "https://public.test/"


def test_neither_twin_can_touch_the_others_subscriptions(
    server: LocalSpotServer, twins: tuple[App, PublicApp, str]
) -> None:
    private, public, key = twins
    base = f"/webhooks/v3/{private.app_id}/subscriptions"
    body = {"eventType": "contact.propertyChange", "propertyName": "lastname"}
    with client(server, private) as own:
        mine = own.post(base, json=body).json()["id"]
        theirs = _hapi(server, "POST", base, key, json=body).json()["id"]
        assert mine in _ids(own.get(base)) and theirs not in _ids(own.get(base))
        for method, extra in (("GET", {}), ("PATCH", {"json": {"active": True}}), ("DELETE", {})):
            assert own.request(method, f"{base}/{theirs}", **extra).status_code == 404, method
            answer = _hapi(server, method, f"{base}/{mine}", key, **extra)
            assert answer.status_code == 404, method
            assert answer.json()["category"] == "OBJECT_NOT_FOUND"
        batch = {"inputs": [{"id": int(mine), "active": True}]}
        crossed = _hapi(server, "POST", f"{base}/batch/update", key, json=batch)
        assert crossed.status_code == 207 and crossed.json()["results"] == []
        assert own.get(f"{base}/{mine}").json()["active"] is False
    listed = developer_api(server, key).subscriptions_api.get_all(public.id).results
    assert theirs in [s.id for s in listed] and mine not in [s.id for s in listed]
    assert mine in _ids(_hapi(server, "GET", base, server.admin_key))
    as_public = _hapi(server, "GET", base, server.admin_key, params={"appKind": "public"})
    assert theirs in _ids(as_public)
    control = "/webhooks/{}-apps/" + str(private.app_id) + "/subscriptions"
    private_ids = [s["id"] for s in server.control("GET", control.format("private"))["results"]]
    public_ids = [s["id"] for s in server.control("GET", control.format("public"))["results"]]
    assert mine in private_ids and theirs not in private_ids
    assert theirs in public_ids and mine not in public_ids


def test_credentials_that_name_the_wrong_kind_or_owner_are_refused(
    server: LocalSpotServer, twins: tuple[App, PublicApp, str]
) -> None:
    private, public, key = twins
    path = f"/webhooks/v3/{private.app_id}/subscriptions"
    wrong_kind = _hapi(server, "GET", path, key, params={"appKind": "private"})
    assert wrong_kind.status_code == 403 and wrong_kind.json()["category"] == "FORBIDDEN"
    with client(server, private) as own:
        assert own.get(path, params={"appKind": "public"}).status_code == 403
        bad = own.get(path, params={"appKind": "shared"})
        assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    stranger = new_public_app(server, [READ])
    stranger_key = developer_key(server, stranger)
    assert _hapi(server, "GET", path, stranger_key).status_code == 404
    assert _hapi(server, "GET", path, "not-a-key").status_code == 401
    # An OAuth access token belongs to an install, not to the app's developer.
    _, token = install_into(server, stranger)
    oauth = httpx.get(
        server.url + f"/webhooks/v3/{stranger.id}/subscriptions",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert oauth.status_code == 403 and oauth.json()["category"] == "FORBIDDEN"
    # A developer key can be replaced; the old one stops working.
    own_path = f"/webhooks/v3/{stranger.id}/subscriptions"
    assert _hapi(server, "GET", own_path, stranger_key).status_code == 200
    replaced = developer_key(server, stranger)
    assert _hapi(server, "GET", own_path, stranger_key).status_code == 401
    assert _hapi(server, "GET", own_path, replaced).status_code == 200


def test_twins_in_one_account_each_get_their_own_signed_events(
    server: LocalSpotServer,
    twins: tuple[App, PublicApp, str],
    receivers: tuple[Receiver, Receiver],
) -> None:
    private, public, key = twins
    to_private, to_public = receivers
    install_into(server, public, hub_id=private.hub_id)
    private_secret, _ = wire(
        server,
        private,
        to_private.url,
        [{"eventType": "contact.propertyChange", "propertyName": "firstname"}],
    )
    wire_public(server, public.id, key, to_public.url, ["firstname"])

    patch_contact(server, private, new_contact(server, private), firstname="Twin")
    for receiver, secret, other in (
        (to_private, private_secret, public.client_secret),
        (to_public, public.client_secret, private_secret),
    ):
        (event,) = receiver.wait_events(1)
        assert event["appId"] == private.app_id and event["propertyValue"] == "Twin"
        (request,) = receiver.requests
        assert signatures(request, secret, receiver.url) == (True, True)
        assert signatures(request, other, receiver.url) == (False, False)
