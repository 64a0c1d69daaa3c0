"""A custom object schema's association definitions and the schemas batch read (SPEC §3.5):
POST and DELETE /{objectType}/associations and POST /batch/read, through HubSpot's SDKs where
they have the call, and on every schemas prefix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.schemas import AssociationDefinitionEgg
from hubspot.crm.schemas.exceptions import ApiException

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client, sdk_client, v3_client

pytestmark = pytest.mark.replayable

PREFIXES = [
    "/crm/v3/schemas",
    "/crm-object-schemas/v3/schemas",
    "/crm-object-schemas/2026-03/schemas",
]
MODEL = {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}


def create_schema(http: httpx.Client, name: str, associated: list[str] | None = None) -> str:
    response = http.post(
        "/crm/v3/schemas",
        json={
            "name": name,
            "labels": {"singular": name.title(), "plural": f"{name.title()}s"},
            "primaryDisplayProperty": "model",
            "requiredProperties": ["model"],
            "properties": [MODEL],
            "associatedObjects": associated or [],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["objectTypeId"])


def new(http: httpx.Client, object_type: str, **properties: str) -> str:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def pairs(http: httpx.Client, type_id: str) -> dict[str, tuple[str, str]]:
    read = http.get(f"/crm/v3/schemas/{type_id}")
    assert read.status_code == 200, read.text
    return {
        a["id"]: (a["fromObjectTypeId"], a["toObjectTypeId"]) for a in read.json()["associations"]
    }


def assert_error(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["category"] == category
    return body


# POST /{objectType}/associations ----------------------------------------------------------------


def test_v3_client_defines_an_association_that_records_can_then_use(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    bikes = create_schema(http, "bikes")
    assert pairs(http, bikes) == {}
    made = v3.crm.schemas.core_api.create_association(
        bikes,
        AssociationDefinitionEgg(
            from_object_type_id=bikes, to_object_type_id="contact", name="bike_to_rider"
        ),
    )
    assert (made.from_object_type_id, made.to_object_type_id) == (bikes, "0-1")
    assert made.name == "BIKE_TO_RIDER"
    assert made.created_at is not None and made.updated_at == made.created_at

    # The schema read lists it under the same id, and the way back from contacts too.
    listed = pairs(http, bikes)
    assert listed[made.id] == (bikes, "0-1")
    assert sorted(listed.values()) == sorted([(bikes, "0-1"), ("0-1", bikes)])

    # Records may now be associated, with the type the definition's id names.
    bike, rider = new(http, bikes, model="Roadster"), new(http, "contacts", email="r@example.org")
    basic = v3.crm.associations.v4.basic_api
    spec = basic.create_default(bikes, bike, "contacts", rider).results[0].association_spec
    assert (spec.association_category, str(spec.association_type_id)) == ("USER_DEFINED", made.id)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_prefix_answers_201_with_the_definition(http: httpx.Client, prefix: str) -> None:
    vans = create_schema(http, "vans")
    fqn = http.get(f"/crm/v3/schemas/{vans}").json()["fullyQualifiedName"]
    made = http.post(
        f"{prefix}/{fqn}/associations",
        json={"fromObjectTypeId": fqn, "toObjectTypeId": "companies"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {
        "id",
        "fromObjectTypeId",
        "toObjectTypeId",
        "name",
        "createdAt",
        "updatedAt",
    }
    assert (body["fromObjectTypeId"], body["toObjectTypeId"], body["name"]) == (
        vans,
        "0-2",
        "VANS_TO_COMPANY",
    )


def test_sdk_refuses_a_pair_already_defined_either_way(
    sdk: hubspot_sdk.HubSpot, http: httpx.Client
) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    trucks = create_schema(http, "trucks", associated=[cars])
    before = pairs(http, cars)
    for path, from_type, to_type in (
        (cars, cars, "0-1"),
        (trucks, trucks, cars),
        (cars, cars, trucks),
    ):
        with pytest.raises(hubspot_sdk.ConflictError) as taken:
            sdk.crm.object_schemas.create_association(
                path, from_object_type_id=from_type, to_object_type_id=to_type
            )
        body = taken.value.body
        assert body["category"] == "OBJECT_ALREADY_EXISTS"
        existing = [
            i
            for i, p in pairs(http, path).items()
            if p == (from_type, body["context"]["toObjectTypeId"][0])
        ]
        assert body["context"]["id"] == existing
    assert pairs(http, cars) == before

    # A name is the schema's own: a second association of it may not take it.
    made = sdk.crm.object_schemas.create_association(
        cars, from_object_type_id=cars, to_object_type_id="deals", name="fleet"
    )
    assert made.name == "FLEET"
    with pytest.raises(hubspot_sdk.ConflictError) as named:
        sdk.crm.object_schemas.create_association(
            cars, from_object_type_id=cars, to_object_type_id="tickets", name="Fleet"
        )
    assert named.value.body["context"] == {"name": ["Fleet"]}


def test_a_custom_object_may_be_associated_with_itself(http: httpx.Client) -> None:
    teams = create_schema(http, "teams")
    made = http.post(
        f"/crm/v3/schemas/{teams}/associations",
        json={"fromObjectTypeId": teams, "toObjectTypeId": teams},
    )
    assert made.status_code == 201, made.text
    assert pairs(http, teams) == {made.json()["id"]: (teams, teams)}
    assert (
        http.delete(f"/crm/v3/schemas/{teams}/associations/{made.json()['id']}").status_code == 204
    )
    assert pairs(http, teams) == {}


def test_refusals_name_the_field_and_change_nothing(http: httpx.Client) -> None:
    boats = create_schema(http, "boats")
    other = create_schema(http, "sails")
    gone = create_schema(http, "oars")
    assert http.delete(f"/crm/v3/schemas/{gone}").status_code == 204

    def post(path: str, body: Any) -> httpx.Response:
        return http.post(f"/crm/v3/schemas/{path}/associations", json=body)

    for to_type in ("nonsense", gone, "2-999999999"):
        refused = post(boats, {"fromObjectTypeId": boats, "toObjectTypeId": to_type})
        body = assert_error(refused, 400, "VALIDATION_ERROR")
        assert body["context"] == {"toObjectTypeId": [to_type]}
    mismatch = post(boats, {"fromObjectTypeId": other, "toObjectTypeId": "contacts"})
    assert assert_error(mismatch, 400, "VALIDATION_ERROR")["context"] == {
        "fromObjectTypeId": [other]
    }
    assert_error(post(boats, {"toObjectTypeId": "contacts"}), 400, "VALIDATION_ERROR")
    assert_error(
        post(boats, {"fromObjectTypeId": boats, "toObjectTypeId": 7}), 400, "VALIDATION_ERROR"
    )
    bad_name = {"fromObjectTypeId": boats, "toObjectTypeId": "contacts", "name": "no spaces"}
    assert_error(post(boats, bad_name), 400, "VALIDATION_ERROR")
    assert_error(post(boats, ["not", "an", "object"]), 400, "VALIDATION_ERROR")

    # The path names a schema: standard objects, archived or unknown schemas have none.
    for path in ("contacts", "0-1", gone, "2-999999999", "p_nope"):
        missing = post(path, {"fromObjectTypeId": path, "toObjectTypeId": boats})
        assert_error(missing, 404, "OBJECT_NOT_FOUND")
    assert pairs(http, boats) == {} and pairs(http, other) == {}


# DELETE /{objectType}/associations/{associationIdentifier} -------------------------------------


def test_delete_is_refused_while_live_records_use_it(
    server: LocalSpotServer, full_app: App, v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    (forward,) = [i for i, p in pairs(http, cars).items() if p == (cars, "0-1")]
    car, driver = new(http, cars, model="Mini"), new(http, "contacts", email="d@example.org")
    basic = v3.crm.associations.v4.basic_api
    basic.create_default(cars, car, "contacts", driver)
    label = http.post(
        f"/crm/v4/associations/{cars}/contacts/labels", json={"label": "Owner", "name": "owner"}
    )
    assert label.status_code == 200, label.text

    refused = http.delete(f"/crm/v3/schemas/{cars}/associations/{forward}")
    body = assert_error(refused, 400, "VALIDATION_ERROR")
    assert body["context"] == {"associationIdentifier": [forward]}
    assert body["message"].startswith("1 cars record still has associations with contacts")
    assert forward in pairs(http, cars)
    assert [str(r.to_object_id) for r in basic.get_page(cars, car, "contacts").results] == [driver]

    # Once the records are apart, it goes, both ways, and its labels with it.
    basic.archive(cars, car, "contacts", driver)
    assert http.delete(f"/crm/v3/schemas/{cars}/associations/{forward}").status_code == 204
    assert pairs(http, cars) == {}
    labels = http.get(f"/crm/v4/associations/{cars}/contacts/labels")
    assert labels.status_code == 200 and labels.json()["results"] == []
    with pytest.raises(AssociationsApiException) as unusable:
        basic.create_default(cars, car, "contacts", driver)
    assert unusable.value.status == 400
    again = http.delete(f"/crm/v3/schemas/{cars}/associations/{forward}")
    assert_error(again, 404, "OBJECT_NOT_FOUND")


def test_associations_of_archived_records_go_with_the_definition(
    server: LocalSpotServer, full_app: App, v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    (backward,) = [i for i, p in pairs(http, cars).items() if p == ("0-1", cars)]
    car, driver = new(http, cars, model="Mini"), new(http, "contacts", email="a@example.org")
    v3.crm.associations.v4.basic_api.create_default(cars, car, "contacts", driver)
    assert http.delete(f"/crm/v3/objects/{cars}/{car}").status_code == 204

    # Either side's id names the definition.
    assert (
        http.delete(f"/crm-object-schemas/v3/schemas/{cars}/associations/{backward}").status_code
        == 204
    )
    server.control("POST", f"/accounts/{full_app.hub_id}/objects/{cars}/{car}/restore")
    read = http.get(f"/crm/v4/objects/{cars}/{car}/associations/contacts")
    assert read.status_code == 200 and read.json()["results"] == []


def test_v3_client_deletes_from_either_schema_of_a_custom_pair(
    v3: hubspot.HubSpot, http: httpx.Client
) -> None:
    cars = create_schema(http, "cars")
    trucks = create_schema(http, "trucks", associated=[cars])
    ((ident, _),) = [(i, p) for i, p in pairs(http, cars).items() if p == (cars, trucks)]
    # The other schema's path does not name it, nor does an id that is no definition.
    api = v3.crm.schemas.core_api
    lone = create_schema(http, "bikes")
    for path, wrong in ((lone, ident), (cars, "abc"), (cars, "1"), (cars, "99999999")):
        with pytest.raises(ApiException) as missing:
            api.archive_association(path, wrong)
        assert missing.value.status == 404
        assert json.loads(missing.value.body)["category"] == "OBJECT_NOT_FOUND"
    api.archive_association(trucks, ident)
    assert pairs(http, cars) == {} and pairs(http, trucks) == {}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_delete_on_every_prefix(sdk: hubspot_sdk.HubSpot, http: httpx.Client, prefix: str) -> None:
    kayaks = create_schema(http, "kayaks", associated=["COMPANY"])
    (ident,) = [i for i, p in pairs(http, kayaks).items() if p == (kayaks, "0-2")]
    if prefix.endswith("2026-03/schemas"):
        sdk.crm.object_schemas.delete_association(ident, object_type=kayaks)
    else:
        assert http.delete(f"{prefix}/{kayaks}/associations/{ident}").status_code == 204
    assert pairs(http, kayaks) == {}


def test_an_archived_schema_has_no_associations_to_change(http: httpx.Client) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    (ident,) = [i for i, p in pairs(http, cars).items() if p == (cars, "0-1")]
    assert http.delete(f"/crm/v3/schemas/{cars}").status_code == 204
    deleted = http.delete(f"/crm/v3/schemas/{cars}/associations/{ident}")
    assert_error(deleted, 404, "OBJECT_NOT_FOUND")
    made = http.post(
        f"/crm/v3/schemas/{cars}/associations",
        json={"fromObjectTypeId": cars, "toObjectTypeId": "deals"},
    )
    assert_error(made, 404, "OBJECT_NOT_FOUND")
    archived = http.get("/crm/v3/schemas", params={"archived": "true"}).json()["results"]
    assert [[a["id"] for a in s["associations"]] for s in archived][0].count(ident) == 1


# POST /batch/read ------------------------------------------------------------------------------


def test_sdk_batch_read_returns_the_live_schemas_named(
    sdk: hubspot_sdk.HubSpot, http: httpx.Client
) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    boats = create_schema(http, "boats")
    gone = create_schema(http, "oars")
    assert http.delete(f"/crm/v3/schemas/{gone}").status_code == 204
    fqn = http.get(f"/crm/v3/schemas/{cars}").json()["fullyQualifiedName"]

    found = sdk.crm.object_schemas.batch.get(
        inputs=[boats, fqn, "nope", gone, cars, "contacts"],
        include_association_definitions=True,
        include_audit_metadata=True,
        include_property_definitions=True,
    )
    assert [s.object_type_id for s in found.results] == [boats, cars]
    assert found.results[1].associations and found.results[1].properties
    assert found.results[1].created_at is not None

    bare = sdk.crm.object_schemas.batch.get(
        inputs=[cars],
        include_association_definitions=False,
        include_audit_metadata=False,
        include_property_definitions=False,
    ).results[0]
    assert bare.associations == [] and bare.properties == [] and bare.created_at is None
    assert (
        sdk.crm.object_schemas.batch.get(
            inputs=[],
            include_association_definitions=True,
            include_audit_metadata=True,
            include_property_definitions=True,
        ).results
        == []
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_batch_read_on_every_prefix(http: httpx.Client, prefix: str) -> None:
    cars = create_schema(http, "cars")
    # The include flags default to true when left out, as on a GET.
    found = http.post(f"{prefix}/batch/read", json={"inputs": [cars, "missing"]})
    assert found.status_code == 200, found.text
    (schema,) = found.json()["results"]
    assert schema["objectTypeId"] == cars and schema["properties"] and "createdAt" in schema
    for bad in (
        {},
        {"inputs": cars},
        {"inputs": [1]},
        {"inputs": [], "includeAuditMetadata": "no"},
    ):
        assert_error(http.post(f"{prefix}/batch/read", json=bad), 400, "VALIDATION_ERROR")


# Scopes ----------------------------------------------------------------------------------------


def test_schema_scopes(
    server: LocalSpotServer,
    full_app: App,
    http: httpx.Client,
    make_app: Callable[..., App],
) -> None:
    cars = create_schema(http, "cars", associated=["CONTACT"])
    (ident,) = [i for i, p in pairs(http, cars).items() if p == (cars, "0-1")]
    reader = make_app(["crm.schemas.custom.read"], hub_id=full_app.hub_id)
    api = v3_client(server, reader).crm.schemas.core_api
    with pytest.raises(ApiException) as refused:
        api.create_association(
            cars, AssociationDefinitionEgg(from_object_type_id=cars, to_object_type_id="deals")
        )
    assert refused.value.status == 403
    body = json.loads(refused.value.body)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.schemas.custom.write"]
    with pytest.raises(ApiException) as refused_delete:
        api.archive_association(cars, ident)
    assert refused_delete.value.status == 403
    assert ident in pairs(http, cars)
    with http_client(server, reader) as read_only:
        listed = read_only.post("/crm/v3/schemas/batch/read", json={"inputs": [cars]})
    assert [s["objectTypeId"] for s in listed.json()["results"]] == [cars]

    contacts_only = sdk_client(
        server, make_app(["crm.objects.contacts.read"], hub_id=full_app.hub_id)
    )
    with pytest.raises(hubspot_sdk.PermissionDeniedError) as no_read:
        contacts_only.crm.object_schemas.batch.get(
            inputs=[cars],
            include_association_definitions=True,
            include_audit_metadata=True,
            include_property_definitions=True,
        )
    assert no_read.value.body["category"] == "MISSING_SCOPES"

    writer = make_app(["crm.schemas.custom.write"], hub_id=full_app.hub_id)
    with http_client(server, writer) as write_only:
        made = write_only.post(
            f"/crm/v3/schemas/{cars}/associations",
            json={"fromObjectTypeId": cars, "toObjectTypeId": "deals"},
        )
        assert made.status_code == 201, made.text
        assert (
            write_only.delete(
                f"/crm/v3/schemas/{cars}/associations/{made.json()['id']}"
            ).status_code
            == 204
        )


@pytest.mark.parametrize(
    "scope",
    [
        "crm.schemas.custom.read",
        "crm.objects.custom.read",
        "crm.objects.custom.sensitive.read.v2",
        "crm.objects.custom.highly_sensitive.read.v2",
    ],
)
def test_any_scope_hubspot_lists_reads_schemas(
    server: LocalSpotServer,
    full_app: App,
    http: httpx.Client,
    make_app: Callable[..., App],
    scope: str,
) -> None:
    cars = create_schema(http, "cars")
    reader = sdk_client(server, make_app([scope], hub_id=full_app.hub_id))
    listed = reader.crm.object_schemas.list()
    assert cars in [s.object_type_id for s in listed.results]
    assert reader.crm.object_schemas.get(cars).object_type_id == cars


def test_a_schema_read_without_those_scopes_names_all_four(
    server: LocalSpotServer, full_app: App, make_app: Callable[..., App]
) -> None:
    reader = make_app(
        ["crm.objects.contacts.read", "crm.schemas.custom.write"], hub_id=full_app.hub_id
    )
    with http_client(server, reader) as http:
        refused = assert_error(http.get("/crm/v3/schemas"), 403, "MISSING_SCOPES")
    assert refused["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.custom.highly_sensitive.read.v2",
        "crm.objects.custom.read",
        "crm.objects.custom.sensitive.read.v2",
        "crm.schemas.custom.read",
    ]
