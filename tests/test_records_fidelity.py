"""Objects API v3 behaviour that apps depend on: bodies, paging, batches, errors, lifecycle."""

from __future__ import annotations

import json

import httpx
import pytest

from localspot.domain.values import coerce
from localspot.testing import LocalSpotServer
from tests.records_helpers import add_property, all_ids

pytestmark = pytest.mark.replayable


def _contact(http: httpx.Client, **properties: str) -> str:
    response = http.post("/crm/v3/objects/contacts", json={"properties": properties})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_duplicate_email_is_409_with_existing_id(http: httpx.Client) -> None:
    first = _contact(http, email="dup@example.org")
    response = http.post(
        "/crm/v3/objects/contacts", json={"properties": {"email": "DUP@example.org"}}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first}"
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]


def test_update_to_a_taken_email_is_400_naming_the_holder(http: httpx.Client) -> None:
    holder = _contact(http, email="taken@example.org")
    other = _contact(http, email="free@example.org")
    response = http.patch(
        f"/crm/v3/objects/contacts/{other}", json={"properties": {"email": "taken@example.org"}}
    )
    assert response.status_code == 400
    assert response.json()["message"].endswith(f"on {other}. {holder} already has that value.")


def test_read_by_email_with_id_property(http: httpx.Client) -> None:
    record_id = _contact(http, email="who@example.org", firstname="Who")
    found = http.get("/crm/v3/objects/contacts/who@example.org", params={"idProperty": "email"})
    assert found.status_code == 200
    assert found.json()["id"] == record_id
    missing = http.get(
        "/crm/v3/objects/contacts/nobody@example.org", params={"idProperty": "email"}
    )
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_unknown_id_is_404_and_delete_is_idempotent(http: httpx.Client) -> None:
    response = http.get("/crm/v3/objects/contacts/999999999")
    assert response.status_code == 404
    assert response.json()["context"] == {"id": ["999999999"]}
    assert http.delete("/crm/v3/objects/contacts/999999999").status_code == 204


