"""Search and sensitive data (SPEC §1.3, Part B3): scopes, highly sensitive, query, exactness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hubspot.crm.contacts import ApiException, Filter, FilterGroup, PublicObjectSearchRequest

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer

from .conftest import http_client, v3_client

SEARCH = "/crm/v3/objects/contacts/search"
BASE = ["crm.objects.contacts.read", "crm.objects.contacts.write"]
SENSITIVE_READ = "crm.objects.contacts.sensitive.read.v2"
HIGHLY_READ = "crm.objects.contacts.highly_sensitive.read.v2"


@pytest.fixture
def account(server: LocalSpotServer) -> tuple[int, list[str]]:
    """An account with a sensitive and a highly sensitive contact property, and three records."""
    admin = server.new_app(all_scopes())
    with http_client(server, admin) as http:
        for name, level in (("passport", "sensitive"), ("diagnosis", "highly_sensitive")):
            response = http.post(
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
            assert response.status_code == 201, response.text
        inputs = [
            {"properties": {"email": "a@s.org", "passport": "Zebra-1234 X", "diagnosis": "flu"}},
            {"properties": {"email": "b@s.org", "passport": "P-77", "lastname": "zebra"}},
            {"properties": {"email": "c@s.org"}},
        ]
        made = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs})
        assert made.status_code == 201, made.text
    return admin.hub_id, sorted((r["id"] for r in made.json()["results"]), key=int)


def _client(server: LocalSpotServer, hub_id: int, scopes: list[str]) -> httpx.Client:
    return http_client(server, server.new_app(scopes, hub_id=hub_id))


def _missing(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [scope]
    assert "results" not in body


@pytest.mark.parametrize(
    "body",
    [
        {"filterGroups": [{"filters": [{"propertyName": "passport", "operator": "HAS_PROPERTY"}]}]},
        {"sorts": [{"propertyName": "passport", "direction": "ASCENDING"}]},
        {"properties": ["email", "passport"]},
    ],
)
def test_a_sensitive_property_needs_the_sensitive_read_scope(
    server: LocalSpotServer, account: tuple[int, list[str]], body: dict[str, Any]
) -> None:
    hub_id, _ = account
    with _client(server, hub_id, BASE) as http:
        _missing(http.post(SEARCH, json=body), SENSITIVE_READ)


def test_sdk_gets_the_403_too(server: LocalSpotServer, account: tuple[int, list[str]]) -> None:
    hub_id, _ = account
    app = server.new_app(BASE, hub_id=hub_id)
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="passport", operator="EQ", value="p-77")])
        ]
    )
    with pytest.raises(ApiException) as raised:
        v3_client(server, app).crm.contacts.search_api.do_search(
            public_object_search_request=request
        )
    assert raised.value.status == 403 and "MISSING_SCOPES" in raised.value.body


def test_with_the_scope_equality_on_a_sealed_value_is_exact(
    server: LocalSpotServer, account: tuple[int, list[str]]
) -> None:
    hub_id, ids = account
    app = server.new_app([*BASE, SENSITIVE_READ], hub_id=hub_id)
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="passport", operator="EQ", value="p-77")])
        ],
        properties=["passport"],
    )
    found = v3_client(server, app).crm.contacts.search_api.do_search(
        public_object_search_request=request
    )
    assert [r.id for r in found.results] == [ids[1]]
    assert found.results[0].properties["passport"] == "P-77"


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("CONTAINS_TOKEN", "zebra", [0]),
        ("CONTAINS_TOKEN", "*-77", [1]),
        ("NOT_CONTAINS_TOKEN", "zebra*", [1, 2]),
        ("NEQ", "p-77", [0, 2]),
        ("GT", "q", [0]),
        ("NOT_HAS_PROPERTY", None, [2]),
    ],
)
def test_every_operator_stays_exact_on_sealed_values(
    server: LocalSpotServer,
    account: tuple[int, list[str]],
    operator: str,
    value: str | None,
    expected: list[int],
) -> None:
    hub_id, ids = account
    f: dict[str, Any] = {"propertyName": "passport", "operator": operator}
    if value is not None:
        f["value"] = value
    sort = [{"propertyName": "passport", "direction": "DESCENDING"}]
    with _client(server, hub_id, [*BASE, SENSITIVE_READ]) as http:
        found = http.post(SEARCH, json={"filterGroups": [{"filters": [f]}], "sorts": sort}).json()
    assert [r["id"] for r in found["results"]] == [ids[i] for i in expected]
    assert found["total"] == len(expected)


def test_query_never_matches_sensitive_values(
    server: LocalSpotServer, account: tuple[int, list[str]]
) -> None:
    hub_id, ids = account
    with _client(server, hub_id, [*BASE, SENSITIVE_READ, HIGHLY_READ]) as http:
        found = http.post(SEARCH, json={"query": "zebra"}).json()
        assert [r["id"] for r in found["results"]] == [ids[1]]  # by lastname, not passport
        assert http.post(SEARCH, json={"query": "flu"}).json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {
            "filterGroups": [
                {"filters": [{"propertyName": "diagnosis", "operator": "HAS_PROPERTY"}]}
            ]
        },
        {"sorts": [{"propertyName": "diagnosis", "direction": "ASCENDING"}]},
        {"properties": ["diagnosis"]},
    ],
)
def test_highly_sensitive_properties_are_refused(
    server: LocalSpotServer, account: tuple[int, list[str]], body: dict[str, Any]
) -> None:
    hub_id, _ = account
    with _client(server, hub_id, [*BASE, SENSITIVE_READ]) as http:
        _missing(http.post(SEARCH, json=body), HIGHLY_READ)
    with _client(server, hub_id, [*BASE, SENSITIVE_READ, HIGHLY_READ]) as http:
        response = http.post(SEARCH, json=body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert "search does not support highly sensitive properties" in response.text.lower()


def test_sensitive_filter_values_stay_out_of_the_log(
    server: LocalSpotServer, account: tuple[int, list[str]], make_app: Callable[..., App]
) -> None:
    hub_id, _ = account
    secret = "Quokka-98765"
    f = {"propertyName": "passport", "operator": "CONTAINS_TOKEN", "value": secret}
    with _client(server, hub_id, BASE) as http:
        http.post(SEARCH, json={"filterGroups": [{"filters": [f]}]})
    with _client(server, hub_id, [*BASE, SENSITIVE_READ]) as http:
        f["operator"] = "LT"
        http.post(SEARCH, json={"filterGroups": [{"filters": [f]}]})
    assert secret.lower() not in server.log_text().lower()
