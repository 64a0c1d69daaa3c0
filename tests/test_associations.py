"""Associations between records, over HTTP with hubspot-api-client (v4 API and v3 fields)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.associations.v4.exceptions import ApiException
from hubspot.crm.associations.v4.schema import (
    PublicAssociationDefinitionCreateRequest,
    PublicAssociationDefinitionUpdateRequest,
)
from hubspot.crm.associations.v4.schema.exceptions import ApiException as SchemaApiException
from hubspot.crm.contacts import AssociationSpec as V3Spec
from hubspot.crm.contacts import PublicAssociationsForObject, SimplePublicObjectInputForCreate
from hubspot.crm.contacts import PublicObjectId as V3Id
from hubspot.crm.objects import PublicObjectSearchRequest as ObjectSearchRequest

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client, v3_client

HS = "HUBSPOT_DEFINED"


def new(http: httpx.Client, object_type: str, **properties: str) -> str:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def types_of(page: object) -> dict[str, set[int]]:
    return {r.to_object_id: {t.type_id for t in r.association_types} for r in page.results}  # type: ignore[attr-defined]


def error_body(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_default_association_both_directions(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    contact = new(http, "contacts", email="ana@example.org")
    company = new(http, "companies", name="Acme")
    basic = v3.crm.associations.v4.basic_api

    created = basic.create_default("contact", contact, "company", company)
    specs = {(r._from.id, r.to.id, r.association_spec.association_type_id) for r in created.results}
    assert specs == {(contact, company, 279), (company, contact, 280)}

    assert types_of(basic.get_page("contacts", contact, "companies")) == {company: {279}}
    assert types_of(basic.get_page("companies", company, "contacts")) == {contact: {280}}
    # Idempotent: a second default association changes nothing.
    basic.create_default("contacts", contact, "companies", company)
    assert types_of(basic.get_page("contacts", contact, "companies")) == {company: {279}}


def test_labelled_association_primary_moves_and_labels_replace(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    contact = new(http, "contacts", email="bo@example.org")
    first, second = new(http, "companies", name="One"), new(http, "companies", name="Two")
    basic = v3.crm.associations.v4.basic_api
    primary = [AssociationSpec(association_category=HS, association_type_id=1)]

    made = basic.create("contacts", contact, "companies", first, primary)
    assert made.labels == ["Primary"] and str(made.to_object_id) == first
    assert types_of(basic.get_page("contacts", contact, "companies")) == {first: {1, 279}}
    assert types_of(basic.get_page("companies", first, "contacts")) == {contact: {2, 280}}

    # A contact has one primary company: naming another moves it.
    basic.create("contacts", contact, "companies", second, primary)
    assert types_of(basic.get_page("contacts", contact, "companies")) == {
        first: {279},
        second: {1, 279},
    }
    assert types_of(basic.get_page("companies", first, "contacts")) == {contact: {280}}

    # A labelled PUT sets the labels to exactly those given.
    billing = [AssociationSpec(association_category=HS, association_type_id=931)]
    assert basic.create("contacts", contact, "companies", second, billing).labels == [
        "Billing contact"
    ]
    assert types_of(basic.get_page("contacts", contact, "companies"))[second] == {279, 931}


def test_remove_association(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    deal, contact = new(http, "deals", dealname="D"), new(http, "contacts", email="c@example.org")
    basic = v3.crm.associations.v4.basic_api
    basic.create_default("deals", deal, "contacts", contact)
    basic.archive("deals", deal, "contacts", contact)
    assert basic.get_page("deals", deal, "contacts").results == []
    assert basic.get_page("contacts", contact, "deals").results == []
    basic.archive("deals", deal, "contacts", "424242")  # unknown ids: still 204


def test_errors_missing_records_and_unknown_types(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    contact = new(http, "contacts", email="err@example.org")
    basic = v3.crm.associations.v4.basic_api
    with pytest.raises(ApiException) as missing:
        basic.create_default("contacts", contact, "companies", "987654321")
    assert missing.value.status == 400
    body = error_body(missing.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["context"] == {"toObjectId": ["987654321"]}

    company = new(http, "companies", name="Err")
    wrong = [AssociationSpec(association_category=HS, association_type_id=3)]  # deal->contact
    with pytest.raises(ApiException) as unknown:
        basic.create("contacts", contact, "companies", company, wrong)
    assert unknown.value.status == 400
    assert error_body(unknown.value)["subCategory"] == "crm.associations.INVALID_ASSOCIATION_TYPE"
    assert basic.get_page("contacts", contact, "companies").results == []  # nothing written

    malformed = http.put(
        f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}",
        json=[{"associationCategory": "SOMETHING", "associationTypeId": 279}],
    )
    assert malformed.status_code == 400
    assert malformed.json()["category"] == "VALIDATION_ERROR"


def test_paging_and_archived_records_drop_out(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    contact = new(http, "contacts", email="pager@example.org")
    deals = [new(http, "deals", dealname=f"D{i}") for i in range(7)]
    batch = v3.crm.associations.v4.batch_api
    batch.create_default(
        "contacts",
        "deals",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(
                    _from=PublicObjectId(id=contact), to=PublicObjectId(id=d)
                )
                for d in deals
            ]
        ),
    )
    basic = v3.crm.associations.v4.basic_api
    seen: list[str] = []
    after = None
    while True:
        page = basic.get_page("contacts", contact, "deals", limit=3, after=after)
        seen += [str(r.to_object_id) for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == deals

    assert http.delete(f"/crm/v3/objects/deals/{deals[0]}").status_code == 204
    listed = [str(r.to_object_id) for r in basic.get_page("contacts", contact, "deals").results]
    assert listed == deals[1:]
    too_big = http.get(f"/crm/v4/objects/contacts/{contact}/associations/deals?limit=501")
    assert too_big.status_code == 400


def test_batch_create_read_archive_with_partial_failure(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    contacts = [new(http, "contacts", email=f"b{i}@example.org") for i in range(2)]
    company = new(http, "companies", name="Batchco")
    batch = v3.crm.associations.v4.batch_api
    spec = [AssociationSpec(association_category=HS, association_type_id=279)]

    def post(from_id: str, to_id: str = company) -> PublicAssociationMultiPost:
        return PublicAssociationMultiPost(
            _from=PublicObjectId(id=from_id), to=PublicObjectId(id=to_id), types=spec
        )

    inputs = [post(c) for c in contacts] + [post("31337"), post(contacts[0], "424242")]
    made, status, _ = batch.create_with_http_info(
        "contacts", "companies", BatchInputPublicAssociationMultiPost(inputs=inputs)
    )
    assert status == 207
    assert len(made.results) == 2
    assert {(r.from_object_id, r.to_object_id) for r in made.results} == {
        (c, company) for c in contacts
    }
    # Each bad input is its own error, naming the side and the id that does not exist.
    assert made.num_errors == 2
    assert [e.category for e in made.errors] == ["VALIDATION_ERROR"] * 2
    assert [e.sub_category for e in made.errors] == ["crm.associations.INVALID_OBJECT_IDS"] * 2
    assert [e.context for e in made.errors] == [
        {"fromObjectId": ["31337"]},
        {"toObjectId": ["424242"]},
    ]
    assert [e.message for e in made.errors] == [
        "These records do not exist or are archived: contact 31337",
        "These records do not exist or are archived: company 424242",
    ]
    raw = http.post(
        "/crm/v4/associations/contacts/companies/batch/create",
        json={
            "inputs": [
                {
                    "from": {"id": "31337"},
                    "to": {"id": company},
                    "types": [{"associationCategory": HS, "associationTypeId": 279}],
                }
            ]
        },
    )
    assert raw.status_code == 207
    assert raw.json()["numErrors"] == 1
    assert raw.json()["errors"][0]["context"] == {"fromObjectId": ["31337"]}

    read = http.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        json={"inputs": [{"id": contacts[0]}, {"id": "31337"}]},
    )
    assert read.status_code == 207
    body = read.json()
    assert [r["from"]["id"] for r in body["results"]] == [contacts[0]]
    assert body["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert body["errors"][0]["context"]["fromObjectId"] == ["31337"]
    pages = batch.get_page(
        "contacts",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=c) for c in contacts]
        ),
    )
    assert {r._from.id for r in pages.results} == set(contacts)

    batch.archive(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiArchive(
            inputs=[
                PublicAssociationMultiArchive(
                    _from=PublicObjectId(id=contacts[0]), to=[PublicObjectId(id=company)]
                )
            ]
        ),
    )
    left = v3.crm.associations.v4.basic_api.get_page("companies", company, "contacts")
    assert [str(r.to_object_id) for r in left.results] == [contacts[1]]


def test_labels_create_list_update_delete_and_archive_labels(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    definitions = v3.crm.associations.v4.schema.definitions_api
    made = definitions.create(
        "contacts",
        "deals",
        PublicAssociationDefinitionCreateRequest(
            label="Decision maker", name="decision_maker", inverse_label="Decided by"
        ),
    )
    forward, backward = made.results
    assert (forward.category, forward.label) == ("USER_DEFINED", "Decision maker")
    assert backward.label == "Decided by"
    listed = definitions.get_all("contacts", "deals").results
    assert [(t.category, t.type_id, t.label) for t in listed] == [
        (HS, 4, None),
        ("USER_DEFINED", forward.type_id, "Decision maker"),
    ]
    assert backward.type_id in {t.type_id for t in definitions.get_all("deals", "contacts").results}

    contact, deal = new(http, "contacts", email="dm@example.org"), new(http, "deals", dealname="X")
    basic = v3.crm.associations.v4.basic_api
    label = AssociationSpec(
        association_category="USER_DEFINED", association_type_id=forward.type_id
    )
    assert basic.create("contacts", contact, "deals", deal, [label]).labels == ["Decision maker"]
    assert types_of(basic.get_page("deals", deal, "contacts")) == {contact: {3, backward.type_id}}

    definitions.update(
        "contacts",
        "deals",
        PublicAssociationDefinitionUpdateRequest(
            association_type_id=forward.type_id, label="Decider", inverse_label="Decided on by"
        ),
    )
    page = basic.get_page("contacts", contact, "deals")
    assert {t.label for t in page.results[0].association_types} == {None, "Decider"}

    # Removing only the label keeps the unlabeled association.
    v3.crm.associations.v4.batch_api.archive_labels(
        "contacts",
        "deals",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=PublicObjectId(id=contact), to=PublicObjectId(id=deal), types=[label]
                )
            ]
        ),
    )
    assert types_of(basic.get_page("contacts", contact, "deals")) == {deal: {4}}

    definitions.remove("contacts", "deals", forward.type_id)
    assert [t.type_id for t in definitions.get_all("contacts", "deals").results] == [4]
    duplicate = {"label": "Same", "name": "same"}
    assert (
        http.post("/crm/v4/associations/contacts/deals/labels", json=duplicate).status_code == 200
    )
    again = http.post("/crm/v4/associations/contacts/deals/labels", json=duplicate)
    assert again.status_code == 400


def test_custom_object_associations(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    schema = http.post(
        "/crm/v3/schemas",
        json={
            "name": "bikes",
            "labels": {"singular": "Bike", "plural": "Bikes"},
            "primaryDisplayProperty": "model",
            "requiredProperties": ["model"],
            "properties": [
                {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}
            ],
            "associatedObjects": ["CONTACT"],
        },
    )
    assert schema.status_code == 201, schema.text
    type_id = schema.json()["objectTypeId"]
    assert {
        (a["fromObjectTypeId"], a["toObjectTypeId"]) for a in schema.json()["associations"]
    } == {
        (type_id, "0-1"),
        ("0-1", type_id),
    }
    bike = new(http, type_id, model="Roadster")
    contact = new(http, "contacts", email="rider@example.org")
    basic = v3.crm.associations.v4.basic_api
    made = basic.create_default(type_id, bike, "contacts", contact)
    spec = made.results[0].association_spec
    assert spec.association_category == "USER_DEFINED"
    labels = v3.crm.associations.v4.schema.definitions_api.get_all(type_id, "contacts").results
    assert [(t.type_id, t.label) for t in labels] == [(spec.association_type_id, None)]
    assert [str(r.to_object_id) for r in basic.get_page("contacts", contact, "bikes").results] == [
        bike
    ]
    # Companies were not declared: no association between them.
    company = new(http, "companies", name="No bikes")
    with pytest.raises(ApiException) as refused:
        basic.create_default(type_id, bike, "companies", company)
    assert refused.value.status == 400


def test_v3_reads_and_create_body_associations(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    company = new(http, "companies", name="V3 Inc")
    contact = v3.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "v3@example.org"},
            associations=[
                PublicAssociationsForObject(
                    to=V3Id(id=company),
                    types=[V3Spec(association_category=HS, association_type_id=1)],
                )
            ],
        )
    )
    read = v3.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies", "deals"])
    got = {(a.id, a.type) for a in read.associations["companies"].results}
    assert got == {(company, "contact_to_company"), (company, "contact_to_company_unlabeled")}
    assert "deals" not in read.associations

    listed = http.get("/crm/v3/objects/companies", params={"associations": "contacts"}).json()
    mine = [r for r in listed["results"] if r["id"] == company][0]
    assert mine["associations"]["contacts"]["results"] == [
        {"id": contact.id, "type": "company_to_contact_unlabeled"},
        {"id": contact.id, "type": "company_to_contact"},
    ]
    # Association reads carry no property values.
    assert "properties" not in json.dumps(mine["associations"])

    # A create naming a missing target fails whole: no record is made.
    before = http.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]
    failed = http.post(
        "/crm/v3/objects/contacts",
        json={
            "properties": {"email": "ghost@example.org"},
            "associations": [
                {
                    "to": {"id": "777777"},
                    "types": [{"associationCategory": HS, "associationTypeId": 279}],
                }
            ],
        },
    )
    assert failed.status_code == 400
    assert failed.json()["context"] == {"toObjectId": ["777777"]}
    after = http.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]
    assert len(after) == len(before)

    batch = http.post(
        "/crm/v3/objects/deals/batch/create",
        json={
            "inputs": [
                {
                    "properties": {"dealname": "Batch deal"},
                    "associations": [
                        {
                            "to": {"id": contact.id},
                            "types": [{"associationCategory": HS, "associationTypeId": 3}],
                        }
                    ],
                }
            ]
        },
    )
    assert batch.status_code == 201, batch.text
    deal = batch.json()["results"][0]["id"]
    pages = v3.crm.associations.v4.basic_api.get_page("contacts", contact.id, "deals")
    assert types_of(pages) == {deal: {4}}


def test_scopes(server: LocalSpotServer, http: httpx.Client) -> None:
    reader = server.new_app(["crm.objects.contacts.read", "crm.objects.companies.read"])
    contact = new(http, "contacts", email="scoped@example.org")
    company = new(http, "companies", name="Scoped")
    with http_client(server, reader) as client:
        denied = client.put(
            f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
        )
        assert denied.status_code == 403
        assert denied.json()["category"] == "MISSING_SCOPES"
        no_deals = client.get(f"/crm/v4/objects/contacts/{contact}/associations/deals")
        assert no_deals.status_code == 403
    client_v3 = v3_client(server, reader)
    with pytest.raises(ApiException) as exc:
        client_v3.crm.associations.v4.basic_api.create_default(
            "contacts", contact, "companies", company
        )
    assert exc.value.status == 403


def test_date_versioned_paths(http: httpx.Client) -> None:
    contact = new(http, "contacts", email="dated@example.org")
    ticket = new(http, "tickets", subject="Help", hs_pipeline_stage="1")
    made = http.put(
        f"/crm/objects/2026-03/tickets/{ticket}/associations/default/contacts/{contact}"
    )
    assert made.status_code == 200
    assert {r["associationSpec"]["associationTypeId"] for r in made.json()["results"]} == {15, 16}
    read = http.post(
        "/crm/associations/2026-03/contacts/tickets/batch/read", json={"inputs": [{"id": contact}]}
    )
    assert read.status_code == 200
    assert read.json()["results"][0]["to"][0]["toObjectId"] == ticket
    labels = http.get("/crm/associations/2026-03/tickets/companies/labels").json()["results"]
    assert [(t["typeId"], t["label"]) for t in labels] == [(339, None), (26, "Primary")]


def test_record_ids_are_strings_on_dated_paths_and_numbers_on_v4(
    http: httpx.Client, sdk: hubspot_sdk.HubSpot
) -> None:
    """hubspot-sdk types fromObjectId and toObjectId as strings; v4's spec as integers."""
    contact = new(http, "contacts", email="ids@example.org")
    company = new(http, "companies", name="Ids")
    labelled = [{"associationCategory": HS, "associationTypeId": 279}]
    for prefix, as_sent in (("/crm/objects/2026-03", str), ("/crm/v4/objects", int)):
        made = http.put(
            f"{prefix}/contacts/{contact}/associations/companies/{company}", json=labelled
        )
        assert made.status_code == 201, made.text
        assert (made.json()["fromObjectId"], made.json()["toObjectId"]) == (
            as_sent(contact),
            as_sent(company),
        )
        listed = http.get(f"{prefix}/contacts/{contact}/associations/companies").json()
        assert [r["toObjectId"] for r in listed["results"]] == [as_sent(company)]
    page = sdk.crm.associations.list("companies", object_type="contacts", object_id=contact)
    assert [r.to_object_id for r in page.results] == [company]
    read = sdk.crm.associations.batch.get(
        "companies", from_object_type="contacts", inputs=[{"id": contact}]
    )
    assert [t.to_object_id for t in read.results[0].to] == [company]


