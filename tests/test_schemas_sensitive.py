"""Custom object schemas and sensitive data (SPEC §3.5, §1.3, Part B3, B6, B17): display and
searchable roles, archive and purge scopes, name reuse, read options, and the Enterprise gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypeDefinitionPatch,
    ObjectTypePropertyCreate,
)
from hubspot.crm.schemas.exceptions import ApiException
from sqlalchemy import update

from localspot.store.schema import object_schemas
from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client, sdk_client, v3_client
from tests.protection_support import engine_of
from tests.records_helpers import add_custom_object

pytestmark = pytest.mark.replayable

SECRET = "P-55501-SECRET"
FRAME = {
    "name": "frame",
    "label": "Frame number",
    "type": "string",
    "fieldType": "text",
    "dataSensitivity": "sensitive",
}
VIN = {**FRAME, "name": "vin", "label": "VIN", "dataSensitivity": "highly_sensitive"}
MODEL = {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}
SCHEMA_WRITE_ONLY = ["crm.schemas.custom.read", "crm.schemas.custom.write"]


def schema_body(name: str = "bikes", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {"singular": "Bike", "plural": "Bikes"},
        "primaryDisplayProperty": "model",
        "requiredProperties": ["model"],
        "searchableProperties": ["model"],
        "properties": [MODEL, FRAME, VIN],
        "associatedObjects": ["CONTACT"],
        "allowsSensitiveProperties": True,
        **extra,
    }


def create(http: httpx.Client, **extra: Any) -> str:
    response = http.post("/crm/v3/schemas", json=schema_body(**extra))
    assert response.status_code == 201, response.text
    return str(response.json()["objectTypeId"])


def assert_error(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["category"] == category
    assert SECRET not in response.text
    return body


# 1. Sensitive properties in display and searchable roles --------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("primaryDisplayProperty", "frame", "frame"),
        ("secondaryDisplayProperties", ["model", "frame"], "frame"),
        ("searchableProperties", ["vin"], "vin"),
    ],
)
def test_create_refuses_a_sensitive_display_or_searchable_property(
    http: httpx.Client, field: str, value: Any, named: str
) -> None:
    response = http.post("/crm/v3/schemas", json=schema_body(**{field: value}))
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert named in body["message"] and field in body["message"]
    assert body["context"] == {"propertyName": [named]}
    assert http.get("/crm/v3/schemas").json()["results"] == []


def test_update_refuses_a_sensitive_display_or_searchable_property(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    type_id = create(http)
    api = v3.crm.schemas.core_api
    for patch in (
        ObjectTypeDefinitionPatch(primary_display_property="frame"),
        ObjectTypeDefinitionPatch(secondary_display_properties=["vin"]),
        ObjectTypeDefinitionPatch(searchable_properties=["model", "frame"]),
    ):
        with pytest.raises(ApiException) as refused:
            api.update(type_id, patch)
        assert refused.value.status == 400
        assert json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"
    schema = api.get_by_id(type_id)
    assert schema.primary_display_property == "model"
    assert schema.secondary_display_properties == []
    assert schema.searchable_properties == ["model"]


def test_a_stored_sensitive_primary_display_property_is_never_returned_unasked(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    """A schema stored before the check (or imported) may still name one: defence in depth."""
    type_id = create(http)
    made = http.post(
        f"/crm/v3/objects/{type_id}", json={"properties": {"model": "Brompton", "frame": SECRET}}
    )
    assert made.status_code == 201, made.text
    record_id = made.json()["id"]
    engine = engine_of(server)
    with engine.begin() as conn:
        conn.execute(
            update(object_schemas)
            .where(object_schemas.c.id == int(type_id[2:]))
            .values(primary_display_property="frame")
        )
    engine.dispose()

    read = http.get(f"/crm/v3/objects/{type_id}/{record_id}")
    assert read.status_code == 200, read.text
    assert "frame" not in read.json()["properties"]
    assert SECRET not in read.text

    plain = make_app(["crm.objects.custom.read"], hub_id=full_app.hub_id)
    with http_client(server, plain) as weak:
        for response in (
            weak.get(f"/crm/v3/objects/{type_id}/{record_id}"),
            weak.get(f"/crm/v3/objects/{type_id}"),
            weak.post(f"/crm/v3/objects/{type_id}/search", json={}),
        ):
            assert response.status_code == 200, response.text
            assert SECRET not in response.text
    # Naming it still works with the scope.
    named = http.get(f"/crm/v3/objects/{type_id}/{record_id}", params={"properties": "frame"})
    assert named.json()["properties"]["frame"] == SECRET


# 2 and 4. Archived names, and purging ---------------------------------------------------------


def test_an_archived_schema_keeps_its_name_until_purged(sdk: hubspot_sdk.HubSpot) -> None:
    egg: dict[str, Any] = {
        "name": "vans",
        "labels": {"singular": "Van", "plural": "Vans"},
        "properties": [{"name": "model", "label": "Model", "type": "string", "field_type": "text"}],
        "required_properties": ["model"],
        "searchable_properties": [],
        "secondary_display_properties": [],
        "allows_sensitive_properties": False,
        "associated_objects": ["CONTACT"],
    }
    created = sdk.crm.object_schemas.create(**egg)
    sdk.crm.object_schemas.delete(created.object_type_id)
    with pytest.raises(hubspot_sdk.ConflictError) as taken:
        sdk.crm.object_schemas.create(**egg)
    assert taken.value.body["category"] == "OBJECT_ALREADY_EXISTS"
    assert "archived" in taken.value.body["message"]
    # Another spelling of the name is the same name.
    with pytest.raises(hubspot_sdk.ConflictError):
        sdk.crm.object_schemas.create(**{**egg, "name": "Vans"})

    sdk.crm.object_schemas.delete(created.object_type_id, archived=True)
    assert sdk.crm.object_schemas.list(archived=True).results == []
    reborn = sdk.crm.object_schemas.create(**egg)
    assert reborn.object_type_id != created.object_type_id
    assert "model" in {p.name for p in reborn.properties}


def test_purge_removes_records_and_refuses_an_active_schema(
    http: httpx.Client, v3: hubspot.HubSpot
) -> None:
    type_id = create(http)
    made = http.post(
        f"/crm/v3/objects/{type_id}", json={"properties": {"model": "Moulton", "frame": SECRET}}
    )
    record_id = made.json()["id"]
    refused = http.delete(f"/crm/v3/schemas/{type_id}", params={"archived": "true"})
    body = assert_error(refused, 400, "VALIDATION_ERROR")
    assert "archive" in body["message"]
    assert http.get(f"/crm/v3/schemas/{type_id}").status_code == 200

    assert http.delete(f"/crm/v3/objects/{type_id}/{record_id}").status_code == 204
    v3.crm.schemas.core_api.archive(type_id)
    v3.crm.schemas.core_api.archive(type_id, archived=True)
    assert http.get("/crm/v3/schemas", params={"archived": "true"}).json()["results"] == []
    gone = http.delete(f"/crm/v3/schemas/{type_id}", params={"archived": "true"})
    assert_error(gone, 404, "OBJECT_NOT_FOUND")

    # The name is free, and the new object starts empty: no record of the old one remains.
    new_id = create(http)
    assert new_id != type_id
    assert (
        http.get(f"/crm/v3/objects/{new_id}", params={"archived": "true"}).json()["results"] == []
    )
    assert http.get(f"/crm/v3/objects/{type_id}/{record_id}").status_code in (400, 404)


# 3. Archive scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "required"),
    [
        ([], ["crm.objects.custom.sensitive.write.v2"]),
        (["crm.objects.custom.sensitive.write"], ["crm.objects.custom.highly_sensitive.write.v2"]),
    ],
)
def test_archive_needs_the_sensitive_write_scope_of_each_level(
    server: LocalSpotServer,
    full_app: App,
    http: httpx.Client,
    make_app: Callable[..., App],
    granted: list[str],
    required: list[str],
) -> None:
    type_id = create(http)
    weak = make_app([*SCHEMA_WRITE_ONLY, *granted], hub_id=full_app.hub_id)
    api = v3_client(server, weak).crm.schemas.core_api
    for purge in (False, True):
        with pytest.raises(ApiException) as refused:
            api.archive(type_id, **({"archived": True} if purge else {}))
        assert refused.value.status == 403
        body = json.loads(refused.value.body)
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == required
        if not purge:
            assert http.get(f"/crm/v3/schemas/{type_id}").status_code == 200
            assert http.delete(f"/crm/v3/schemas/{type_id}").status_code == 204
    # Nothing was purged by the refused call.
    listed = http.get("/crm/v3/schemas", params={"archived": "true"}).json()["results"]
    assert [s["objectTypeId"] for s in listed] == [type_id]


def test_archive_with_every_scope_it_needs(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    type_id = create(http)
    scoped = make_app(
        [
            *SCHEMA_WRITE_ONLY,
            "crm.objects.custom.sensitive.write",
            "crm.objects.custom.highly_sensitive.write.v2",
        ],
        hub_id=full_app.hub_id,
    )
    api = v3_client(server, scoped).crm.schemas.core_api
    api.archive(type_id)
    api.archive(type_id, archived=True)
    assert http.get("/crm/v3/schemas", params={"archived": "true"}).json()["results"] == []


# 5. Read options --------------------------------------------------------------------------------


def test_list_and_read_honour_the_include_options(
    http: httpx.Client, sdk: hubspot_sdk.HubSpot
) -> None:
    type_id = create(http)
    full = sdk.crm.object_schemas.list().results[0]
    assert full.properties and full.associations and full.created_at is not None

    bare = sdk.crm.object_schemas.list(
        include_property_definitions=False,
        include_association_definitions=False,
        include_audit_metadata=False,
    ).results[0]
    assert bare.properties == [] and bare.associations == []
    assert bare.created_at is None and bare.updated_at is None
    assert bare.object_type_id == type_id

    one = sdk.crm.object_schemas.get(type_id, include_property_definitions=False)
    assert one.properties == [] and one.associations
    raw = http.get(f"/crm/v3/schemas/{type_id}", params={"includeAuditMetadata": "false"})
    assert "createdAt" not in raw.json() and raw.json()["properties"]
    bad = http.get("/crm/v3/schemas", params={"includePropertyDefinitions": "maybe"})
    assert_error(bad, 400, "VALIDATION_ERROR")


# 6. allowsSensitiveProperties -----------------------------------------------------------------


def test_allowing_sensitive_properties_needs_enterprise(
    server: LocalSpotServer, make_app: Callable[..., App]
) -> None:
    app = make_app(SCHEMA_WRITE_ONLY, tier="professional")
    with http_client(server, app) as pro:
        refused = pro.post(
            "/crm/v3/schemas", json=schema_body(properties=[MODEL], allowsSensitiveProperties=True)
        )
        assert "Enterprise" in assert_error(refused, 403, "FORBIDDEN")["message"]
        type_id = create(pro, properties=[MODEL], allowsSensitiveProperties=False)
    sdk = sdk_client(server, app)
    with pytest.raises(hubspot_sdk.PermissionDeniedError) as patched:
        sdk.crm.object_schemas.update(
            type_id, clear_description=False, allows_sensitive_properties=True
        )
    assert patched.value.body["category"] == "FORBIDDEN"
    assert sdk.crm.object_schemas.get(type_id).allows_sensitive_properties is False


def test_turning_sensitive_properties_off_needs_them_gone(http: httpx.Client) -> None:
    type_id = add_custom_object(http, "trikes")
    refused = http.patch(f"/crm/v3/schemas/{type_id}", json={"allowsSensitiveProperties": False})
    assert_error(refused, 400, "VALIDATION_ERROR")
    assert http.get(f"/crm/v3/schemas/{type_id}").json()["allowsSensitiveProperties"] is True
    assert http.delete(f"/crm/v3/properties/{type_id}/passport_number").status_code == 204
    allowed = http.patch(f"/crm/v3/schemas/{type_id}", json={"allowsSensitiveProperties": False})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allowsSensitiveProperties"] is False


def test_v3_client_create_with_plain_display_properties_still_works(v3: hubspot.HubSpot) -> None:
    created = v3.crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="scooters",
            labels=ObjectTypeDefinitionLabels(singular="Scooter", plural="Scooters"),
            properties=[
                ObjectTypePropertyCreate(
                    name="model", label="Model", type="string", field_type="text"
                )
            ],
            required_properties=["model"],
            searchable_properties=["model"],
            secondary_display_properties=["model"],
            associated_objects=["CONTACT"],
            primary_display_property="model",
        )
    )
    assert created.primary_display_property == "model"


def test_a_purged_property_leaves_the_schema_roles_it_held(
    server: LocalSpotServer, http: httpx.Client
) -> None:
    """A name purged and created again, sensitive this time, must not inherit the old
    property's display and searchable roles (which no sensitive property may hold)."""
    breed = {"name": "breed", "label": "Breed", "type": "string", "fieldType": "text"}
    type_id = create(
        http,
        name="dogs",
        properties=[MODEL, breed],
        searchableProperties=["model", "breed"],
        secondaryDisplayProperties=["breed"],
        requiredProperties=["model", "breed"],
    )
    assert http.delete(f"/crm/v3/properties/{type_id}/breed").status_code == 204
    server.advance_clock(days=91)
    created = http.post(
        f"/crm/v3/properties/{type_id}",
        json={**breed, "dataSensitivity": "sensitive", "groupName": "dogs_information"},
    )
    assert created.status_code == 201, created.text
    schema = http.get(f"/crm/v3/schemas/{type_id}").json()
    assert schema["searchableProperties"] == ["model"]
    assert schema["secondaryDisplayProperties"] == []
    assert schema["requiredProperties"] == ["model"]
    assert schema["primaryDisplayProperty"] == "model"


