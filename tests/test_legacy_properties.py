"""Properties API v1 and v2: every definition listed, with legacy dataSensitivity names."""

from __future__ import annotations

import httpx

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.legacy_support import define_sensitive, scopes_without_sensitive


def test_v1_contact_properties_list_every_level_with_legacy_names(http: httpx.Client) -> None:
    define_sensitive(http, "contacts")
    response = http.get("/properties/v1/contacts/properties")
    assert response.status_code == 200, response.text
    listed = {p["name"]: p for p in response.json()}
    assert listed["passport_number"]["dataSensitivity"] == "standard"
    assert listed["diagnosis"]["dataSensitivity"] == "high"
    assert listed["email"]["dataSensitivity"] == "none"
    email = listed["email"]
    assert email["hubspotDefined"] is True
    assert email["deleted"] is False
    assert isinstance(email["createdAt"], int)
    assert email["groupName"] == "contactinformation"

    one = http.get("/properties/v1/contacts/properties/named/passport_number")
    assert one.status_code == 200, one.text
    assert one.json()["dataSensitivity"] == "standard"
    assert http.get("/properties/v1/contacts/properties/named/nope").status_code == 404


def test_v2_lists_properties_of_other_objects(http: httpx.Client) -> None:
    define_sensitive(http, "deals")
    response = http.get("/properties/v2/deals/properties")
    assert response.status_code == 200, response.text
    levels = {p["name"]: p["dataSensitivity"] for p in response.json()}
    assert levels["passport_number"] == "standard"
    assert levels["diagnosis"] == "high"
    assert levels["dealname"] == "none"


def test_v1_create_update_and_delete_a_plain_property(http: httpx.Client) -> None:
    body = {
        "name": "favorite_color",
        "label": "Favorite color",
        "groupName": "contactinformation",
        "type": "enumeration",
        "fieldType": "select",
        "options": [
            {"label": "Red", "value": "red", "displayOrder": 0, "hidden": False, "readOnly": False},
            {"label": "Blue", "value": "blue", "displayOrder": 1, "hidden": False},
        ],
        "formField": True,
        "favorited": False,
    }
    made = http.post("/properties/v1/contacts/properties", json=body)
    assert made.status_code == 200, made.text
    assert made.json()["dataSensitivity"] == "none"
    assert [o["value"] for o in made.json()["options"]] == ["red", "blue"]

    changed = http.put(
        "/properties/v1/contacts/properties/named/favorite_color",
        json={**made.json(), "label": "Favourite colour"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["label"] == "Favourite colour"
    v3 = http.get("/crm/v3/properties/contacts/favorite_color").json()
    assert v3["label"] == "Favourite colour"
    assert v3["dataSensitivity"] == "non_sensitive"

    refused = http.put(
        "/properties/v1/contacts/properties/named/favorite_color",
        json={"dataSensitivity": "high"},
    )
    assert refused.status_code == 400

    deleted = http.delete("/properties/v1/contacts/properties/named/favorite_color")
    assert deleted.status_code == 204
    assert http.get("/crm/v3/properties/contacts/favorite_color").status_code == 404


def test_sensitive_definitions_through_legacy_follow_the_v3_policy(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    body = {
        "name": "tax_id",
        "label": "Tax ID",
        "groupName": "contactinformation",
        "type": "string",
        "fieldType": "text",
        "dataSensitivity": "standard",
    }
    plain = server.new_app(scopes_without_sensitive(), hub_id=full_app.hub_id)
    with http_client(server, plain) as client:
        denied = client.post("/properties/v1/contacts/properties", json=body)
        assert denied.status_code == 403, denied.text
        assert denied.json()["category"] == "MISSING_SCOPES"
        listed = client.get("/properties/v1/contacts/properties")
        assert listed.status_code == 200

    made = http.post("/properties/v1/contacts/properties", json=body)
    assert made.status_code == 200, made.text
    assert made.json()["dataSensitivity"] == "standard"
    assert http.get("/crm/v3/properties/contacts/tax_id").json()["dataSensitivity"] == "sensitive"

    bad = http.post(
        "/properties/v1/contacts/properties",
        json={**body, "name": "other_id", "dataSensitivity": "secret"},
    )
    assert bad.status_code == 400


def test_v2_named_property_round_trip_on_companies(http: httpx.Client) -> None:
    body = {
        "name": "tier_code",
        "label": "Tier code",
        "groupName": "companyinformation",
        "type": "string",
        "fieldType": "text",
        "dataSensitivity": "none",
    }
    made = http.post("/properties/v2/companies/properties", json=body)
    assert made.status_code == 200, made.text
    read = http.get("/properties/v2/companies/properties/named/tier_code")
    assert read.status_code == 200
    assert read.json()["label"] == "Tier code"
    changed = http.put(
        "/properties/v2/companies/properties/named/tier_code",
        json={"label": "Tier", "description": "Billing tier"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "Billing tier"
    assert http.delete("/properties/v2/companies/properties/named/tier_code").status_code == 204
    assert http.get("/properties/v2/companies/properties/named/tier_code").status_code == 404


def test_legacy_update_and_delete_of_sensitive_definitions_follow_the_v3_policy(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    define_sensitive(http, "companies")
    plain = server.new_app(scopes_without_sensitive(), hub_id=full_app.hub_id)
    named = "/properties/v2/companies/properties/named"
    with http_client(server, plain) as client:
        for name in ("passport_number", "diagnosis"):
            edited = client.put(f"{named}/{name}", json={"label": "Changed"})
            assert edited.status_code == 403, edited.text
            assert edited.json()["category"] == "MISSING_SCOPES"
            deleted = client.delete(f"{named}/{name}")
            assert deleted.status_code == 403, deleted.text
            kept = http.get(f"/crm/v3/properties/companies/{name}").json()
            assert (kept["label"], kept["archived"]) == (name.replace("_", " ").title(), False)

    edited = http.put(f"{named}/passport_number", json={"label": "Passport no."})
    assert edited.status_code == 200, edited.text
    assert edited.json()["dataSensitivity"] == "standard"
    relabelled = http.put(f"{named}/passport_number", json={"dataSensitivity": "none"})
    assert relabelled.status_code == 400, relabelled.text
    after = http.get("/crm/v3/properties/companies/passport_number").json()
    assert (after["label"], after["dataSensitivity"]) == ("Passport no.", "sensitive")

    assert http.delete(f"{named}/diagnosis").status_code == 204
    archived = http.get("/crm/v3/properties/companies/diagnosis", params={"archived": "true"})
    assert archived.json()["archived"] is True
