"""Which record a batch update or upsert input names: ``id`` and ``idProperty``."""

from __future__ import annotations

import httpx
import hubspot_sdk
import pytest

from tests.records_helpers import add_property, all_ids

pytestmark = pytest.mark.replayable


def _error(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("id_property", ["email", "customer_ref"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_an_upsert_by_a_blank_value_is_refused_and_creates_nothing(
    http: httpx.Client, id_property: str, blank: str
) -> None:
    add_property(
        http, "contacts", "contactinformation", "customer_ref", "non_sensitive", hasUniqueValue=True
    )
    before = all_ids(http, "contacts")
    body = {"inputs": [{"id": blank, "idProperty": id_property, "properties": {"lastname": "B"}}]}
    for _ in range(2):
        _error(http.post("/crm/v3/objects/contacts/batch/upsert", json=body))
    assert all_ids(http, "contacts") == before


@pytest.mark.parametrize("path", ["batch/update", "batch/upsert"])
@pytest.mark.parametrize("id_property", ["hs_object_id", "firstname"])
def test_update_or_upsert_by_a_property_without_unique_values_is_refused_whole(
    http: httpx.Client,
    full_app,
    path: str,
    id_property: str,  # type: ignore[no-untyped-def]
) -> None:
    made = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "Ann"}})
    record_id = made.json()["id"]
    other = http.post("/crm/v3/objects/contacts", json={"properties": {}}).json()["id"]
    key = record_id if id_property == "hs_object_id" else "Ann"
    inputs = [
        {"id": key, "idProperty": id_property, "properties": {"lastname": "Changed"}},
        {"id": other, "properties": {"lastname": "Changed"}},
    ]
    if path == "batch/upsert":
        inputs[1] = {"id": "x@example.org", "idProperty": "email", "properties": {}}
    body = _error(http.post(f"/crm/v3/objects/contacts/{path}", json={"inputs": inputs}))
    assert body["message"] == (
        f"Unable to perform update/upsert by non-unique 0-1 property {id_property} "
        f"in portal ID {full_app.hub_id}"
    )
    read = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "lastname"})
    assert read.json()["properties"]["lastname"] is None
    # A record id goes in ``id`` alone, and a single read still takes hs_object_id.
    by_id = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"idProperty": "hs_object_id"})
    assert by_id.status_code == 200


def test_sdk_upsert_results_carry_their_trace_ids(
    http: httpx.Client, sdk: hubspot_sdk.HubSpot
) -> None:
    http.post("/crm/v3/objects/contacts", json={"properties": {"email": "old@example.org"}})
    answer = sdk.crm.objects.contacts.batch.upsert(
        inputs=[
            {
                "id": "old@example.org",
                "id_property": "email",
                "properties": {"firstname": "Old"},
                "object_write_trace_id": "trace-old",
            },
            {
                "id": "new@example.org",
                "id_property": "email",
                "properties": {"firstname": "New"},
                "object_write_trace_id": "trace-new",
            },
        ]
    )
    traced = {r.properties["firstname"]: (r.object_write_trace_id, r.new) for r in answer.results}
    assert traced == {"Old": ("trace-old", False), "New": ("trace-new", True)}
