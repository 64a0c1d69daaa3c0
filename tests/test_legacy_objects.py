"""Companies API v2 and Deals API v1 over the records v3 writes: sensitive values never cross."""

from __future__ import annotations

from typing import Any

import httpx
import hubspot

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.legacy_support import (
    CANARY,
    HIGH_CANARY,
    assert_clean,
    define,
    define_sensitive,
    v3_create,
    v3_history,
    v3_values,
)
from tests.records_helpers import all_ids

SENSITIVE = {"passport_number": CANARY, "diagnosis": HIGH_CANARY}


def _props(items: dict[str, Any]) -> dict[str, Any]:
    return {"properties": [{"name": k, "value": v} for k, v in items.items()]}


def _unchanged(http: httpx.Client, object_type: str, record_id: Any) -> None:
    values = v3_values(http, object_type, record_id, "passport_number", "diagnosis")
    assert values["passport_number"] == CANARY
    assert values["diagnosis"] == HIGH_CANARY


def test_company_read_create_update_delete(http: httpx.Client) -> None:
    define_sensitive(http, "companies")
    company_id = v3_create(http, "companies", {"name": "Acme", "domain": "acme.io", **SENSITIVE})

    read = http.get(f"/companies/v2/companies/{company_id}")
    assert read.status_code == 200, read.text
    assert_clean(read)
    body = read.json()
    assert body["companyId"] == int(company_id)
    assert body["isDeleted"] is False
    assert isinstance(body["portalId"], int)
    name = body["properties"]["name"]
    assert name["value"] == "Acme"
    assert name["source"] == "API"
    assert name["versions"][0] == {
        "name": "name",
        "value": "Acme",
        "timestamp": name["timestamp"],
        "source": "API",
        "sourceId": name["sourceId"],
        "sourceVid": [],
    }

    made = http.post(
        "/companies/v2/companies", json=_props({"name": "Beta", "passport_number": CANARY})
    )
    assert made.status_code == 200, made.text
    assert_clean(made)
    made_id = made.json()["companyId"]
    assert made.json()["properties"]["name"]["value"] == "Beta"
    assert v3_values(http, "companies", made_id, "passport_number")["passport_number"] is None

    updated = http.put(
        f"/companies/v2/companies/{company_id}",
        json=_props({"name": "Acme Inc", "passport_number": "X", "diagnosis": "Y"}),
    )
    assert updated.status_code == 200, updated.text
    assert_clean(updated)
    assert updated.json()["properties"]["name"]["value"] == "Acme Inc"
    assert [v["value"] for v in updated.json()["properties"]["name"]["versions"]] == [
        "Acme Inc",
        "Acme",
    ]
    _unchanged(http, "companies", company_id)
    assert v3_history(http, "companies", company_id, "name")[0]["sourceType"] == "API"

    deleted = http.delete(f"/companies/v2/companies/{company_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"companyId": int(company_id), "deleted": True}
    assert http.get(f"/companies/v2/companies/{company_id}").status_code == 404
    assert http.get(f"/crm/v3/objects/companies/{company_id}").status_code == 404


def test_deal_read_create_update_delete(http: httpx.Client) -> None:
    define_sensitive(http, "deals")
    deal_id = v3_create(http, "deals", {"dealname": "Big", "amount": "10", **SENSITIVE})

    read = http.get(f"/deals/v1/deal/{deal_id}")
    assert read.status_code == 200, read.text
    assert_clean(read)
    body = read.json()
    assert body["dealId"] == int(deal_id)
    assert body["isDeleted"] is False
    assert body["associations"]["associatedVids"] == []
    assert body["properties"]["dealname"]["value"] == "Big"
    assert body["properties"]["amount"]["value"] == "10"

    made = http.post(
        "/deals/v1/deal",
        json={"associations": {}, **_props({"dealname": "Small", "diagnosis": HIGH_CANARY})},
    )
    assert made.status_code == 200, made.text
    assert_clean(made)
    made_id = made.json()["dealId"]
    assert made.json()["properties"]["dealname"]["value"] == "Small"
    assert v3_values(http, "deals", made_id, "diagnosis")["diagnosis"] is None

    updated = http.put(
        f"/deals/v1/deal/{deal_id}", json=_props({"amount": "25", "passport_number": "X"})
    )
    assert updated.status_code == 200, updated.text
    assert_clean(updated)
    assert updated.json()["properties"]["amount"]["value"] == "25"
    assert len(updated.json()["properties"]["amount"]["versions"]) == 1
    every = http.get(f"/deals/v1/deal/{deal_id}", params={"includePropertyVersions": "true"})
    assert [v["value"] for v in every.json()["properties"]["amount"]["versions"]] == ["25", "10"]
    _unchanged(http, "deals", deal_id)

    assert http.delete(f"/deals/v1/deal/{deal_id}").status_code == 204
    assert http.get(f"/deals/v1/deal/{deal_id}").status_code == 404
    assert http.delete(f"/deals/v1/deal/{deal_id}").status_code == 404


def test_legacy_object_validation_errors_use_validation_results(http: httpx.Client) -> None:
    define(http, "deals", "seats", "non_sensitive", type="number", fieldType="number")
    response = http.post("/deals/v1/deal", json=_props({"dealname": "Bad", "seats": "many"}))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "Property values were not valid"
    [result] = body["validationResults"]
    assert result["name"] == "seats"
    assert result["isValid"] is False
    assert result["error"] == "INVALID_INTEGER"
    listed = http.get("/crm/v3/objects/deals", params={"properties": "dealname"}).json()
    assert "Bad" not in {d["properties"]["dealname"] for d in listed["results"]}

    company = http.put("/companies/v2/companies/1", json={"properties": "nope"})
    assert company.status_code == 400


def test_deal_create_with_associations(
    server: LocalSpotServer, full_app: App, http: httpx.Client, v3: hubspot.HubSpot
) -> None:
    # Before the fix any non-empty associations object was refused with "LocalSpot does not
    # support associations in deal bodies yet"; HubSpot's deals v1 takes them.
    define_sensitive(http, "deals")
    contact = v3_create(http, "contacts", {"email": "ana@example.org"})
    other = v3_create(http, "contacts", {"email": "bo@example.org"})
    company = v3_create(http, "companies", {"name": "Acme"})
    earlier = v3_create(http, "deals", {"dealname": "Earlier"})
    made = http.post(
        "/deals/v1/deal",
        json={
            "associations": {
                "associatedVids": [int(contact), other],  # HubSpot's clients send numbers
                "associatedCompanyIds": [int(company)],
                "associatedDealIds": [earlier],
            },
            **_props({"dealname": "Linked", **SENSITIVE}),
        },
    )
    assert made.status_code == 200, made.text
    assert_clean(made)
    deal_id = made.json()["dealId"]
    wanted = {
        "associatedVids": sorted([int(contact), int(other)]),
        "associatedCompanyIds": [int(company)],
        "associatedDealIds": [int(earlier)],
        "associatedTicketIds": [],
    }
    assert made.json()["associations"] == wanted
    read = http.get(f"/deals/v1/deal/{deal_id}")
    assert read.json()["associations"] == wanted
    assert_clean(read)
    assert v3_values(http, "deals", deal_id, "passport_number")["passport_number"] is None

    # The v4 API (HubSpot's client) sees the default associations, from both sides.
    page = v3.crm.associations.v4.basic_api.get_page("deals", str(deal_id), "contacts")
    assert sorted(int(r.to_object_id) for r in page.results) == wanted["associatedVids"]
    assert {(t.category, t.type_id) for r in page.results for t in r.association_types} == {
        ("HUBSPOT_DEFINED", 3)
    }
    back = v3.crm.associations.v4.basic_api.get_page("companies", company, "deals")
    assert [int(r.to_object_id) for r in back.results] == [deal_id]

    # A token that may not read contacts still reads the deal, without the contact ids.
    deals_only = server.new_app(["crm.objects.deals.read"], hub_id=full_app.hub_id)
    with http_client(server, deals_only) as limited:
        seen = limited.get(f"/deals/v1/deal/{deal_id}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["associations"]["associatedVids"] == []


def test_deal_create_with_bad_associations_creates_nothing(http: httpx.Client) -> None:
    contact = v3_create(http, "contacts", {"email": "ana@example.org"})
    before = all_ids(http, "deals")
    for associations, fragment in [
        ({"associatedVids": [int(contact), 999999999]}, "999999999"),
        ({"associatedCompanyIds": [999999998]}, "999999998"),
        ({"associatedDealIds": [999999997]}, "999999997"),
        ({"associatedVids": ["x"]}, "associatedVids"),
        ({"associatedVids": 5}, "associatedVids"),
        ([1], "associations"),
    ]:
        refused = http.post(
            "/deals/v1/deal",
            json={"associations": associations, **_props({"dealname": "Nope"})},
        )
        assert refused.status_code == 400, (associations, refused.text)
        body = refused.json()
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
        assert fragment in body["message"], (associations, body)
    assert all_ids(http, "deals") == before
    page = http.get(f"/crm/v4/objects/contacts/{contact}/associations/deals")
    assert page.json()["results"] == []


def test_companies_and_deals_page_without_sensitive_values(http: httpx.Client) -> None:
    """GET /companies/v2/companies/paged and /deals/v1/deal/paged: ids only unless
    ``properties`` names some, in id order after ``offset``; "paged" was taken for an id."""
    define_sensitive(http, "companies")
    companies = [v3_create(http, "companies", {"name": f"Co {i}", **SENSITIVE}) for i in range(3)]

    first = http.get("/companies/v2/companies/paged", params={"limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [c["companyId"] for c in body["companies"]] == [int(i) for i in companies[:2]]
    assert all(c["properties"] == {} for c in body["companies"])
    assert (body["has-more"], body["offset"]) == (True, int(companies[1]))
    asked = http.get(
        "/companies/v2/companies/paged",
        params=[
            ("offset", body["offset"]),
            ("properties", "name"),
            ("properties", "passport_number"),
        ],
    )
    assert_clean(asked)
    [last] = asked.json()["companies"]
    assert (last["companyId"], last["properties"]["name"]["value"]) == (int(companies[2]), "Co 2")
    assert asked.json()["has-more"] is False
    too_many = http.get("/companies/v2/companies/paged", params={"limit": 251})
    assert too_many.status_code == 400

    define_sensitive(http, "deals")
    made = v3_create(http, "deals", {"dealname": "D", **SENSITIVE})
    linked = http.put(f"/crm/v4/objects/deals/{made}/associations/default/companies/{companies[0]}")
    assert linked.status_code == 200, linked.text
    deals = http.get(
        "/deals/v1/deal/paged",
        params={"properties": "dealname", "includeAssociations": "true", "limit": 250},
    )
    assert deals.status_code == 200, deals.text
    assert_clean(deals)
    [found] = deals.json()["deals"]
    assert found["dealId"] == int(made)
    assert found["properties"]["dealname"]["value"] == "D"
    assert found["associations"]["associatedCompanyIds"] == [int(companies[0])]
    assert deals.json()["hasMore"] is False