def test_paging_to_the_end_with_after(http: httpx.Client) -> None:
    made = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={"inputs": [{"properties": {"email": f"p{i}@example.org"}} for i in range(23)]},
    )
    assert made.status_code == 201
    assert made.json()["status"] == "COMPLETE"
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"limit": 10, **({"after": after} if after else {})}
        page = http.get("/crm/v3/objects/contacts", params=params).json()
        seen += [r["id"] for r in page["results"]]
        pages += 1
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert "after=" in page["paging"]["next"]["link"]
    assert pages == 3
    assert sorted(seen, key=int) == sorted({r["id"] for r in made.json()["results"]}, key=int)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"limit": 51, "propertiesWithHistory": "email"},
    ],
)
def test_limit_bounds(http: httpx.Client, params: dict[str, object]) -> None:
    response = http.get("/crm/v3/objects/contacts", params=params)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_enumeration_date_and_number_errors_in_hubspots_shape(http: httpx.Client) -> None:
    response = http.post(
        "/crm/v3/objects/tickets",
        json={
            "properties": {"subject": "x", "hs_pipeline_stage": "1", "hs_ticket_priority": "SOON"}
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Property values were not valid: ")
    listed = json.loads(body["message"][len("Property values were not valid: ") :])
    assert listed[0]["error"] == "INVALID_OPTION"
    assert listed[0]["name"] == "hs_ticket_priority"
    assert (
        (listed[0]["message"])
        == "SOON was not one of the allowed options: [LOW, MEDIUM, HIGH, URGENT]"
    )
    assert body["errors"][0]["context"] == {"propertyName": ["hs_ticket_priority"]}

    add_property(
        http,
        "contacts",
        "contactinformation",
        name="renewal",
        sensitivity="non_sensitive",
        type="date",
        fieldType="date",
    )
    late = http.post("/crm/v3/objects/contacts", json={"properties": {"renewal": "1700000000001"}})
    assert late.status_code == 400
    assert json.loads(late.json()["message"].split(": ", 1)[1])[0]["error"] == "INVALID_DATE"
    ok = http.post("/crm/v3/objects/contacts", json={"properties": {"renewal": "1700006400000"}})
    assert ok.status_code == 201
    assert ok.json()["properties"]["renewal"] == "2023-11-15"

    amount = http.post(
        "/crm/v3/objects/deals", json={"properties": {"dealname": "d", "amount": "lots"}}
    )
    assert json.loads(amount.json()["message"].split(": ", 1)[1])[0]["error"] == "INVALID_INTEGER"
    unknown = http.post("/crm/v3/objects/deals", json={"properties": {"nope": "1"}})
    assert json.loads(unknown.json()["message"].split(": ", 1)[1])[0]["error"] == (
        "PROPERTY_DOESNT_EXIST"
    )
    read_only = http.post("/crm/v3/objects/deals", json={"properties": {"hs_object_id": "1"}})
    assert json.loads(read_only.json()["message"].split(": ", 1)[1])[0]["error"] == (
        "READ_ONLY_VALUE"
    )


@pytest.mark.parametrize("sensitivity", ["non_sensitive", "sensitive"])
def test_number_values_are_ascii_decimals(http: httpx.Client, sensitivity: str) -> None:
    """Python's float() also reads "1_000", Unicode digits and "infinity": none of them is a
    number a HubSpot client sends, and each was stored as written and compared as a number."""
    add_property(
        http,
        "contacts",
        "contactinformation",
        name="shoe",
        sensitivity=sensitivity,
        type="number",
        fieldType="number",
    )
    for good, stored in (
        ("42", "42"),
        ("-1.5", "-1.5"),
        (".5", ".5"),
        ("1e3", "1e3"),
        (" 7 ", "7"),
    ):
        created = http.post("/crm/v3/objects/contacts", json={"properties": {"shoe": good}})
        assert created.status_code == 201, (good, created.text)
        assert created.json()["properties"]["shoe"] == stored
    for bad in ("1_000", "\u0663", "infinity", "0x10", "1.5.2", "5-", "+"):
        refused = http.post("/crm/v3/objects/contacts", json={"properties": {"shoe": bad}})
        assert refused.status_code == 400, (bad, refused.text)
        [problem] = json.loads(refused.json()["message"].split(": ", 1)[1])
        assert problem["error"] == "INVALID_INTEGER"
        if sensitivity == "sensitive":
            body = refused.json()
            del body["correlationId"]  # random: it may hold "5-" by chance
            assert bad not in json.dumps(body, ensure_ascii=False)
    search = http.post(
        "/crm/v3/objects/contacts/search",
        json={"filters": [{"propertyName": "shoe", "operator": "EQ", "value": "1_000"}]},
    )
    assert search.status_code == 400
    assert search.json()["category"] == "VALIDATION_ERROR"


def test_null_is_ignored_and_empty_string_clears(http: httpx.Client) -> None:
    record_id = _contact(http, email="n@example.org", firstname="Nia")
    kept = http.patch(
        f"/crm/v3/objects/contacts/{record_id}", json={"properties": {"firstname": None}}
    )
    assert kept.status_code == 200
    read = http.get(f"/crm/v3/objects/contacts/{record_id}").json()["properties"]
    assert read["firstname"] == "Nia"
    assert read["lastname"] is None
    http.patch(f"/crm/v3/objects/contacts/{record_id}", json={"properties": {"firstname": ""}})
    assert http.get(f"/crm/v3/objects/contacts/{record_id}").json()["properties"]["firstname"] == ""


def test_multi_checkbox_append(http: httpx.Client) -> None:
    add_property(
        http,
        "contacts",
        "contactinformation",
        name="topics",
        sensitivity="non_sensitive",
        type="enumeration",
        fieldType="checkbox",
        options=[{"label": x, "value": x, "hidden": False} for x in "ABC"],
    )
    record_id = _contact(http, topics="A")
    http.patch(f"/crm/v3/objects/contacts/{record_id}", json={"properties": {"topics": ";B;C"}})
    read = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "topics"})
    assert read.json()["properties"]["topics"] == "A;B;C"


