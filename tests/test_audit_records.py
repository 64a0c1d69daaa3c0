"""Reads and writes of sensitive record values leave audit rows: names and ids, never values."""

from __future__ import annotations

import httpx

from localspot.testing import LocalSpotServer
from tests.records_helpers import add_property


def _rows(server: LocalSpotServer, hub_id: int, action: str) -> list[dict]:  # type: ignore[type-arg]
    response = server.admin.get("/localspot/v1/audit", params={"hubId": hub_id, "action": action})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_sensitive_reads_and_writes_are_audited(
    server: LocalSpotServer, http: httpx.Client, full_app
) -> None:  # type: ignore[no-untyped-def]
    add_property(http, "contacts", "contactinformation")
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "au@example.org", "passport_number": "AUD-1"}},
    )
    record_id = int(made.json()["id"])
    http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "passport_number"})
    http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "email"})

    writes = _rows(server, full_app.hub_id, "write")
    assert [(w["recordIds"], w["propertyNames"]) for w in writes] == [
        ([record_id], ["passport_number"])
    ]
    reads = _rows(server, full_app.hub_id, "read")
    assert [(r["recordIds"], r["propertyNames"]) for r in reads] == [
        ([record_id], ["passport_number"])
    ]
    assert reads[0]["correlationId"]
    exported = server.admin.get(
        "/localspot/v1/audit", params={"hubId": full_app.hub_id, "format": "jsonl"}
    )
    assert "AUD-1" not in exported.text