def test_merge_moves_associations_to_the_survivor(http: httpx.Client) -> None:
    primary = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "s1@x.org"}})
    merged = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "s2@x.org"}})
    company = http.post("/crm/v3/objects/companies", json={"properties": {"name": "Kept"}})
    p, m, c = primary.json()["id"], merged.json()["id"], company.json()["id"]
    assert http.put(f"/crm/v4/objects/contacts/{m}/associations/default/companies/{c}").is_success
    assert (
        http.post(
            "/crm/v3/objects/contacts/merge", json={"primaryObjectId": p, "objectIdToMerge": m}
        ).status_code
        == 200
    )
    listed = http.get(f"/crm/v4/objects/contacts/{p}/associations/companies").json()["results"]
    assert [r["toObjectId"] for r in listed] == [int(c)]
    back = http.get(f"/crm/v4/objects/companies/{c}/associations/contacts").json()["results"]
    assert [r["toObjectId"] for r in back] == [int(p)]


def test_search_by_association(http: httpx.Client) -> None:
    company = http.post("/crm/v3/objects/companies", json={"properties": {"name": "Hub"}}).json()
    linked = [
        http.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": f"l{i}@hub.org"}}
        ).json()["id"]
        for i in range(3)
    ]
    http.post("/crm/v3/objects/contacts", json={"properties": {"email": "alone@hub.org"}})
    for contact in linked[:2]:
        assert http.put(
            f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company['id']}"
        ).is_success
    http.delete(f"/crm/v3/objects/contacts/{linked[1]}")
    found = http.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "associations.company",
                            "operator": "EQ",
                            "value": company["id"],
                        }
                    ]
                }
            ]
        },
    )
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["results"]] == [linked[0]]
    bad = http.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "associations.company", "operator": "GT", "value": "1"}
                    ]
                }
            ]
        },
    )
    assert bad.status_code == 400


