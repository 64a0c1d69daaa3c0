"""Archive and purge with the clock, batches, groups, paths and HubSpot-defined properties."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from localspot.testing import LocalSpotServer
from tests.conftest import Serve

BASE = "/crm/v3/properties/contacts"
DAY = 86_400.0


def prop(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.title(),
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
        **extra,
    }


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def server_now(server: LocalSpotServer) -> datetime:
    return parse(server.control("GET", "/clock")["now"])


def advance_to(server: LocalSpotServer, moment: datetime) -> None:
    """Moves the shared clock to ``moment``; other tests may have moved it already."""
    seconds = (moment - server_now(server)).total_seconds()
    assert seconds > 0
    server.advance_clock(seconds=seconds)


def archived_names(http: httpx.Client, sensitivity: str) -> set[str]:
    listed = http.get(f"{BASE}?archived=true&dataSensitivity={sensitivity}")
    assert listed.status_code == 200
    assert all(p["archived"] is True for p in listed.json()["results"])
    return {p["name"] for p in listed.json()["results"]}


# Archive and purge (SPEC Part B18) -------------------------------------------------------


def test_archived_properties_are_purged_90_days_later(
    server: LocalSpotServer, http: httpx.Client
) -> None:
    for name, level in (("passport", "sensitive"), ("diagnosis", "highly_sensitive")):
        assert http.post(BASE, json=prop(name, dataSensitivity=level)).status_code == 201
        assert http.delete(f"{BASE}/{name}").status_code == 204
    assert http.post(BASE, json=prop("nickname")).status_code == 201
    assert http.delete(f"{BASE}/nickname").status_code == 204

    archived = http.get(f"{BASE}/passport?archived=true").json()
    assert archived["archived"] is True
    archived_at = parse(archived["archivedAt"])
    assert archived_names(http, "sensitive") == {"passport"}
    assert archived_names(http, "highly_sensitive") == {"diagnosis"}
    assert "nickname" in archived_names(http, "non_sensitive")

    advance_to(server, archived_at + timedelta(days=89))
    assert archived_names(http, "sensitive") == {"passport"}
    assert archived_names(http, "highly_sensitive") == {"diagnosis"}
    assert http.get(f"{BASE}/passport?archived=true").status_code == 200
    conflict = http.post(BASE, json=prop("passport", dataSensitivity="sensitive"))
    assert conflict.status_code == 409

    advance_to(server, archived_at + timedelta(days=90, seconds=5))
    assert archived_names(http, "sensitive") == set()
    assert archived_names(http, "highly_sensitive") == set()
    assert "nickname" not in archived_names(http, "non_sensitive")
    assert http.get(f"{BASE}/passport?archived=true").status_code == 404

    # The name is free again, with a new definition.
    reused = http.post(BASE, json=prop("passport", label="Passport again"))
    assert reused.status_code == 201
    assert (reused.json()["label"], reused.json()["dataSensitivity"]) == (
        "Passport again",
        "non_sensitive",
    )


def test_archived_group_is_purged_and_its_name_freed(
    server: LocalSpotServer, http: httpx.Client
) -> None:
    assert (
        http.post(f"{BASE}/groups", json={"name": "old_folder", "label": "Old"}).status_code == 201
    )
    assert http.delete(f"{BASE}/groups/old_folder").status_code == 204
    retaken = http.post(f"{BASE}/groups", json={"name": "old_folder", "label": "Again"})
    assert retaken.status_code == 409
    # Reads no longer find it, so the refusal says why the name is still taken.
    assert http.get(f"{BASE}/groups/old_folder").status_code == 404
    assert retaken.json()["message"] == (
        "There is already an archived property group named old_folder on this object."
    )
    advance_to(server, server_now(server) + timedelta(days=90, seconds=5))
    again = http.post(f"{BASE}/groups", json={"name": "old_folder", "label": "Again"})
    assert again.status_code == 201


# Batches ---------------------------------------------------------------------------------


def test_batch_create_all_good_is_201(http: httpx.Client) -> None:
    inputs = [prop(f"batch_{i}") for i in range(3)]
    response = http.post(f"{BASE}/batch/create", json={"inputs": inputs})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert [p["name"] for p in body["results"]] == ["batch_0", "batch_1", "batch_2"]
    assert "errors" not in body
    assert parse(body["startedAt"]) <= parse(body["completedAt"])
    assert http.get(f"{BASE}/batch_1").status_code == 200


def test_batch_create_with_failures_is_207(http: httpx.Client) -> None:
    http.post(BASE, json=prop("already_here"))
    inputs = [
        prop("fine_one"),
        prop("already_here"),
        prop("Bad Name"),
        {"name": "half"},
        prop("fine_two", dataSensitivity="sensitive"),
    ]
    response = http.post(f"{BASE}/batch/create", json={"inputs": inputs})
    assert response.status_code == 207, response.text
    body = response.json()
    assert sorted(p["name"] for p in body["results"]) == ["fine_one", "fine_two"]
    assert body["numErrors"] == 3
    categories = sorted(e["category"] for e in body["errors"])
    assert categories == ["OBJECT_ALREADY_EXISTS", "VALIDATION_ERROR", "VALIDATION_ERROR"]
    for error in body["errors"]:
        assert error["status"] == "error" and error["message"]
    assert http.get(f"{BASE}/fine_two").json()["dataSensitivity"] == "sensitive"


def test_batch_read(http: httpx.Client) -> None:
    http.post(BASE, json=prop("readable", dataSensitivity="sensitive"))
    found = http.post(
        f"{BASE}/batch/read",
        json={
            "archived": False,
            "dataSensitivity": "non_sensitive",
            "inputs": [{"name": "email"}, {"name": "readable"}],
        },
    )
    assert found.status_code == 200, found.text
    assert [p["name"] for p in found.json()["results"]] == ["email", "readable"]

    partial = http.post(
        f"{BASE}/batch/read",
        json={"archived": False, "inputs": [{"name": "email"}, {"name": "never_made"}]},
    )
    assert partial.status_code == 207
    body = partial.json()
    assert [p["name"] for p in body["results"]] == ["email"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"propertyName": ["never_made"]}

    http.delete(f"{BASE}/readable")
    archived = http.post(
        f"{BASE}/batch/read", json={"archived": True, "inputs": [{"name": "readable"}]}
    )
    assert archived.status_code == 200
    assert archived.json()["results"][0]["archived"] is True


def test_batch_archive_is_204_whatever_the_state(http: httpx.Client) -> None:
    for name in ("to_archive", "archived_before"):
        http.post(BASE, json=prop(name))
    http.delete(f"{BASE}/archived_before")
    inputs = [{"name": n} for n in ("to_archive", "archived_before", "never_existed")]
    response = http.post(f"{BASE}/batch/archive", json={"inputs": inputs})
    assert response.status_code == 204 and response.content == b""
    assert http.get(f"{BASE}/to_archive").status_code == 404
    assert http.get(f"{BASE}/to_archive?archived=true").json()["archived"] is True
    again = http.post(f"{BASE}/batch/archive", json={"inputs": inputs})
    assert again.status_code == 204


# Groups ----------------------------------------------------------------------------------


def test_groups_crud(http: httpx.Client) -> None:
    groups = f"{BASE}/groups"
    created = http.post(groups, json={"name": "travel", "label": "Travel", "displayOrder": 3})
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": "travel",
        "label": "Travel",
        "displayOrder": 3,
        "archived": False,
    }
    assert created.headers["Location"].endswith(f"{groups}/travel")

    assert http.get(f"{groups}/travel").json()["label"] == "Travel"
    listed = http.get(groups).json()["results"]
    assert {"contactinformation", "travel"} <= {g["name"] for g in listed}

    patched = http.patch(f"{groups}/travel", json={"label": "Travel documents", "displayOrder": 1})
    assert patched.status_code == 200
    assert (patched.json()["label"], patched.json()["displayOrder"]) == ("Travel documents", 1)

    filed = http.post(BASE, json=prop("visa_number", groupName="travel"))
    assert filed.status_code == 201 and filed.json()["groupName"] == "travel"
    assert http.delete(f"{groups}/travel").status_code == 400  # still holds visa_number
    moved = http.patch(f"{BASE}/visa_number", json={"groupName": "contactinformation"})
    assert moved.json()["groupName"] == "contactinformation"

    assert http.delete(f"{groups}/travel").status_code == 204
    assert http.get(f"{groups}/travel").status_code == 404
    assert "travel" not in {g["name"] for g in http.get(groups).json()["results"]}
    assert http.post(BASE, json=prop("in_gone_group", groupName="travel")).status_code == 400


# Paths and object type ids ---------------------------------------------------------------

TYPES = [("contacts", "0-1"), ("companies", "0-2"), ("deals", "0-3"), ("tickets", "0-5")]


@pytest.mark.parametrize(("name", "type_id"), TYPES)
def test_type_ids_and_dated_paths_are_the_same_resource(
    http: httpx.Client, name: str, type_id: str
) -> None:
    canonical = http.get(f"/crm/v3/properties/{name}").json()
    assert canonical["results"]
    for path in (
        f"/crm/v3/properties/{type_id}",
        f"/crm/properties/2026-03/{name}",
        f"/crm/properties/2026-03/{type_id}",
        f"/crm/properties/2025-09/{type_id}",
    ):
        assert http.get(path).json() == canonical, path
    groups = http.get(f"/crm/v3/properties/{name}/groups").json()
    assert http.get(f"/crm/properties/2026-03/{type_id}/groups").json() == groups

    group = canonical["results"][0]["groupName"]
    created = http.post(f"/crm/properties/2026-03/{type_id}", json=prop("dated", groupName=group))
    assert created.status_code == 201, created.text
    assert created.headers["Location"].endswith(f"/crm/properties/2026-03/{type_id}/dated")
    assert http.get(f"/crm/v3/properties/{name}/dated").json() == created.json()
    patched = http.patch(f"/crm/v3/properties/{type_id}/dated", json={"label": "Dated"})
    assert http.get(f"/crm/properties/2026-03/{name}/dated").json() == patched.json()
    assert http.delete(f"/crm/properties/2026-03/{type_id}/dated").status_code == 204
    assert http.get(f"/crm/v3/properties/{name}/dated").status_code == 404


# HubSpot-defined properties (SPEC §4.4) ---------------------------------------------------

DEFINED = {
    "contacts": [
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
        "phone",
        "hs_additional_emails",
        "fax",
        "mobilephone",
        "company",
        "hs_marketable_until_renewal",
    ],
    "companies": ["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"]
    + ["website", "phone"],
    "deals": ["dealname", "amount", "closedate", "pipeline", "dealstage", "createdate"]
    + ["hs_lastmodifieddate", "hs_object_id", "description", "dealtype"],
    "tickets": ["content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_category"]
    + ["hs_ticket_priority", "subject", "createdate", "hs_lastmodifieddate", "hs_object_id"]
    + ["hs_ticket_id"],
}
READ_MODEL = {"name", "label", "type", "fieldType", "groupName", "description", "options"}


@pytest.mark.parametrize("object_name", DEFINED)
def test_hubspot_defined_properties(http: httpx.Client, object_name: str) -> None:
    listed = http.get(f"/crm/v3/properties/{object_name}").json()["results"]
    by_name = {p["name"]: p for p in listed}
    assert set(DEFINED[object_name]) <= set(by_name)
    for name in DEFINED[object_name]:
        defined = by_name[name]
        assert set(defined) >= READ_MODEL
        assert defined["hubspotDefined"] is True
        assert defined["modificationMetadata"]["archivable"] is False
        assert defined["dataSensitivity"] == "non_sensitive"
    groups = http.get(f"/crm/v3/properties/{object_name}/groups").json()["results"]
    assert {p["groupName"] for p in listed} <= {g["name"] for g in groups}


def test_custom_property_read_model(http: httpx.Client) -> None:
    created = http.post(
        BASE,
        json=prop(
            "passport_number",
            label="Passport Number",
            dataSensitivity="sensitive",
            sensitiveDataCategories=["HIPAA"],
        ),
    )
    assert created.status_code == 201
    body = created.json()
    assert created.headers["Location"].endswith(f"{BASE}/passport_number")
    assert set(body) >= READ_MODEL
    assert body["hubspotDefined"] is False
    assert body["modificationMetadata"] == {
        "archivable": True,
        "readOnlyDefinition": False,
        "readOnlyValue": False,
    }
    assert (body["dataSensitivity"], body["sensitiveDataCategories"]) == ("sensitive", ["HIPAA"])
    assert body["archived"] is False and "archivedAt" not in body
    assert body["createdAt"] == body["updatedAt"]
    assert http.get(f"{BASE}/passport_number").json() == body


# Unknown routes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/crm/v3/imports"),
        ("POST", "/crm/v3/exports/export/async"),
        ("GET", "/crm/properties/2026-03/contacts/email/history"),
        ("GET", "/"),
        ("DELETE", "/localspot/v1/nothing"),
    ],
)
def test_unknown_routes_say_not_implemented(
    server: LocalSpotServer, http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == f"LocalSpot does not implement {method} {path} yet."
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


# Two server processes over one store ------------------------------------------------------


def test_a_second_process_sees_every_definition_change(
    server: LocalSpotServer, http: httpx.Client, full_app: Any
) -> None:
    """Rendered definitions are kept between requests; a write made through another process
    on the same store must show at once. On SQLite that is exact (the data version and the
    marker are read from the store every time); on PostgreSQL a process hears another's
    commit as a notification a moment later, so reads there poll for a bounded time."""
    store = ["--database-url", server.database_url] if server.database_url else []
    other = Serve("--data-dir", str(server.data_dir), *store)
    settle = 5.0 if server.database_url else 0.0

    def soon(check: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + settle
        while not check():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    try:
        other.wait_until_listening()
        headers = {"Authorization": f"Bearer {full_app.token}"}
        second = httpx.Client(base_url=other.url, headers=headers, timeout=30)

        def names(client: httpx.Client, query: str = "") -> set[str]:
            return {p["name"] for p in client.get(f"{BASE}{query}").json()["results"]}

        def label(client: httpx.Client, listed: bool = False) -> str:
            if listed:
                found = client.get(BASE).json()["results"]
                return str({p["name"]: p["label"] for p in found}["shared"])
            return str(client.get(f"{BASE}/shared").json()["label"])

        assert "shared" not in names(second)  # warms the second process's copy
        assert http.post(BASE, json=prop("shared")).status_code == 201
        assert soon(lambda: "shared" in names(second))
        assert soon(lambda: label(second) == "Shared")

        http.patch(f"{BASE}/shared", json={"label": "Shared twice"})
        assert soon(lambda: label(second) == "Shared twice")
        assert soon(lambda: label(second, listed=True) == "Shared twice")

        second.delete(f"{BASE}/shared")
        assert soon(lambda: "shared" not in names(http))
        assert "shared" in names(http, "?archived=true")
        assert http.get(f"{BASE}/shared").status_code == 404
        second.close()
    finally:
        other.stop()