def test_batch_read_reports_missing_ids_in_a_207(http: httpx.Client) -> None:
    record_id = _contact(http, email="b@example.org")
    response = http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": record_id}, {"id": "424242424"}], "properties": ["email"]},
    )
    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == [record_id]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["424242424"]}


def test_failed_batch_writes_nothing(http: httpx.Client) -> None:
    _contact(http, email="exists@example.org")
    before = all_ids(http, "contacts")
    response = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "fresh1@example.org"}},
                {"properties": {"email": "fresh2@example.org"}},
                {"properties": {"email": "exists@example.org"}},
                {"properties": {"email": "fresh3@example.org"}},
            ]
        },
    )
    assert response.status_code == 409
    assert all_ids(http, "contacts") == before
    assert (
        http.get(
            "/crm/v3/objects/contacts/fresh1@example.org", params={"idProperty": "email"}
        ).status_code
        == 404
    )


def _tiered_contacts(http: httpx.Client) -> list[str]:
    add_property(
        http,
        "contacts",
        "contactinformation",
        name="tier",
        sensitivity="non_sensitive",
        type="enumeration",
        fieldType="select",
        options=[{"label": x, "value": x, "hidden": False} for x in ("gold", "silver")],
    )
    return [_contact(http, email=f"b{n}@example.org", firstname=f"F{n}") for n in range(5)]


def _snapshot(http: httpx.Client, ids: list[str]) -> list[dict[str, object]]:
    read = http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={
            "inputs": [{"id": i} for i in ids],
            "properties": ["firstname", "tier", "email"],
            "propertiesWithHistory": ["firstname", "tier", "email"],
        },
    )
    assert read.status_code == 200, read.text
    return sorted(read.json()["results"], key=lambda r: int(r["id"]))


@pytest.mark.parametrize("path", ["batch/update", "batch/upsert"])
@pytest.mark.parametrize("failure", ["bad option", "clash"])
def test_a_batch_failing_at_a_later_input_applies_none_of_the_earlier_ones(
    http: httpx.Client, path: str, failure: str
) -> None:
    ids = _tiered_contacts(http)
    _contact(http, email="held@example.org")
    before_ids = all_ids(http, "contacts")
    before = _snapshot(http, ids)
    bad = {"tier": "platinum"} if failure == "bad option" else {"email": "held@example.org"}
    inputs = []
    for n, record_id in enumerate(ids):
        changed: dict[str, str] = {"firstname": f"G{n}", "tier": "gold"}
        key: dict[str, str] = {"id": record_id}
        if path == "batch/upsert":
            key = {"id": f"b{n}@example.org", "idProperty": "email"}
        inputs.append({**key, "properties": {**changed, **(bad if n == 2 else {})}})
    if path == "batch/upsert":
        # A record the batch would have created, before the failing input.
        inputs.insert(1, {"id": "brand-new@example.org", "idProperty": "email", "properties": {}})
    response = http.post(f"/crm/v3/objects/contacts/{path}", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert _snapshot(http, ids) == before
    assert all_ids(http, "contacts") == before_ids


def test_batch_with_trace_ids_is_207_per_input(http: httpx.Client) -> None:
    _contact(http, email="held@example.org")
    response = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "ok@example.org"}, "objectWriteTraceId": "t1"},
                {"properties": {"email": "held@example.org"}, "objectWriteTraceId": "t2"},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t1"]
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["t2"]
    assert (
        http.get(
            "/crm/v3/objects/contacts/ok@example.org", params={"idProperty": "email"}
        ).status_code
        == 200
    )