def _by_association(v3: hubspot.HubSpot, object_type: str, other: str, record_id: str) -> list:
    where = {"propertyName": f"associations.{other}", "operator": "EQ", "value": record_id}
    group = {"filters": [where]}
    found = v3.crm.objects.search_api.do_search(
        object_type, public_object_search_request=ObjectSearchRequest(filter_groups=[group])
    )
    return [r.id for r in found.results]


def test_search_by_an_archived_record_finds_nothing_until_it_is_restored(
    v3: hubspot.HubSpot, http: httpx.Client, server: LocalSpotServer, full_app: App
) -> None:
    # v4 and v3 reads hide an archived record's associations; search must agree with them.
    contact = new(http, "contacts", email="anchor@archived.org")
    company = new(http, "companies", name="Archived Anchor")
    deal = new(http, "deals", dealname="Archived Anchor", pipeline="default")
    for to_type, to_id in (("companies", company), ("deals", deal)):
        assert http.put(
            f"/crm/v4/objects/contacts/{contact}/associations/default/{to_type}/{to_id}"
        ).is_success
    assert _by_association(v3, "contacts", "company", company) == [contact]

    assert http.delete(f"/crm/v3/objects/companies/{company}").status_code == 204
    assert _by_association(v3, "contacts", "company", company) == []
    assert _by_association(v3, "deals", "contact", contact) == [deal]
    assert http.delete(f"/crm/v3/objects/contacts/{contact}").status_code == 204
    assert _by_association(v3, "deals", "contact", contact) == []

    hub = full_app.hub_id
    for object_type, record in (("companies", company), ("contacts", contact)):
        server.control("POST", f"/accounts/{hub}/objects/{object_type}/{record}/restore")
    assert _by_association(v3, "contacts", "company", company) == [contact]
    assert _by_association(v3, "deals", "contact", contact) == [deal]


