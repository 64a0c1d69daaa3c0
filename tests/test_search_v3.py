"""CRM Search v3 over HTTP: the contract's fixed cases, its limits and its error bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import hubspot
import pytest
from hubspot.crm.contacts import ApiException, Filter, FilterGroup, PublicObjectSearchRequest

from localspot.testing import App, LocalSpotServer

from .conftest import http_client, v3_client

SEARCH = "/crm/v3/objects/contacts/search"


def _eq(name: str, value: str) -> dict[str, Any]:
    return {"propertyName": name, "operator": "EQ", "value": value}


def _body(*filters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": list(filters)}], **extra}


def _create(http: httpx.Client, *props: dict[str, str]) -> list[str]:
    response = http.post(
        "/crm/v3/objects/contacts/batch/create", json={"inputs": [{"properties": p} for p in props]}
    )
    assert response.status_code == 201, response.text
    return sorted((r["id"] for r in response.json()["results"]), key=int)


def _sdk_refusal(client: hubspot.HubSpot, body: dict[str, Any], status: int) -> dict[str, Any]:
    """The error body hubspot-api-client raises for a contacts search sent as a plain dict."""
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.search_api.do_search(public_object_search_request=body)
    assert raised.value.status == status, raised.value.body
    error = json.loads(raised.value.body)
    assert error["status"] == "error"
    assert str(uuid.UUID(error["correlationId"])) == error["correlationId"]
    assert raised.value.headers["X-HubSpot-Correlation-Id"] == error["correlationId"]
    assert "results" not in error
    return error  # type: ignore[no-any-return]


def test_sdk_search_by_email_returns_a_get_shaped_record(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    ids = _create(http, {"email": "Ana@Example.org", "firstname": "Ana"}, {"email": "b@ex.org"})
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="email", operator="EQ", value="ana@example.ORG")]
            )
        ]
    )
    found = v3_client(server, full_app).crm.contacts.search_api.do_search(
        public_object_search_request=request
    )
    assert found.total == 1
    assert found.paging is None
    [record] = found.results
    got = http.get(f"/crm/v3/objects/contacts/{ids[0]}").json()
    assert record.to_dict()["properties"] == got["properties"]
    assert record.id == ids[0]


def test_dated_path_paging_and_total(http: httpx.Client) -> None:
    ids = _create(http, *({"email": f"p{i}@page.org", "lastname": "Pager"} for i in range(5)))
    body = _body(_eq("lastname", "pager"), limit=2)
    seen = []
    after = None
    for _ in range(3):
        page = http.post(
            "/crm/objects/2026-03/contacts/search",
            json={**body, **({"after": after} if after else {})},
        ).json()
        assert page["total"] == 5
        seen += [r["id"] for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    assert seen == ids and after is None


def test_archived_and_merged_records_are_never_returned(http: httpx.Client) -> None:
    kept, archived, merged = _create(
        http, *({"email": f"{n}@gone.org", "lastname": "Gone"} for n in ("k", "a", "m"))
    )
    assert http.delete(f"/crm/v3/objects/contacts/{archived}").status_code == 204
    response = http.post(
        "/crm/v3/objects/contacts/merge", json={"primaryObjectId": kept, "objectIdToMerge": merged}
    )
    assert response.status_code == 200, response.text
    found = http.post(SEARCH, json=_body(_eq("lastname", "gone"))).json()
    assert [r["id"] for r in found["results"]] == [kept] and found["total"] == 1


def test_sorts_query_and_tokens(http: httpx.Client) -> None:
    ids = _create(
        http,
        {"email": "zed.alpha@tok.org", "firstname": "Zed", "lastname": "Tokker"},
        {"email": "amy@tok.org", "firstname": "Amy", "lastname": "Tokker"},
        {"email": "bo@other.org", "firstname": "Bo", "lastname": "Tokker"},
    )
    sort = [{"propertyName": "firstname", "direction": "DESCENDING"}]
    found = http.post(SEARCH, json=_body(_eq("lastname", "tokker"), sorts=sort)).json()
    assert [r["id"] for r in found["results"]] == [ids[0], ids[2], ids[1]]  # Zed, Bo, Amy
    token = {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@tok.org"}
    found = http.post(SEARCH, json=_body(token)).json()
    assert [r["id"] for r in found["results"]] == ids[:2]
    token["value"] = "alpha"
    assert [r["id"] for r in http.post(SEARCH, json=_body(token)).json()["results"]] == ids[:1]
    found = http.post(SEARCH, json={"query": "tokk am"}).json()
    assert [r["id"] for r in found["results"]] == [ids[1]]


def _cannot_build(problem: str) -> list[dict[str, str]]:
    message = f"Cannot build Filter, {problem}"
    return [{"message": message, "code": "INVALID_INPUT", "in": "filterGroups[0].filters[0]"}]


NO_SUCH_PROPERTY = [
    {
        "message": 'Property "no_such_property" does not exist',
        "code": "PROPERTY_DOESNT_EXIST",
        "context": {"propertyName": ["no_such_property"]},
    }
]
OPERATORS = "EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, "
OPERATORS += "CONTAINS_TOKEN, NOT_CONTAINS_TOKEN"


# Each case: the body sent (a plain dict, so the client's models cannot refuse it first), the
# whole message, and the errors[] and context the server sets (None: the key is absent).
@pytest.mark.parametrize(
    ("body", "message", "errors", "context"),
    [
        (
            {"filterGroups": [{"filters": [_eq("email", "x")]}] * 6},
            "Too many filter groups: at most 5 are allowed.",
            [
                {
                    "message": "too many filter groups",
                    "code": "TOO_MANY_FILTER_GROUPS",
                    "in": "filterGroups",
                }
            ],
            None,
        ),
        (
            _body(*[_eq("email", "x")] * 7),
            "Too many filters in filterGroups[0].filters: a filter group holds at most 6 filters.",
            [
                {
                    "message": "too many filters",
                    "code": "TOO_MANY_FILTERS",
                    "in": "filterGroups[0].filters",
                }
            ],
            None,
        ),
        (
            {"filterGroups": [{"filters": [_eq("email", "x")] * 5}] * 4},
            "Too many filters: a search holds at most 18 filters across its filter groups.",
            [{"message": "too many filters", "code": "TOO_MANY_FILTERS", "in": "filters"}],
            None,
        ),
        ({"limit": 201}, "limit must be between 1 and 200", None, {"limit": ["201"]}),
        ({"limit": 0}, "limit must be between 1 and 200", None, {"limit": ["0"]}),
        (
            {"query": "x" * 3001},
            "query is too long: at most 3000 characters.",
            None,
            {"query": ["3001 characters"]},
        ),
        (
            {"after": "10000"},
            "Search results are limited to 10000: paging past them is not supported. "
            "Narrow the search with filters instead.",
            None,
            {"after": ["10000"]},
        ),
        (
            {"after": "abc"},
            "after must be a paging cursor from a previous page",
            None,
            {"after": ["abc"]},
        ),
        (
            _body({"propertyName": "email", "operator": "LIKE", "value": "x"}),
            f"Invalid input JSON: operator 'LIKE' is not one of the values accepted: [{OPERATORS}]",
            [
                {
                    "message": "Unknown operator 'LIKE'",
                    "code": "INVALID_OPERATOR",
                    "in": "filterGroups[0].filters[0].operator",
                }
            ],
            None,
        ),
        (
            _body({"propertyName": "email", "operator": "EQ"}),
            "Invalid input JSON: Cannot build Filter, problem: operator EQ requires a value",
            _cannot_build("problem: operator EQ requires a value"),
            None,
        ),
        (
            _body({"propertyName": "email", "operator": "BETWEEN", "value": "a"}),
            "Invalid input JSON: Cannot build Filter, "
            "problem: operator BETWEEN requires a highValue",
            _cannot_build("problem: operator BETWEEN requires a highValue"),
            None,
        ),
        (
            _body({"propertyName": "email", "operator": "IN"}),
            "Invalid input JSON: Cannot build Filter, problem: operator IN requires values",
            _cannot_build("problem: operator IN requires values"),
            None,
        ),
        (
            _body({"propertyName": "email", "operator": "HAS_PROPERTY", "value": "x"}),
            "Invalid input JSON: Cannot build Filter, problem: "
            "operator HAS_PROPERTY does not take a value",
            _cannot_build("problem: operator HAS_PROPERTY does not take a value"),
            None,
        ),
        (
            _body({"operator": "EQ", "value": "x"}),
            "Invalid input JSON: Cannot build Filter, "
            "some of required attributes are not set [propertyName]",
            _cannot_build("some of required attributes are not set [propertyName]"),
            None,
        ),
        (
            _body(_eq("no_such_property", "x")),
            'Property "no_such_property" does not exist on contacts; '
            "search filters and sorts need existing properties.",
            NO_SUCH_PROPERTY,
            None,
        ),
        (
            {"sorts": [{"propertyName": "no_such_property", "direction": "ASCENDING"}]},
            'Property "no_such_property" does not exist on contacts; '
            "search filters and sorts need existing properties.",
            NO_SUCH_PROPERTY,
            None,
        ),
        (
            _body(_eq("createdate", "yesterday")),
            'Invalid filter on "createdate": EQ needs epoch milliseconds or an ISO 8601 date '
            "for a datetime property.",
            None,
            {"propertyName": ["createdate"]},
        ),
        (
            _body({"propertyName": "createdate", "operator": "CONTAINS_TOKEN", "value": "1"}),
            'Invalid filter on "createdate": CONTAINS_TOKEN applies to text and enumeration '
            "properties, not to a datetime property.",
            None,
            {"propertyName": ["createdate"]},
        ),
    ],
)
def test_malformed_searches_get_validation_errors(
    v3: hubspot.HubSpot,
    body: dict[str, Any],
    message: str,
    errors: list[dict[str, Any]] | None,
    context: dict[str, list[str]] | None,
) -> None:
    error = _sdk_refusal(v3, body, 400)
    assert error["category"] == "VALIDATION_ERROR"
    assert error["message"] == message
    assert error.get("errors") == errors
    assert error.get("context") == context


def test_sdk_sees_a_400_for_an_unknown_property(server: LocalSpotServer, full_app: App) -> None:
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="nope", operator="EQ", value="x")])
        ]
    )
    with pytest.raises(ApiException) as raised:
        v3_client(server, full_app).crm.contacts.search_api.do_search(
            public_object_search_request=request
        )
    assert raised.value.status == 400
    assert '"category":"VALIDATION_ERROR"' in raised.value.body


def test_the_ten_thousand_ceiling_keeps_the_real_total(
    server: LocalSpotServer, make_app: Callable[..., App]
) -> None:
    app = make_app(["crm.objects.contacts.read", "crm.objects.contacts.write"])
    with http_client(server, app) as http:
        _create(http, *({"email": f"c{i}@ceil.org"} for i in range(30)))
        page = http.post(SEARCH, json={"limit": 200, "after": "9990"}).json()
        assert page["total"] == 30 and page["results"] == [] and "paging" not in page


def test_without_the_read_scope_search_is_refused(
    server: LocalSpotServer, make_app: Callable[..., App]
) -> None:
    app = make_app(["crm.objects.companies.read"])
    error = _sdk_refusal(v3_client(server, app), {}, 403)
    assert error["category"] == "MISSING_SCOPES"
    assert error["message"].startswith("This app hasn't been granted all required scopes")
    assert error["errors"] == [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]},
        }
    ]
    assert error["links"] == {"scopes": "https://developers.hubspot.com/scopes"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"{not json",
            "Invalid input JSON on line 1, column 2: unexpected character, expected a string key",
        ),
        (b'[{"limit": 1}]', "Invalid input JSON: expected a JSON object"),
    ],
)
def test_bodies_the_client_cannot_send_get_validation_errors(
    http: httpx.Client, content: bytes, message: str
) -> None:
    """hubspot-api-client always serialises a JSON object, so these go over raw HTTP."""
    response = http.post(SEARCH, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == "error" and error["correlationId"]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["message"] == message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"filterGroups": {}}, "filterGroups"),
        ({"filterGroups": ""}, "filterGroups"),
        ({"filters": {}}, "filters"),
        ({"filterGroups": [{"filters": {}}]}, "filterGroups[0].filters"),
    ],
)
def test_an_empty_object_is_no_empty_list(
    http: httpx.Client, body: dict[str, Any], where: str
) -> None:
    """Only an absent or null list reads as empty: ``{}`` matched every record."""
    response = http.post("/crm/v3/objects/contacts/search", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["category"] == "VALIDATION_ERROR"
    assert error["errors"] == [
        {"message": f"{where} must be a list", "code": "INVALID_INPUT", "in": where}
    ]
