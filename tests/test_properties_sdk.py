"""The guide's property scenarios, driven through HubSpot's official Python SDKs."""

from __future__ import annotations

import hubspot_sdk
import pytest
from hubspot.crm.properties import PropertyCreate, PropertyUpdate
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