def test_a_schemas_properties_come_in_creation_order_on_either_store(http: httpx.Client) -> None:
    """Regression: SQLite listed them alphabetically, PostgreSQL in creation order."""
    object_type = add_custom_object(http, name="vans")
    for name in ("zulu", "alpha", "mike"):
        made = http.post(
            f"/crm/v3/properties/{object_type}",
            json={
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "vans_information",
            },
        )
        assert made.status_code == 201, made.text
    listed = [p["name"] for p in http.get(f"/crm/v3/properties/{object_type}").json()["results"]]
    schema = http.get(f"/crm/v3/schemas/{object_type}").json()
    in_schema = [p["name"] for p in schema["properties"]]
    assert in_schema[-3:] == ["zulu", "alpha", "mike"]
    assert [n for n in in_schema if n in listed] == listed


@pytest.mark.parametrize("name", ["contacts", "Deal", "tickets", "company"])
def test_a_custom_object_may_not_take_a_standard_objects_name(
    http: httpx.Client, name: str
) -> None:
    """Regression: it was made, and the name then meant the standard object in every API but
    the schemas one."""
    made = http.post(
        "/crm/v3/schemas",
        json={
            "name": name,
            "labels": {"singular": "X", "plural": "Xs"},
            "primaryDisplayProperty": "model",
            "requiredProperties": [],
            "properties": [
                {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}
            ],
            "associatedObjects": [],
        },
    )
    assert made.status_code == 409, made.text
    assert made.json()["category"] == "OBJECT_ALREADY_EXISTS"
    assert http.get("/crm/v3/schemas").json()["results"] == []