def test_batch_upsert_by_email(http: httpx.Client) -> None:
    existing = _contact(http, email="up@example.org", firstname="Old")
    response = http.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={
            "inputs": [
                {"id": "up@example.org", "idProperty": "email", "properties": {"firstname": "New"}},
                {
                    "id": "new@example.org",
                    "idProperty": "email",
                    "properties": {"firstname": "Fresh"},
                },
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"] == existing, r["new"]) for r in results] == [(True, False), (False, True)]


def test_merge_keeps_primary_and_redirects_the_merged_id(http: httpx.Client) -> None:
    primary = _contact(http, email="m1@example.org", firstname="Primary")
    merged = _contact(http, email="m2@example.org", lastname="Merged")
    response = http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": merged},
    )
    assert response.status_code == 200
    assert response.json()["id"] == primary
    assert response.json()["properties"]["lastname"] == "Merged"
    via_old = http.get(f"/crm/v3/objects/contacts/{merged}")
    assert via_old.json()["id"] == primary


def test_archive_restore_and_purge(server: LocalSpotServer, http: httpx.Client, full_app) -> None:  # type: ignore[no-untyped-def]
    record_id = _contact(http, email="gone@example.org")
    assert http.delete(f"/crm/v3/objects/contacts/{record_id}").status_code == 204
    assert http.get(f"/crm/v3/objects/contacts/{record_id}").status_code == 404
    archived = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"archived": "true"})
    assert archived.json()["archived"] is True
    server.control("POST", f"/accounts/{full_app.hub_id}/objects/contacts/{record_id}/restore")
    assert http.get(f"/crm/v3/objects/contacts/{record_id}").status_code == 200

    http.delete(f"/crm/v3/objects/contacts/{record_id}")
    server.advance_clock(days=89)
    assert (
        http.get(f"/crm/v3/objects/contacts/{record_id}", params={"archived": "true"}).status_code
        == 200
    )
    server.advance_clock(days=1)
    assert (
        http.get(f"/crm/v3/objects/contacts/{record_id}", params={"archived": "true"}).status_code
        == 404
    )


def test_merging_a_record_whose_sensitive_value_was_cleared_needs_no_sensitive_scope(
    server: LocalSpotServer,
    http: httpx.Client,
    full_app,  # type: ignore[no-untyped-def]
) -> None:
    add_property(http, "contacts", "contactinformation")
    plain = server.new_app(
        ["crm.objects.contacts.read", "crm.objects.contacts.write"], hub_id=full_app.hub_id
    )
    holder = _contact(http, email="holds@example.org", passport_number="P-MERGE-1")
    cleared = _contact(http, email="cleared@example.org", passport_number="P-MERGE-2")
    assert http.patch(
        f"/crm/v3/objects/contacts/{cleared}", json={"properties": {"passport_number": ""}}
    ).is_success
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {plain.token}"}
    ) as api:
        for target in (holder, cleared):
            throwaway = api.post("/crm/v3/objects/contacts", json={"properties": {}}).json()["id"]
            response = api.post(
                "/crm/v3/objects/contacts/merge",
                json={"primaryObjectId": target, "objectIdToMerge": throwaway},
            )
            if target == holder:  # it carries a sensitive value: the write scope it needs
                assert response.status_code == 403, response.text
                assert response.json()["category"] == "MISSING_SCOPES"
            else:
                assert response.status_code == 200, response.text


def test_a_merged_id_outlives_the_purge_while_its_survivor_lives(
    server: LocalSpotServer, http: httpx.Client
) -> None:
    primary = _contact(http, email="keeps@example.org")
    merged = _contact(http, email="merged@example.org")
    response = http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": merged},
    )
    assert response.status_code == 200, response.text
    server.advance_clock(days=91)
    found = http.get(f"/crm/v3/objects/contacts/{merged}")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == primary

    # Once the survivor is purged in turn, the merged-away id goes with it.
    assert http.delete(f"/crm/v3/objects/contacts/{primary}").status_code == 204
    server.advance_clock(days=91)
    for gone in (primary, merged):
        reply = http.get(f"/crm/v3/objects/contacts/{gone}", params={"archived": "true"})
        assert reply.status_code == 404, reply.text


