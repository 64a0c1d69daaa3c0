"""Bugs a new user's hostile session found, each pinned over HTTP so it stays fixed."""

from __future__ import annotations

import httpx
import pytest

from localspot.testing import App, LocalSpotServer

# '²' passes str.isdigit() but int() refuses it; 25 digits overflow a BIGINT.
ODD = "²"
HUGE = "9" * 25

ODD_NUMBER_REQUESTS = [
    ("GET", f"/crm/v3/objects/contacts/{ODD}", None, 404),
    ("GET", f"/crm/v3/objects/contacts?after={ODD}", None, 400),
    ("GET", f"/crm/v3/objects/contacts?after={HUGE}", None, 400),
    ("POST", "/crm/v3/objects/contacts/batch/read", {"inputs": [{"id": ODD}]}, 207),
    ("POST", "/crm/v3/objects/contacts/batch/archive", {"inputs": [{"id": ODD}]}, 204),
    ("GET", f"/crm/v4/objects/contacts/1/associations/companies?after={ODD}", None, 400),
    ("PUT", f"/crm/v4/objects/contacts/{ODD}/associations/default/companies/{ODD}", None, 400),
    ("POST", "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": ODD}]}, 207),
    ("DELETE", f"/crm/v4/associations/contacts/companies/labels/{ODD}", None, 400),
    ("GET", f"/webhooks/v3/{ODD}/settings", None, 400),
    ("GET", f"/marketing/v3/forms?after={ODD}", None, 400),
    ("POST", f"/submissions/v3/integration/submit/{ODD}/f", {"fields": []}, 404),
    ("GET", f"/form-integrations/v1/submissions/forms/f?after={ODD}", None, 400),
    ("GET", f"/contacts/v1/contact/vid/{ODD}/profile", None, 404),
    ("GET", f"/companies/v2/companies/{ODD}", None, 404),
    ("GET", f"/deals/v1/deal/{ODD}", None, 404),
    ("GET", f"/contacts/v1/contact/vids/batch/?vid={ODD}", None, 200),
    ("GET", f"/contacts/v1/lists/all/contacts/all?vidOffset={HUGE}", None, 400),
    ("GET", f"/contacts/v1/lists/recently_updated/contacts/recent?timeOffset={HUGE}", None, 400),
    ("GET", f"/crm/v3/schemas/2-{ODD}", None, 404),
    ("GET", f"/crm/v3/objects/2-{HUGE}", None, 400),
    ("GET", f"/oauth/{ODD}/authorize?client_id=x", None, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ODD_NUMBER_REQUESTS)
def test_odd_or_huge_numbers_in_ids_and_cursors_are_client_errors(
    http: httpx.Client, method: str, path: str, body: object, status: int
) -> None:
    response = http.request(method, path, json=body)

    assert response.status_code == status, response.text
    if status >= 400 and response.headers["content-type"].startswith("application/json"):
        assert response.json()["status"] == "error"


@pytest.mark.parametrize(
    "path",
    [
        f"/localspot/v1/accounts/{ODD}",
        f"/localspot/v1/accounts/{HUGE}",
        f"/localspot/v1/private-apps/{ODD}",
        f"/localspot/v1/webhooks/private-apps/{HUGE}/secret",
        f"/localspot/v1/public-apps/{ODD}/installs",
        f"/localspot/v1/accounts/{HUGE}/forms",
    ],
)
def test_control_plane_refuses_odd_or_huge_ids(server: LocalSpotServer, path: str) -> None:
    response = server.admin.get(path)

    assert response.status_code in (400, 404), response.text


@pytest.mark.parametrize("value", [ODD, "86400000" + "0" * 15, "-" + HUGE])
def test_date_values_out_of_range_are_invalid_not_a_crash(http: httpx.Client, value: str) -> None:
    for name, kind in (("regress_day", "date"), ("regress_moment", "datetime")):
        created = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": kind,
                "fieldType": "date",
                "groupName": "contactinformation",
            },
        )
        assert created.status_code in (201, 409), created.text

        response = http.post("/crm/v3/objects/contacts", json={"properties": {name: value}})

        assert response.status_code == 400, response.text
        assert response.json()["category"] == "VALIDATION_ERROR"


PROPERTY_FIELDS = [
    "label",
    "type",
    "fieldType",
    "groupName",
    "description",
    "displayOrder",
    "options",
    "hidden",
    "formField",
]