def test_merge_keeps_the_survivor_s_primary_company(http: httpx.Client) -> None:
    def make(kind: str, **props: str) -> str:
        return str(http.post(f"/crm/v3/objects/{kind}", json={"properties": props}).json()["id"])

    survivor, merged = make("contacts", email="p1@prim.org"), make("contacts", email="p2@prim.org")
    kept, other = make("companies", name="Kept"), make("companies", name="Other")
    primary = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
    for contact, company in ((survivor, kept), (merged, other)):
        assert http.put(
            f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=primary
        ).is_success
    assert http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": survivor, "objectIdToMerge": merged},
    ).is_success
    listed = http.get(f"/crm/v4/objects/contacts/{survivor}/associations/companies").json()
    types = {
        str(r["toObjectId"]): {t["typeId"] for t in r["associationTypes"]}
        for r in listed["results"]
    }
    assert 1 in types[kept]
    assert 1 not in types[other]


def test_label_definitions_need_a_read_scope_on_each_side(server: LocalSpotServer) -> None:
    def definitions(app: App) -> Any:
        return v3_client(server, app).crm.associations.v4.schema.definitions_api

    contacts_only = server.new_app(["crm.objects.contacts.read"])
    with pytest.raises(SchemaApiException) as exc:
        definitions(contacts_only).get_all("contacts", "companies")
    assert exc.value.status == 403
    body = json.loads(exc.value.body)
    assert body["category"] == "MISSING_SCOPES"
    # Only what suffices on the side that lacks a scope; labels hold no sensitive values.
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.companies.read",
        "crm.schemas.companies.read",
    ]
    both = server.new_app(["crm.objects.contacts.read", "crm.schemas.companies.read"])
    assert [t.type_id for t in definitions(both).get_all("contacts", "companies").results][:1] == [
        279
    ]
    # A sensitive scope alone does not let anyone read the pair's labels.
    sensitive = server.new_app(
        ["crm.objects.contacts.read", "crm.objects.companies.sensitive.read.v2"]
    )
    with pytest.raises(SchemaApiException) as exc:
        definitions(sensitive).get_all("contacts", "companies")
    assert exc.value.status == 403