def test_gdpr_delete(http: httpx.Client) -> None:
    record_id = _contact(http, email="gdpr@example.org")
    response = http.post(
        "/crm/v3/objects/contacts/gdpr-delete",
        json={"objectId": "gdpr@example.org", "idProperty": "email"},
    )
    assert response.status_code == 204
    assert (
        http.get(f"/crm/v3/objects/contacts/{record_id}", params={"archived": "true"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"properties": []}', b'{"properties": {"email": {"x": 1}}}']
)
def test_malformed_bodies_are_400(http: httpx.Client, body: bytes) -> None:
    response = http.post(
        "/crm/v3/objects/contacts", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("path", ["batch/update", "batch/upsert"])
def test_a_batch_naming_one_record_twice_is_refused(http: httpx.Client, path: str) -> None:
    record_id = _contact(http, email="twice@example.org", firstname="One")
    key = (
        {"id": record_id}
        if path == "batch/update"
        else {"id": "twice@example.org", "idProperty": "email"}
    )
    response = http.post(
        f"/crm/v3/objects/contacts/{path}",
        json={
            "inputs": [
                {**key, "properties": {"firstname": "Two"}},
                {**key, "properties": {"firstname": "Three"}},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Duplicate IDs found in batch input")
    assert (
        http.get(f"/crm/v3/objects/contacts/{record_id}").json()["properties"]["firstname"] == "One"
    )


@pytest.mark.parametrize(
    ("name", "sensitivity", "value"),
    [
        ("email", None, "at2@x.org"),
        ("member_code", "non_sensitive", "M-7"),
        ("passport_number", "sensitive", "P-77"),
    ],
)
def test_a_unique_value_twice_in_one_batch_create_names_no_record(
    http: httpx.Client, name: str, sensitivity: str | None, value: str
) -> None:
    if sensitivity is not None:
        add_property(
            http,
            "contacts",
            "contactinformation",
            name=name,
            sensitivity=sensitivity,
            hasUniqueValue=True,
        )
    before = all_ids(http, "contacts")
    inputs = [
        {"properties": {"firstname": "A", name: value}},
        {"properties": {"firstname": "B", name: value}},
    ]
    if name != "email":
        inputs = [
            {"properties": {**i["properties"], "email": f"u{n}@x.org"}}
            for n, i in enumerate(inputs)
        ]
    response = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["context"] == {"propertyName": [name]}
    assert name in body["message"]
    assert (value in response.text) is (sensitivity != "sensitive")
    assert "Existing ID" not in body["message"]
    assert "already has that value" not in body["message"]
    assert all_ids(http, "contacts") == before
    # The ids the failed batch drew are handed out again on SQLite: none may be named.
    after = _contact(http, **{name: value, **({} if name == "email" else {"email": "n@x.org"})})
    assert after not in body["message"]


def test_a_unique_value_twice_in_one_batch_update_names_no_record(http: httpx.Client) -> None:
    add_property(
        http,
        "contacts",
        "contactinformation",
        name="member_code",
        sensitivity="non_sensitive",
        hasUniqueValue=True,
    )
    first, second = _contact(http, email="f@x.org"), _contact(http, email="s@x.org")
    response = http.post(
        "/crm/v3/objects/contacts/batch/update",
        json={
            "inputs": [
                {"id": first, "properties": {"member_code": "M-1"}},
                {"id": second, "properties": {"member_code": "M-1"}},
            ]
        },
    )
    assert response.status_code == 400, response.text
    assert first not in response.json()["message"]
    assert second not in response.json()["message"]
    read = http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": first}, {"id": second}], "properties": ["member_code"]},
    )
    assert [r["properties"]["member_code"] for r in read.json()["results"]] == [None, None]


def test_a_repeated_value_across_traced_inputs_names_the_earlier_record(
    http: httpx.Client,
) -> None:
    # Each traced input commits on its own, so the earlier record exists and may be named.
    response = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "tr@x.org"}, "objectWriteTraceId": "a"},
                {"properties": {"email": "tr@x.org"}, "objectWriteTraceId": "b"},
            ]
        },
    )
    assert response.status_code == 207
    [made] = response.json()["results"]
    [error] = response.json()["errors"]
    assert error["message"] == f"Contact already exists. Existing ID: {made['id']}"
    assert http.get(f"/crm/v3/objects/contacts/{made['id']}").status_code == 200


