"""Property history (``propertiesWithHistory``): creation entries and the changes after them.

A plaintext value written when its record is created has no history row of its own until it
changes (its creation entry is read from the value and the record); these tests pin that the
history reads the same as when every entry had its row, before and after changes, and for
records stored before records named their creation source.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from localspot.store.schema import record_history, record_values, records
from localspot.testing import LocalSpotServer
from tests.protection_support import engine_of
from tests.records_helpers import add_property

NAMES = "firstname,lastname,email,passport_number"


@pytest.fixture
def contact(http: httpx.Client) -> str:
    if http.get("/crm/v3/properties/contacts/passport_number").status_code == 404:
        add_property(http, "contacts", "contactinformation")
    response = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {
                    "properties": {
                        "email": f"hist-{uuid.uuid4().hex[:12]}@example.org",
                        "firstname": "Ana",
                        "lastname": "Ruiz",
                        "passport_number": "X1234567",
                    }
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["results"][0]["id"])


def _history(http: httpx.Client, record_id: str) -> dict[str, Any]:
    got = http.get(
        f"/crm/v3/objects/contacts/{record_id}",
        params={"properties": NAMES, "propertiesWithHistory": NAMES},
    )
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def test_creation_entries_then_changes(
    server: LocalSpotServer, http: httpx.Client, contact: str
) -> None:
    created = _history(http, contact)
    history = created["propertiesWithHistory"]
    app_id = history["passport_number"][0]["sourceId"]
    for name, value in (
        ("firstname", "Ana"),
        ("lastname", "Ruiz"),
        ("passport_number", "X1234567"),
    ):
        assert history[name] == [
            {
                "value": value,
                "timestamp": created["createdAt"],
                "sourceType": "API",
                "sourceId": app_id,
            }
        ]
    server.advance_clock(seconds=5)
    changed = http.patch(
        f"/crm/v3/objects/contacts/{contact}",
        json={"properties": {"firstname": "Ana Maria", "passport_number": "Y7654321"}},
    )
    assert changed.status_code == 200, changed.text
    server.advance_clock(seconds=5)
    cleared = http.patch(
        f"/crm/v3/objects/contacts/{contact}", json={"properties": {"lastname": ""}}
    )
    assert cleared.status_code == 200, cleared.text

    after = _history(http, contact)["propertiesWithHistory"]
    assert [h["value"] for h in after["firstname"]] == ["Ana Maria", "Ana"]
    assert [h["value"] for h in after["passport_number"]] == ["Y7654321", "X1234567"]
    assert [h["value"] for h in after["lastname"]] == ["", "Ruiz"]
    for name in ("firstname", "lastname", "passport_number"):
        assert after[name][-1] == history[name][0]  # the creation entry, as it was
        assert after[name][0]["timestamp"] > created["createdAt"]
    assert after["email"] == history["email"]


def test_a_record_stored_before_records_named_their_source_reads_alike(
    server: LocalSpotServer, http: httpx.Client, contact: str
) -> None:
    """Records of an older store have every creation entry as a history row, and no source."""
    before = _history(http, contact)
    with engine_of(server).begin() as conn:
        record_id = int(contact)
        made = conn.execute(select(records).where(records.c.id == record_id)).one()
        plain = conn.execute(
            select(record_values.c.property_id, record_values.c.value).where(
                record_values.c.record_id == record_id, record_values.c.value_ct.is_(None)
            )
        ).all()
        assert plain
        conn.execute(
            insert(record_history),
            [
                {
                    "record_id": record_id,
                    "property_id": property_id,
                    "value": value,
                    "timestamp_ms": made.created_ms,
                    "source_type": made.created_source_type,
                    "source_id": made.created_source_id,
                }
                for property_id, value in plain
            ],
        )
        conn.execute(
            update(records).where(records.c.id == record_id).values(created_source_type=None)
        )
    assert _history(http, contact) == before
    server.advance_clock(seconds=5)
    changed = http.patch(
        f"/crm/v3/objects/contacts/{contact}", json={"properties": {"firstname": "Bea"}}
    )
    assert changed.status_code == 200, changed.text
    after = _history(http, contact)["propertiesWithHistory"]
    assert [h["value"] for h in after["firstname"]] == ["Bea", "Ana"]
    assert after["lastname"] == before["propertiesWithHistory"]["lastname"]


def test_a_merge_keeps_the_creation_entries_of_both_records(
    server: LocalSpotServer, http: httpx.Client
) -> None:
    made = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {
                    "properties": {
                        "email": f"m1-{uuid.uuid4().hex[:12]}@example.org",
                        "firstname": "Ana",
                    }
                },
                {
                    "properties": {
                        "email": f"m2-{uuid.uuid4().hex[:12]}@example.org",
                        "firstname": "Bea",
                        "lastname": "Silva",
                    }
                },
            ]
        },
    )
    assert made.status_code == 201, made.text
    first, second = sorted(int(r["id"]) for r in made.json()["results"])
    server.advance_clock(seconds=5)
    merged = http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": str(first), "objectIdToMerge": str(second)},
    )
    assert merged.status_code == 200, merged.text
    got = http.get(
        f"/crm/v3/objects/contacts/{first}",
        params={"propertiesWithHistory": "firstname,lastname"},
    ).json()["propertiesWithHistory"]
    assert [(h["value"], h["sourceType"]) for h in got["firstname"]] == [("Ana", "API")]
    assert [(h["value"], h["sourceType"]) for h in got["lastname"]] == [("Silva", "MERGE")]