def test_batch_create_needs_types(v3: hubspot.HubSpot, http: httpx.Client) -> None:
    contact = new(http, "contacts", email="notypes@example.org")
    company = new(http, "companies", name="No types")
    batch = v3.crm.associations.v4.batch_api
    untyped = PublicAssociationMultiPost(
        _from=PublicObjectId(id=contact), to=PublicObjectId(id=company), types=[]
    )
    with pytest.raises(ApiException) as refused:
        batch.create("contacts", "companies", BatchInputPublicAssociationMultiPost([untyped]))
    assert refused.value.status == 400
    body = error_body(refused.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["in"] == "inputs[0].types"
    # Nothing was associated, not even the unlabeled default.
    assert v3.crm.associations.v4.basic_api.get_page("contacts", contact, "companies").results == []


def test_a_create_body_association_without_an_id_or_types_says_where(http: httpx.Client) -> None:
    """A single create has no ``inputs``, and an empty ``types`` is not about object types."""
    company = new(http, "companies", name="Where")
    no_id = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {}, "associations": [{"to": company, "types": []}]},
    )
    assert no_id.status_code == 400
    assert no_id.json()["message"] == "Invalid input JSON: associations[0].to.id is required"
    no_types = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {}, "associations": [{"to": {"id": company}, "types": []}]},
    )
    assert no_types.status_code == 400
    assert "associations[0].types must name at least one" in no_types.json()["message"]


