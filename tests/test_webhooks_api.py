"""Webhooks management API v3 (SPEC §5.1, Part B7): HubSpot's clients and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import hubspot
import pytest
from hubspot.webhooks import (
    BatchInputSubscriptionBatchUpdateRequest,
    SettingsChangeRequest,
    SubscriptionBatchUpdateRequest,
    SubscriptionCreateRequest,
    SubscriptionPatchRequest,
    ThrottlingSettings,
)

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer
from tests.conftest import sdk_client
from tests.records_helpers import add_custom_object
from tests.webhook_helpers import client


@pytest.fixture
def app(server: LocalSpotServer) -> App:
    return server.new_app(all_scopes())


@pytest.fixture
def http(server: LocalSpotServer, app: App) -> Iterator[httpx.Client]:
    with client(server, app) as c:
        yield c


def _developer_client(server: LocalSpotServer) -> hubspot.HubSpot:
    """hubspot-api-client's webhooks API authenticates with the developer key (hapikey)."""
    return hubspot.HubSpot(api_key=server.admin_key, host=server.url)


def _settings(url: str = "https://example.test/hook", concurrent: int = 10) -> dict:
    return {"targetUrl": url, "throttling": {"maxConcurrentRequests": concurrent}}


def test_settings_round_trip_with_hubspot_api_client(server: LocalSpotServer, app: App) -> None:
    api = _developer_client(server).webhooks
    with pytest.raises(hubspot.webhooks.ApiException) as missing:
        api.settings_api.get_all(app.app_id)
    assert missing.value.status == 404

    made = api.settings_api.configure(
        app.app_id,
        SettingsChangeRequest(
            target_url="https://example.test/hook",
            throttling=ThrottlingSettings(max_concurrent_requests=12),
        ),
    )
    assert made.target_url == "https://example.test/hook"
    assert made.throttling.max_concurrent_requests == 12
    assert api.settings_api.get_all(app.app_id).target_url == "https://example.test/hook"

    api.settings_api.clear(app.app_id)
    with pytest.raises(hubspot.webhooks.ApiException):
        api.settings_api.get_all(app.app_id)


def test_settings_body_and_validation(http: httpx.Client, app: App) -> None:
    path = f"/webhooks/v3/{app.app_id}/settings"
    put = http.put(
        path,
        json={**_settings(), "throttling": {"maxConcurrentRequests": 10, "period": "SECONDLY"}},
    )
    assert put.status_code == 200
    body = put.json()
    assert set(body) == {"targetUrl", "throttling", "createdAt", "updatedAt"}
    assert body["throttling"] == {"maxConcurrentRequests": 10, "period": "SECONDLY"}
    assert body["createdAt"].endswith("Z")

    for bad in (
        _settings(concurrent=4),
        _settings(url="ftp://example.test/x"),
        _settings(url="not a url"),
        {"targetUrl": "https://example.test/hook"},
        {**_settings(), "extra": 1},
    ):
        response = http.put(path, json=bad)
        assert response.status_code == 400, bad
        assert response.json()["category"] == "VALIDATION_ERROR"
    assert http.get(path).json()["throttling"]["maxConcurrentRequests"] == 10

    assert http.delete(path).status_code == 204
    gone = http.get(path)
    assert gone.status_code == 404 and gone.json()["category"] == "OBJECT_NOT_FOUND"


def test_subscriptions_lifecycle_with_hubspot_api_client(server: LocalSpotServer, app: App) -> None:
    api = _developer_client(server).webhooks.subscriptions_api
    made = api.create(
        app.app_id,
        SubscriptionCreateRequest(event_type="contact.propertyChange", property_name="firstname"),
    )
    assert made.active is False  # new subscriptions start inactive
    assert made.event_type == "contact.propertyChange" and made.property_name == "firstname"
    second = api.create(app.app_id, SubscriptionCreateRequest(event_type="deal.creation"))

    assert [s.id for s in api.get_all(app.app_id).results] == [made.id, second.id]
    assert api.update(made.id, app.app_id, SubscriptionPatchRequest(active=True)).active is True
    assert api.get_by_id(made.id, app.app_id).active is True

    batch = api.update_batch(
        app.app_id,
        BatchInputSubscriptionBatchUpdateRequest(
            inputs=[
                SubscriptionBatchUpdateRequest(id=int(made.id), active=False),
                SubscriptionBatchUpdateRequest(id=int(second.id), active=True),
            ]
        ),
    )
    assert batch.status == "COMPLETE"
    assert {(s.id, s.active) for s in batch.results} == {(made.id, False), (second.id, True)}

    api.archive(second.id, app.app_id)
    assert [s.id for s in api.get_all(app.app_id).results] == [made.id]


