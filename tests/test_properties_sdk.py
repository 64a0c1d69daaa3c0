"""The guide's property scenarios, driven through HubSpot's official Python SDKs."""

from __future__ import annotations

import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.properties import (
    BatchInputPropertyCreate,
    BatchInputPropertyName,
    BatchReadInputPropertyName,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyGroupUpdate,
    PropertyName,
    PropertyUpdate,
)
from hubspot.crm.properties.exceptions import ApiException

from tests.conftest import sdk_client, v3_client

pytestmark = pytest.mark.replayable

PASSPORT = {
    "name": "passport_number",
    "label": "Passport Number",
    "type": "string",
    "field_type": "text",
    "group_name": "contactinformation",
}


def test_create_list_read_and_archive_a_sensitive_property(sdk: hubspot_sdk.HubSpot) -> None:
    created = sdk.crm.properties.create("contacts", **PASSPORT, data_sensitivity="sensitive")
    assert created.name == "passport_number"
    assert created.data_sensitivity == "sensitive"
    assert created.hubspot_defined is False

    plain = sdk.crm.properties.list("contacts")
    assert "passport_number" not in {p.name for p in plain.results}
    assert "email" in {p.name for p in plain.results}
    sensitive = sdk.crm.properties.list("contacts", data_sensitivity="sensitive")
    assert [p.name for p in sensitive.results] == ["passport_number"]

    read = sdk.crm.properties.get("passport_number", object_type="contacts")
    assert read.data_sensitivity == "sensitive"
    assert read.label == "Passport Number"

    with pytest.raises(hubspot_sdk.BadRequestError) as refused:
        sdk.crm.properties.update(
            "passport_number",
            object_type="contacts",
            extra_body={"dataSensitivity": "non_sensitive"},
        )
    assert refused.value.body["category"] == "VALIDATION_ERROR"
    assert "dataSensitivity" in refused.value.body["message"]
    assert sdk.crm.properties.get("passport_number", object_type="contacts").data_sensitivity == (
        "sensitive"
    )

    sdk.crm.properties.delete("passport_number", object_type="contacts")
    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk.crm.properties.get("passport_number", object_type="contacts")
    archived = sdk.crm.properties.list("contacts", archived=True, data_sensitivity="sensitive")
    assert [p.name for p in archived.results] == ["passport_number"]
    assert archived.results[0].archived is True


def test_highly_sensitive_and_categories(sdk: hubspot_sdk.HubSpot) -> None:
    sdk.crm.properties.create(
        "contacts",
        name="diagnosis",
        label="Diagnosis",
        type="string",
        field_type="textarea",
        group_name="contactinformation",
        data_sensitivity="highly_sensitive",
        extra_body={"sensitiveDataCategories": ["HIPAA"]},
    )
    listed = sdk.crm.properties.list("contacts", data_sensitivity="highly_sensitive").results
    assert [(p.name, p.sensitive_data_categories) for p in listed] == [("diagnosis", ["HIPAA"])]
    assert sdk.crm.properties.list("contacts", data_sensitivity="sensitive").results == []


def test_edit_label_of_a_sensitive_property(sdk: hubspot_sdk.HubSpot) -> None:
    sdk.crm.properties.create(
        "deals", **{**PASSPORT, "group_name": "dealinformation"}, data_sensitivity="sensitive"
    )
    updated = sdk.crm.properties.update(
        "passport_number", object_type="0-3", label="Passport no.", description="ID document"
    )
    assert (updated.label, updated.description) == ("Passport no.", "ID document")
    assert updated.data_sensitivity == "sensitive"


def test_v3_client_reads_and_writes_definitions(server, full_app) -> None:  # type: ignore[no-untyped-def]
    client = v3_client(server, full_app)
    created = client.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="tax_code",
            label="Tax code",
            type="enumeration",
            field_type="select",
            group_name="companyinformation",
            options=[
                {"label": "A", "value": "a", "hidden": False},
                {"label": "B", "value": "b", "hidden": False},
            ],
        ),
    )
    assert created.name == "tax_code"
    assert [o.value for o in created.options] == ["a", "b"]
    fetched = client.crm.properties.core_api.get_by_name("companies", "tax_code")
    assert fetched.type == "enumeration"
    patched = client.crm.properties.core_api.update(
        "companies", "tax_code", PropertyUpdate(label="Tax code (EU)")
    )
    assert patched.label == "Tax code (EU)"
    client.crm.properties.core_api.archive("companies", "tax_code")
    with pytest.raises(ApiException) as missing:
        client.crm.properties.core_api.get_by_name("companies", "tax_code")
    assert missing.value.status == 404