@pytest.mark.parametrize("path", ["batch/read", "batch/archive", "batch/update", "batch/upsert"])
@pytest.mark.parametrize("given", [{"id": None}, {"id": True}, {"id": {"x": 1}}, {}])
def test_a_batch_input_without_a_usable_id_is_400(
    http: httpx.Client, path: str, given: dict[str, object]
) -> None:
    record_id = _contact(http, email="keep@example.org")
    item: dict[str, object] = {**given}
    if path in ("batch/update", "batch/upsert"):
        item["properties"] = {"firstname": "Changed"}
    if path == "batch/upsert":
        item["idProperty"] = "email"
    response = http.post(
        f"/crm/v3/objects/contacts/{path}", json={"inputs": [{"id": record_id}, item]}
    )
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert "inputs[1].id" in response.json()["message"]
    kept = http.get(f"/crm/v3/objects/contacts/{record_id}").json()
    assert kept["properties"]["firstname"] is None


@pytest.mark.parametrize(
    "body", [{}, {"properties": {}}, {"properties": {"firstname": "Same", "lastname": None}}]
)
def test_a_patch_with_nothing_to_change_changes_nothing(
    server: LocalSpotServer, http: httpx.Client, body: dict[str, object]
) -> None:
    record_id = _contact(http, email="still@example.org", firstname="Same")
    before = http.get(
        f"/crm/v3/objects/contacts/{record_id}", params={"propertiesWithHistory": "firstname"}
    ).json()
    server.advance_clock(seconds=5)
    response = http.patch(f"/crm/v3/objects/contacts/{record_id}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == record_id
    assert response.json()["updatedAt"] == before["updatedAt"]
    assert (
        response.json()["properties"]["lastmodifieddate"]
        == (before["properties"]["lastmodifieddate"])
    )
    after = http.get(
        f"/crm/v3/objects/contacts/{record_id}", params={"propertiesWithHistory": "firstname"}
    ).json()
    assert after == before


def test_numbers_keep_their_digits(http: httpx.Client) -> None:
    add_property(
        http,
        "contacts",
        "contactinformation",
        name="score",
        sensitivity="non_sensitive",
        type="number",
        fieldType="number",
    )
    given: list[object] = [1e308, 1e-7, 2.5, 1.0, 1e22, 0.1, "1e308", "007.50", 12]
    shown = []
    for value in given:
        response = http.post("/crm/v3/objects/contacts", json={"properties": {"score": value}})
        assert response.status_code == 201, response.text
        shown.append(response.json()["properties"]["score"])
    assert shown == [
        "1" + "0" * 308,
        "0.0000001",
        "2.5",
        "1",
        "1" + "0" * 22,
        "0.1",
        "1e308",
        "007.50",
        "12",
    ]


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    # JSON cannot carry them, but other faces and the control plane call coerce too.
    with pytest.raises(TypeError):
        coerce(value)


@pytest.mark.parametrize("archived", ["false", "true"])
def test_reads_resolve_a_merged_id_to_the_survivor(http: httpx.Client, archived: str) -> None:
    primary = _contact(http, email="keeps@example.org")
    merged = _contact(http, email="folds@example.org")
    assert (
        http.post(
            "/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": primary, "objectIdToMerge": merged},
        ).status_code
        == 200
    )
    got = http.get(f"/crm/v3/objects/contacts/{merged}", params={"archived": archived})
    assert got.status_code == 200, got.text
    assert got.json()["id"] == primary
    read = http.post(
        "/crm/v3/objects/contacts/batch/read",
        params={"archived": archived},
        json={"inputs": [{"id": merged}], "properties": ["email"]},
    )
    assert read.status_code == 200, read.text
    assert [r["id"] for r in read.json()["results"]] == [primary]
    assert read.json()["results"][0]["properties"]["email"] == "keeps@example.org"