def test_subscriptions_with_the_date_versioned_sdk(server: LocalSpotServer, app: App) -> None:
    sdk = sdk_client(server, app)
    made = sdk.webhooks.create_event_subscription(
        app.app_id,
        active=True,
        event_type="object.propertyChange",
        object_type_id="0-2",
        property_name="name",
    )
    assert made.active and made.object_type_id == "0-2" and made.property_name == "name"
    listed = sdk.webhooks.list_event_subscriptions(app.app_id)
    assert [s.id for s in listed.results] == [made.id]


def test_batch_update_with_an_unknown_id_is_multi_status(http: httpx.Client, app: App) -> None:
    base = f"/webhooks/v3/{app.app_id}/subscriptions"
    made = http.post(base, json={"eventType": "ticket.deletion"}).json()
    response = http.post(
        f"{base}/batch/update",
        json={
            "inputs": [{"id": int(made["id"]), "active": True}, {"id": 999999999, "active": True}]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "COMPLETE" and body["numErrors"] == 1
    assert [r["active"] for r in body["results"]] == [True]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["999999999"]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"eventType": "contact.explode"}, "eventType"),
        ({"eventType": "product.associationChange"}, "eventType"),
        ({"eventType": "contact.propertyChange"}, "propertyName is required"),
        ({"eventType": "contact.creation", "propertyName": "email"}, "propertyName"),
        ({"eventType": "object.creation"}, "objectTypeId is required"),
        ({"eventType": "object.creation", "objectTypeId": "contacts"}, "objectTypeId"),
        # An app of one account subscribes to that account's object types only.
        ({"eventType": "object.creation", "objectTypeId": "2-999999"}, "2-999999"),
        (
            {
                "eventType": "object.propertyChange",
                "objectTypeId": "2-999999",
                "propertyName": "model",
            },
            "2-999999",
        ),
        (
            {"eventType": "contact.propertyChange", "propertyName": "hs_lastmodifieddate"},
            "hs_lastmodifieddate",
        ),
        ({"eventType": "contact.creation", "active": "yes"}, "active"),
        ({"eventType": "contact.creation", "color": "red"}, "color"),
    ],
)
def test_subscription_validation(http: httpx.Client, app: App, body: dict, fragment: str) -> None:
    response = http.post(f"/webhooks/v3/{app.app_id}/subscriptions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert fragment in response.text
    assert http.get(f"/webhooks/v3/{app.app_id}/subscriptions").json() == {"results": []}


def test_highly_sensitive_property_cannot_be_subscribed(http: httpx.Client, app: App) -> None:
    for name, level in (("passport_number", "sensitive"), ("ssn", "highly_sensitive")):
        made = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "dataSensitivity": level,
            },
        )
        assert made.status_code == 201, made.text
    base = f"/webhooks/v3/{app.app_id}/subscriptions"
    refused = http.post(base, json={"eventType": "contact.propertyChange", "propertyName": "ssn"})
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert "highly sensitive" in refused.json()["message"]
    # A sensitive one needs no sensitive scope: its values arrive REDACTED.
    allowed = http.post(
        base, json={"eventType": "contact.propertyChange", "propertyName": "passport_number"}
    )
    assert allowed.status_code == 201


