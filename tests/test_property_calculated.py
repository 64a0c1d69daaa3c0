"""Calculation properties: HubSpot computes their values, so records never take a write to one.

LocalSpot does not evaluate formulas yet (TODO(properties) in domain/properties.py); what it
does reproduce is the definition's read-only value and the refusal of writes.
"""

from __future__ import annotations

import json

import httpx
import hubspot_sdk
import pytest

pytestmark = pytest.mark.replayable


def _write_errors(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    return json.loads(response.json()["message"].split(": ", 1)[1])  # type: ignore[no-any-return]


def test_a_calculation_property_reads_as_read_only_and_refuses_record_writes(
    sdk: hubspot_sdk.HubSpot, http: httpx.Client
) -> None:
    made = sdk.crm.properties.create(
        "contacts",
        name="double_score",
        label="Double score",
        type="number",
        field_type="calculation_equation",
        group_name="contactinformation",
        calculation_formula="hs_analytics_num_visits * 2",
    )
    assert made.calculated is True
    assert made.modification_metadata.read_only_value is True
    assert sdk.crm.properties.get(
        "double_score", object_type="contacts"
    ).modification_metadata.read_only_value  # noqa: E501

    record = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "C"}})
    record_id = record.json()["id"]
    patched = http.patch(
        f"/crm/v3/objects/contacts/{record_id}", json={"properties": {"double_score": "12345"}}
    )
    assert [e["error"] for e in _write_errors(patched)] == ["READ_ONLY_VALUE"]
    created = http.post("/crm/v3/objects/contacts", json={"properties": {"double_score": "1"}})
    assert [e["error"] for e in _write_errors(created)] == ["READ_ONLY_VALUE"]
    read = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "double_score"})
    assert read.json()["properties"]["double_score"] is None


@pytest.mark.parametrize(
    ("made_as", "patch"),
    [
        ({"type": "number", "fieldType": "number"}, {"fieldType": "calculation_equation"}),
        (
            {"type": "number", "fieldType": "calculation_equation", "calculationFormula": "1"},
            {"fieldType": "number"},
        ),
    ],
)
def test_a_property_cannot_become_a_calculation_or_stop_being_one(
    http: httpx.Client, made_as: dict[str, str], patch: dict[str, str]
) -> None:
    """A retyped property's stored values would otherwise outlive the change (formulas are not
    evaluated), and a formula the way back."""
    body = {"name": "tier_score", "label": "Tier", "groupName": "contactinformation", **made_as}
    assert http.post("/crm/v3/properties/contacts", json=body).status_code == 201
    if made_as["fieldType"] == "number":
        record = http.post("/crm/v3/objects/contacts", json={"properties": {"tier_score": "3"}})
        assert record.status_code == 201, record.text
    refused = http.patch(
        "/crm/v3/properties/contacts/tier_score", json={**patch, "calculationFormula": "1 + 1"}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["category"] == "VALIDATION_ERROR"
    after = http.get("/crm/v3/properties/contacts/tier_score").json()
    assert after["fieldType"] == made_as["fieldType"]
