"""Changing a property's type when records hold values (SPEC §11 Q5): the stored values either
all fit the new type and search sees them as the new type at once, or the change is refused
and nothing changes."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from tests.records_helpers import add_property

BASE = "/crm/v3/properties/contacts"
SEARCH = "/crm/v3/objects/contacts/search"
TO_NUMBER = {"type": "number", "fieldType": "number"}


def _contacts(http: httpx.Client, values: list[str | None]) -> list[str]:
    emails = [f"{uuid.uuid4().hex[:12]}@types.example" for _ in values]
    inputs = [
        {"properties": {"email": email, **({"pn": v} if v is not None else {})}}
        for email, v in zip(emails, values, strict=True)
    ]
    made = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs})
    assert made.status_code == 201, made.text
    by_email = {r["properties"]["email"]: r["id"] for r in made.json()["results"]}
    return [by_email[email] for email in emails]


def _search(http: httpx.Client, **body: Any) -> list[str]:
    response = http.post(SEARCH, json={"properties": ["pn"], "limit": 100, **body})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def _filter(operator: str, value: str) -> dict[str, Any]:
    return {
        "filterGroups": [
            {"filters": [{"propertyName": "pn", "operator": operator, "value": value}]}
        ]
    }


def _values(http: httpx.Client, ids: list[str]) -> list[str | None]:
    response = http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": i} for i in ids], "properties": ["pn"]},
    )
    assert response.status_code == 200, response.text
    by_id = {r["id"]: r["properties"]["pn"] for r in response.json()["results"]}
    return [by_id[i] for i in ids]


@pytest.mark.parametrize("sensitivity", ["non_sensitive", "sensitive"])
def test_string_to_number_with_numeric_values_searches_and_sorts_as_numbers(
    http: httpx.Client, sensitivity: str
) -> None:
    add_property(http, "contacts", "contactinformation", name="pn", sensitivity=sensitivity)
    five, unset, hundred, twelve = _contacts(http, ["5", None, "100", "12"])

    changed = http.patch(f"{BASE}/pn", json=TO_NUMBER)
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "number"
    [seven] = _contacts(http, ["7"])

    # As strings, "5" and "7" sort after "12" and "100" and would pass GT "10".
    assert _search(http, **_filter("GT", "10")) == [hundred, twelve]
    assert _search(http, **_filter("LTE", "7")) == [five, seven]
    assert _search(http, **_filter("EQ", "100")) == [hundred]
    ascending = _search(http, sorts=[{"propertyName": "pn", "direction": "ASCENDING"}])
    assert ascending == [five, seven, twelve, hundred, unset]
    descending = _search(http, sorts=[{"propertyName": "pn", "direction": "DESCENDING"}])
    assert descending == [hundred, twelve, seven, five, unset]
    # The values read as they were written.
    assert _values(http, [five, hundred, twelve]) == ["5", "100", "12"]


@pytest.mark.parametrize("sensitivity", ["non_sensitive", "sensitive"])
def test_string_to_number_with_a_non_numeric_value_is_refused_and_changes_nothing(
    http: httpx.Client, sensitivity: str
) -> None:
    add_property(http, "contacts", "contactinformation", name="pn", sensitivity=sensitivity)
    secret, five, _ = _contacts(http, ["FORMSECRET5", "5", None])
    before = http.get(f"{BASE}/pn").json()

    refused = http.patch(f"{BASE}/pn", json={**TO_NUMBER, "label": "Renamed"})
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert "1 existing value does not fit" in body["message"]
    assert body["context"]["objectIds"] == [secret]
    assert "FORMSECRET" not in refused.text.upper()

    assert http.get(f"{BASE}/pn").json() == before
    assert _search(http, **_filter("EQ", "formsecret5")) == [secret]
    assert _search(http, **_filter("CONTAINS_TOKEN", "formsecret5")) == [secret]
    assert _values(http, [secret, five]) == ["FORMSECRET5", "5"]


@pytest.mark.parametrize("sensitivity", ["non_sensitive", "sensitive"])
def test_a_value_left_on_a_merged_away_record_does_not_block_a_type_change(
    http: httpx.Client, sensitivity: str
) -> None:
    """A merged-away record's id answers for the survivor, so its own values can never be
    changed or cleared: counting them as misfits refused the change until the purge."""
    add_property(http, "contacts", "contactinformation", name="pn", sensitivity=sensitivity)
    survivor, merged_away = _contacts(http, [None, "ACCT-XYZ"])
    merged = http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": survivor, "objectIdToMerge": merged_away},
    )
    assert merged.status_code == 200, merged.text
    cleared = http.patch(f"/crm/v3/objects/contacts/{survivor}", json={"properties": {"pn": ""}})
    assert cleared.status_code == 200, cleared.text

    changed = http.patch(f"{BASE}/pn", json=TO_NUMBER)
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "number"


def test_sensitive_string_to_datetime_keeps_equality_exact(http: httpx.Client) -> None:
    """Equality on a sealed value goes through the blind index, which is over the value in the
    type's normal form: an epoch-ms string must be indexed as the datetime it now is."""
    add_property(http, "contacts", "contactinformation", name="pn", sensitivity="sensitive")
    moment, other = _contacts(http, ["1700000000000", "2024-01-02T03:04:05Z"])

    changed = http.patch(f"{BASE}/pn", json={"type": "datetime", "fieldType": "date"})
    assert changed.status_code == 200, changed.text

    assert _search(http, **_filter("EQ", "1700000000000")) == [moment]
    assert _search(http, **_filter("EQ", "2023-11-14T22:13:20Z")) == [moment]
    assert _search(http, **_filter("EQ", "1704164645000")) == [other]
    assert _search(http, **_filter("GT", "1700000000000")) == [other]