@pytest.mark.parametrize("field", PROPERTY_FIELDS)
def test_null_in_a_property_patch_changes_nothing(http: httpx.Client, field: str) -> None:
    path = "/crm/v3/properties/contacts"
    created = http.post(
        path,
        json={
            "name": "regress_level",
            "label": "Level",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
            "options": [{"label": "A", "value": "a", "hidden": False}],
        },
    )
    assert created.status_code == 201, created.text

    response = http.patch(f"{path}/regress_level", json={field: None})

    assert response.status_code == 200, response.text
    after = http.get(f"{path}/regress_level").json()
    for key in ("label", "type", "fieldType", "groupName", "options", "hidden", "formField"):
        assert after[key] == created.json()[key]


@pytest.mark.parametrize("field", ["label", "displayOrder"])
def test_null_in_a_property_group_patch_changes_nothing(http: httpx.Client, field: str) -> None:
    path = "/crm/v3/properties/contacts/groups"
    assert http.post(path, json={"name": "regress_group", "label": "G"}).status_code == 201

    response = http.patch(f"{path}/regress_group", json={field: None})

    assert response.status_code == 200, response.text
    assert response.json()["label"] == "G"


@pytest.mark.parametrize(
    "field",
    [
        "labels",
        "requiredProperties",
        "searchableProperties",
        "secondaryDisplayProperties",
        "allowsSensitiveProperties",
    ],
)
def test_null_in_a_schema_patch_changes_nothing(http: httpx.Client, field: str) -> None:
    created = http.post(
        "/crm/v3/schemas",
        json={
            "name": "regress_pets",
            "labels": {"singular": "Pet", "plural": "Pets"},
            "primaryDisplayProperty": "pet_name",
            "requiredProperties": ["pet_name"],
            "properties": [
                {"name": "pet_name", "label": "Name", "type": "string", "fieldType": "text"}
            ],
            "associatedObjects": ["CONTACT"],
        },
    )
    assert created.status_code == 201, created.text
    type_id = created.json()["objectTypeId"]

    response = http.patch(f"/crm/v3/schemas/{type_id}", json={field: None})

    assert response.status_code == 200, response.text
    assert response.json()["labels"] == {"singular": "Pet", "plural": "Pets"}
    assert response.json()["requiredProperties"] == ["pet_name"]


NUL_REQUESTS = [
    ("POST", "/crm/v3/objects/contacts", {"properties": {"firstname": "a\u0000b"}}),
    ("POST", "/crm/v3/objects/contacts", {"properties": {"email": "x\u0000@example.org"}}),
    ("POST", "/crm/v3/properties/contacts/groups", {"name": "g", "label": "a\u0000"}),
    ("POST", "/crm/v4/associations/contacts/companies/labels", {"name": "l", "label": "\u0000"}),
    ("GET", "/crm/v3/properties/contacts/a%00b", None),
    ("GET", "/crm/v3/objects/contacts?properties=a%00b", None),
    ("GET", "/marketing/v3/forms/a%00b", None),
    ("POST", "/contacts/v1/contact/createOrUpdate/email/a%00b@example.org", {"properties": []}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_REQUESTS)
def test_nul_characters_are_refused_on_every_store(
    http: httpx.Client, method: str, path: str, body: object
) -> None:
    response = http.request(method, path, json=body)

    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert "NUL" in response.json()["message"]


def test_an_escaped_backslash_before_u0000_is_plain_text(http: httpx.Client) -> None:
    response = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "\\u0000"}})

    assert response.status_code == 201, response.text
    assert response.json()["properties"]["firstname"] == "\\u0000"


@pytest.mark.parametrize("grant_type", ["refresh_token", "authorization_code"])
def test_a_nul_in_an_oauth_client_id_is_a_bad_client(
    server: LocalSpotServer, grant_type: str
) -> None:
    form = {
        "grant_type": grant_type,
        "client_id": "a\u0000b",
        "client_secret": "s",
        "refresh_token": "r",
        "code": "c",
        "redirect_uri": "http://localhost/cb",
    }

    response = httpx.post(f"{server.url}/oauth/v1/token", data=form)

    assert response.status_code == 400, response.text
    assert response.json()["status"] == "BAD_CLIENT_ID"