def test_who_may_manage_an_apps_webhooks(server: LocalSpotServer, app: App) -> None:
    other = server.new_app(all_scopes())
    path = f"/webhooks/v3/{app.app_id}/subscriptions"
    with client(server, other) as http:
        forbidden = http.get(path)
    assert forbidden.status_code == 403 and forbidden.json()["category"] == "FORBIDDEN"
    assert httpx.get(server.url + path).status_code == 401
    assert httpx.get(server.url + path, params={"hapikey": "wrong"}).status_code == 401
    assert httpx.get(server.url + path, params={"hapikey": server.admin_key}).status_code == 200
    missing = httpx.get(
        f"{server.url}/webhooks/v3/987654321/subscriptions", params={"hapikey": server.admin_key}
    )
    assert missing.status_code == 404


def test_unknown_subscription_is_404(http: httpx.Client, app: App) -> None:
    base = f"/webhooks/v3/{app.app_id}/subscriptions"
    for method in ("GET", "DELETE"):
        response = http.request(method, f"{base}/424242")
        assert response.status_code == 404
        assert response.json()["category"] == "OBJECT_NOT_FOUND"
    assert http.patch(f"{base}/424242", json={"active": True}).status_code == 404
    assert http.patch(f"{base}/abc", json={"active": True}).status_code == 400


def test_one_thousand_subscriptions_per_app(http: httpx.Client, app: App) -> None:
    base = f"/webhooks/v3/{app.app_id}/subscriptions"
    for i in range(1000):
        made = http.post(
            base, json={"eventType": "contact.propertyChange", "propertyName": f"p{i}"}
        )
        assert made.status_code == 201, made.text
    refused = http.post(base, json={"eventType": "contact.creation"})
    assert refused.status_code == 400
    body = refused.json()
    assert set(body) == {"status", "message", "correlationId", "requestId"}
    assert body["message"] == (
        "Couldn't create another subscription. "
        "You've reached the maximum number allowed per application (1000)."
    )
    assert len(http.get(base).json()["results"]) == 1000


def test_batch_update_takes_the_string_ids_that_get_hands_out(
    server: LocalSpotServer, app: App, http: httpx.Client
) -> None:
    # GET /subscriptions renders ids as strings, HubSpot's schema types the batch input's id
    # as an integer; before the fix the string a client read back was refused with
    # "id: Input should be a valid integer".
    api = _developer_client(server).webhooks.subscriptions_api
    made = api.create(app.app_id, SubscriptionCreateRequest(event_type="contact.creation"))
    [listed] = api.get_all(app.app_id).results
    assert isinstance(listed.id, str)
    batch = api.update_batch(
        app.app_id,
        BatchInputSubscriptionBatchUpdateRequest(
            inputs=[SubscriptionBatchUpdateRequest(id=listed.id, active=True)]
        ),
    )
    assert [(s.id, s.active) for s in batch.results] == [(made.id, True)]

    path = f"/webhooks/v3/{app.app_id}/subscriptions/batch/update"
    raw = http.post(path, json={"inputs": [{"id": made.id, "active": False}]})
    assert raw.status_code == 200, raw.text
    assert raw.json()["results"][0]["active"] is False
    for bad in ("x1", "1.0", " 1", "-1", "+1", "", "١", "1" * 19, 1.5, True, None):
        refused = http.post(path, json={"inputs": [{"id": bad, "active": True}]})
        assert refused.status_code == 400, (bad, refused.text)
        body = refused.json()
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR", bad
        assert body["errors"][0]["in"] == "id", bad
    assert api.get_by_id(made.id, app.app_id).active is False


def test_sensitive_properties_of_custom_objects_cannot_be_subscribed(
    http: httpx.Client, app: App
) -> None:
    """The guide takes sensitive propertyChange subscriptions on contacts, companies, deals and
    tickets; add_custom_object's passport_number is sensitive, its model is not."""
    cars = add_custom_object(http)
    base = f"/webhooks/v3/{app.app_id}/subscriptions"
    on = {"eventType": "object.propertyChange", "objectTypeId": cars}
    refused = http.post(base, json={**on, "propertyName": "passport_number"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert refused.json()["context"] == {"propertyName": ["passport_number"]}
    assert http.post(base, json={**on, "propertyName": "model"}).status_code == 201