def test_string_to_enumeration_matches_options_exactly(http: httpx.Client) -> None:
    """Enumerations compare case-sensitively, by whole option: a converted value must match as
    one written after the change does, not by its old lower-cased words."""
    add_property(http, "contacts", "contactinformation", name="pn")
    [converted] = _contacts(http, ["Gold Plus"])
    options = [
        {"label": "Gold Plus", "value": "Gold Plus", "hidden": False, "displayOrder": 0},
        {"label": "Silver", "value": "Silver", "hidden": False, "displayOrder": 1},
    ]
    changed = http.patch(
        f"{BASE}/pn", json={"type": "enumeration", "fieldType": "select", "options": options}
    )
    assert changed.status_code == 200, changed.text
    [fresh] = _contacts(http, ["Gold Plus"])

    assert _search(http, **_filter("EQ", "Gold Plus")) == [converted, fresh]
    assert _search(http, **_filter("CONTAINS_TOKEN", "Gold Plus")) == [converted, fresh]
    assert _search(http, **_filter("CONTAINS_TOKEN", "gold")) == []
    assert _search(http, **_filter("EQ", "gold plus")) == []


def test_string_to_enumeration_with_a_value_outside_the_options_is_refused(
    http: httpx.Client,
) -> None:
    add_property(http, "contacts", "contactinformation", name="pn")
    _contacts(http, ["Gold", "Bronze", "Bronze"])
    refused = http.patch(
        f"{BASE}/pn",
        json={
            "type": "enumeration",
            "fieldType": "select",
            "options": [{"label": "Gold", "value": "Gold", "hidden": False}],
        },
    )
    assert refused.status_code == 400, refused.text
    assert "2 existing values do not fit" in refused.json()["message"]
    assert "Bronze" not in refused.text
    assert http.get(f"{BASE}/pn").json()["type"] == "string"


def test_retyping_a_sensitive_property_needs_its_read_scope(
    http: httpx.Client, make_app: Any, full_app: Any, server: Any
) -> None:
    """A refused change names the records whose values do not fit the new type, so options
    that are guesses would tell who holds what: a caller who may write sensitive values but
    not read them is refused before any value is looked at."""
    add_property(http, "contacts", "contactinformation", name="pn", sensitivity="sensitive")
    _contacts(http, ["NID-SECRET-1", "777"])
    before = http.get(f"{BASE}/pn").json()
    writer = make_app(
        [
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "crm.objects.contacts.sensitive.write.v2",
            "crm.schemas.contacts.read",
            "crm.schemas.contacts.write",
        ],
        hub_id=full_app.hub_id,
    )
    guess = {
        "type": "enumeration",
        "fieldType": "select",
        "options": [{"label": "g", "value": "NID-SECRET-1"}, {"label": "s", "value": "777"}],
    }
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {writer.token}"}
    ) as blind:
        for change in (guess, TO_NUMBER):
            refused = blind.patch(f"{BASE}/pn", json=change)
            assert refused.status_code == 403, refused.text
            body = refused.json()
            assert body["category"] == "MISSING_SCOPES"
            assert "objectIds" not in refused.text and "NID-SECRET" not in refused.text
        # Other edits of the definition need only the write.
        relabelled = blind.patch(f"{BASE}/pn", json={"label": "Renamed"})
        assert relabelled.status_code == 200, relabelled.text
    assert http.get(f"{BASE}/pn").json() == {**before, "label": "Renamed", "updatedAt": ANY}