def test_sdk_reads_base_url_from_environment(server, full_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUBSPOT_BASE_URL", server.url)
    client = hubspot_sdk.HubSpot(access_token=full_app.token, max_retries=0)
    assert any(p.name == "email" for p in client.crm.properties.list("contacts").results)


def test_sdk_client_helper_matches_environment(server, full_app) -> None:  # type: ignore[no-untyped-def]
    names = {p.name for p in sdk_client(server, full_app).crm.properties.list("0-5").results}
    assert {"subject", "hs_pipeline", "hs_pipeline_stage"} <= names


# Groups and batches, the calls tests/test_property_lifecycle.py makes over raw HTTP --------------

TRAVEL_DOC = {
    "name": "visa_number",
    "label": "Visa number",
    "type": "string",
    "field_type": "text",
    "group_name": "travel",
}


def test_sdk_groups_crud(sdk: hubspot_sdk.HubSpot) -> None:
    groups = sdk.crm.properties.groups
    created = groups.create("contacts", name="travel", label="Travel", display_order=3)
    assert (created.name, created.label, created.display_order, created.archived) == (
        "travel",
        "Travel",
        3,
        False,
    )
    assert groups.get("travel", object_type="contacts").label == "Travel"
    assert {"contactinformation", "travel"} <= {g.name for g in groups.list("contacts").results}

    patched = groups.update(
        "travel", object_type="contacts", label="Travel documents", display_order=1
    )
    assert (patched.label, patched.display_order) == ("Travel documents", 1)
    assert groups.get("travel", object_type="contacts").label == "Travel documents"

    sdk.crm.properties.create("contacts", **TRAVEL_DOC)
    with pytest.raises(hubspot_sdk.BadRequestError):
        groups.delete("travel", object_type="contacts")  # still holds visa_number
    sdk.crm.properties.update(
        "visa_number", object_type="contacts", group_name="contactinformation"
    )
    groups.delete("travel", object_type="contacts")
    with pytest.raises(hubspot_sdk.NotFoundError):
        groups.get("travel", object_type="contacts")
    assert "travel" not in {g.name for g in groups.list("contacts").results}


def _sdk_prop(name: str, **extra: object) -> dict[str, object]:
    return {**PASSPORT, "name": name, "label": name.replace("_", " "), **extra}


def test_sdk_batch_create_read_and_archive(sdk: hubspot_sdk.HubSpot) -> None:
    batch = sdk.crm.properties.batch
    created = batch.create("contacts", inputs=[_sdk_prop(f"batch_{i}") for i in range(3)])
    assert created.status == "COMPLETE"
    assert [p.name for p in created.results] == ["batch_0", "batch_1", "batch_2"]
    assert created.started_at <= created.completed_at

    partial = batch.create(
        "contacts",
        inputs=[_sdk_prop("fine_one"), _sdk_prop("batch_0"), _sdk_prop("fine_two")],
    )
    assert sorted(p.name for p in partial.results) == ["fine_one", "fine_two"]
    extra = partial.to_dict()
    assert extra["numErrors"] == 1
    assert extra["errors"][0]["category"] == "OBJECT_ALREADY_EXISTS"

    sdk.crm.properties.create("contacts", **_sdk_prop("readable"), data_sensitivity="sensitive")
    read = batch.get(
        "contacts",
        archived=False,
        data_sensitivity="non_sensitive",
        inputs=[{"name": "email"}, {"name": "readable"}],
    )
    assert [(p.name, p.data_sensitivity) for p in read.results] == [
        ("email", "non_sensitive"),
        ("readable", "sensitive"),
    ]
    missing = batch.get(
        "contacts",
        archived=False,
        data_sensitivity="non_sensitive",
        inputs=[{"name": "email"}, {"name": "never_made"}],
    )
    assert [p.name for p in missing.results] == ["email"]
    assert missing.to_dict()["errors"][0]["context"] == {"propertyName": ["never_made"]}

    assert batch.delete("contacts", inputs=[{"name": "batch_1"}, {"name": "never_made"}]) is None
    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk.crm.properties.get("batch_1", object_type="contacts")
    archived = batch.get(
        "contacts", archived=True, data_sensitivity="non_sensitive", inputs=[{"name": "batch_1"}]
    )
    assert [(p.name, p.archived) for p in archived.results] == [("batch_1", True)]


def test_v3_client_groups_crud(v3: hubspot.HubSpot) -> None:
    groups = v3.crm.properties.groups_api
    created = groups.create(
        "contacts", PropertyGroupCreate(name="travel", label="Travel", display_order=3)
    )
    assert (created.name, created.label, created.display_order) == ("travel", "Travel", 3)
    assert groups.get_by_name("contacts", "travel").label == "Travel"
    assert "travel" in {g.name for g in groups.get_all("contacts").results}
    patched = groups.update(
        "contacts", "travel", PropertyGroupUpdate(label="Travel documents", display_order=1)
    )
    assert (patched.label, patched.display_order) == ("Travel documents", 1)
    groups.archive("contacts", "travel")
    with pytest.raises(ApiException) as missing:
        groups.get_by_name("contacts", "travel")
    assert missing.value.status == 404


def test_v3_client_batch_create_read_and_archive(v3: hubspot.HubSpot) -> None:
    batch = v3.crm.properties.batch_api

    def create(name: str) -> PropertyCreate:
        return PropertyCreate(
            name=name, label=name, type="string", field_type="text", group_name="dealinformation"
        )

    created = batch.create("deals", BatchInputPropertyCreate(inputs=[create("d_1"), create("d_2")]))
    assert created.status == "COMPLETE"
    assert [p.name for p in created.results] == ["d_1", "d_2"]

    partial = batch.create("deals", BatchInputPropertyCreate(inputs=[create("d_1"), create("d_3")]))
    assert [p.name for p in partial.results] == ["d_3"]
    assert partial.num_errors == 1
    assert partial.errors[0].category == "OBJECT_ALREADY_EXISTS"

    read = batch.read(
        "deals",
        BatchReadInputPropertyName(
            archived=False, inputs=[PropertyName(name="dealname"), PropertyName(name="d_2")]
        ),
    )
    assert [p.name for p in read.results] == ["dealname", "d_2"]

    batch.archive("deals", BatchInputPropertyName(inputs=[PropertyName(name="d_2")]))
    with pytest.raises(ApiException) as gone:
        v3.crm.properties.core_api.get_by_name("deals", "d_2")
    assert gone.value.status == 404
    archived = batch.read(
        "deals",
        BatchReadInputPropertyName(archived=True, inputs=[PropertyName(name="d_2")]),
    )
    assert [(p.name, p.archived) for p in archived.results] == [("d_2", True)]