def test_label_fields_are_checked_for_type_and_length(http: httpx.Client) -> None:
    url = "/crm/v4/associations/contacts/companies/labels"
    too_long = http.post(url, json={"label": "x" * 401, "name": "longlab"})
    assert too_long.status_code == 400
    assert too_long.json()["message"] == "label must be at most 400 characters"
    assert http.post(url, json={"label": "x" * 400, "name": "longest"}).status_code == 200
    number = http.post(url, json={"label": 123, "name": "numbered"})
    assert number.status_code == 400
    assert number.json()["message"] == "Invalid input JSON: label must be a string, not a number"
    assert number.json()["errors"][0]["code"] == "INVALID_TYPE"
    missing = http.post(url, json={"name": "unlabeled"})
    assert missing.json()["errors"][0]["code"] == "REQUIRED"
    made = http.post(url, json={"label": "Renamed", "name": "renamed"}).json()["results"][0]
    update = http.put(url, json={"associationTypeId": made["typeId"], "label": "y" * 401})
    assert update.status_code == 400


def test_invalid_type_names_the_spec_as_sent(http: httpx.Client) -> None:
    label = http.post(
        "/crm/v4/associations/contacts/deals/labels", json={"label": "Buyer", "name": "buyer"}
    ).json()["results"][0]
    contact = new(http, "contacts", email="spec@example.org")
    company = new(http, "companies", name="Spec")
    refused = http.put(
        f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}",
        json=[{"associationCategory": "USER_DEFINED", "associationTypeId": label["typeId"]}],
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["message"] == (
        f"associationCategory USER_DEFINED with associationTypeId {label['typeId']} is not a "
        "valid association type from contacts to companies"
    )
    assert body["context"]["associationTypeId"] == [str(label["typeId"])]
    assert body["context"]["associationCategory"] == ["USER_DEFINED"]
    # The v3 create body, which does not name the target type.
    v3_refused = http.post(
        "/crm/v3/objects/contacts",
        json={
            "properties": {"email": "spec2@example.org"},
            "associations": [
                {
                    "to": {"id": company},
                    "types": [{"associationCategory": HS, "associationTypeId": 100001}],
                }
            ],
        },
    )
    assert v3_refused.status_code == 400
    assert v3_refused.json()["message"] == (
        "associationCategory HUBSPOT_DEFINED with associationTypeId 100001 is not a valid "
        "association type from contacts"
    )