def test_oversized_bodies_are_refused_with_413(http: httpx.Client) -> None:
    big = b'{"properties": {"firstname": "' + b"x" * (17 * 1024 * 1024) + b'"}}'
    response = http.post(
        "/crm/v3/objects/contacts", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_sensitive_values_close_while_the_account_is_below_enterprise(
    server: LocalSpotServer, full_app: App
) -> None:
    """Regression: a downgraded account's sensitive grants still read and wrote values."""
    from tests.conftest import http_client
    from tests.records_helpers import add_property

    with http_client(server, full_app) as client:
        add_property(client, "contacts", "contactinformation")
        made = client.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "tier@example.org", "passport_number": "TIER-1"}},
        )
        assert made.status_code == 201, made.text
        record = f"/crm/v3/objects/contacts/{made.json()['id']}"
        search = {
            "filterGroups": [
                {"filters": [{"propertyName": "passport_number", "operator": "HAS_PROPERTY"}]}
            ]
        }

        server.control("PATCH", f"/accounts/{full_app.hub_id}", json={"tier": "professional"})
        refused = [
            client.get(record, params={"properties": "passport_number"}),
            client.patch(record, json={"properties": {"passport_number": "TIER-2"}}),
            client.post("/crm/v3/objects/contacts/search", json=search),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403], [r.text for r in refused]
        assert {r.json()["category"] for r in refused} == {"FORBIDDEN"}
        assert all("TIER-1" not in r.text for r in refused)
        plain = client.get(record, params={"properties": "email"})
        assert plain.status_code == 200
        assert plain.json()["properties"]["email"] == "tier@example.org"

        server.control("PATCH", f"/accounts/{full_app.hub_id}", json={"tier": "enterprise"})
        again = client.get(record, params={"properties": "passport_number"})
        assert again.json()["properties"]["passport_number"] == "TIER-1"


def test_ids_of_deleted_records_and_subscriptions_are_never_given_again(
    server: LocalSpotServer, full_app: App
) -> None:
    """Regression: SQLite gave the newest deleted row's id to the next one (no AUTOINCREMENT)."""
    from tests.conftest import http_client

    with http_client(server, full_app) as client:
        made = client.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": "gone@example.org"}}
        )
        gone = int(made.json()["id"])
        deleted = client.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(gone)})
        assert deleted.status_code == 204, deleted.text
        after = client.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": "next@example.org"}}
        )
        assert int(after.json()["id"]) > gone

        hooks = f"/webhooks/v3/{full_app.app_id}/subscriptions"
        body = {"eventType": "contact.creation"}
        first = client.post(hooks, json=body).json()["id"]
        assert client.delete(f"{hooks}/{first}").status_code == 204
        assert int(client.post(hooks, json=body).json()["id"]) > int(first)


# More values than PostgreSQL takes as parameters of one statement (65,535) ------------------

MANY = 70_000


def test_a_search_naming_tens_of_thousands_of_properties_answers(http: httpx.Client) -> None:
    """Regression: on PostgreSQL the definitions lookup was one IN list of every name (a 500)."""
    made = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "Many"}})
    assert made.status_code == 201, made.text
    names = ["firstname", *(f"nope_{i}" for i in range(MANY))]
    found = http.post("/crm/v3/objects/contacts/search", json={"properties": names})
    assert found.status_code == 200, found.text
    [record] = found.json()["results"]
    assert record["properties"]["firstname"] == "Many"


def test_a_search_with_too_many_in_values_is_a_400(http: httpx.Client) -> None:
    """Regression: 65,600 values in one IN filter answered 500 on PostgreSQL."""
    values = [f"v{i}" for i in range(10_001)]
    body = {"filters": [{"propertyName": "firstname", "operator": "IN", "values": values}]}
    refused = http.post("/crm/v3/objects/contacts/search", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert refused.json()["errors"][0]["code"] == "TOO_MANY_VALUES"
    body["filters"][0]["values"] = values[:10_000]
    assert http.post("/crm/v3/objects/contacts/search", json=body).status_code == 200


def test_archiving_associations_to_tens_of_thousands_of_ids_answers(http: httpx.Client) -> None:
    """Regression: one input whose ``to`` held 70,000 ids answered 500 on PostgreSQL."""
    contact = http.post("/crm/v3/objects/contacts", json={"properties": {}}).json()["id"]
    company = http.post("/crm/v3/objects/companies", json={"properties": {}}).json()["id"]
    linked = http.put(
        f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
    )
    assert linked.status_code == 200, linked.text
    targets = [{"id": str(i)} for i in range(10**9, 10**9 + MANY)] + [{"id": company}]
    archived = http.post(
        "/crm/v4/associations/contacts/companies/batch/archive",
        json={"inputs": [{"from": {"id": contact}, "to": targets}]},
    )
    assert archived.status_code == 204, archived.text
    left = http.get(f"/crm/v4/objects/contacts/{contact}/associations/companies")
    assert left.json()["results"] == []


def test_a_long_value_that_lowering_lengthens_is_stored(http: httpx.Client) -> None:
    """Regression: value_norm was cut to 255 characters and then lower-cased, and "İ" lowers
    to two characters: PostgreSQL refused the longer text (a 500)."""
    value = "İ" * 300
    made = http.post("/crm/v3/objects/contacts", json={"properties": {"lastname": value}})
    assert made.status_code == 201, made.text
    read = http.get(f"/crm/v3/objects/contacts/{made.json()['id']}?properties=lastname")
    assert read.json()["properties"]["lastname"] == value
