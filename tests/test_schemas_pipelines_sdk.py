"""Object schemas and pipelines through HubSpot's SDKs: the dated paths hubspot-sdk calls and the
v3 paths hubspot-api-client calls reach the same faces."""

from __future__ import annotations

import json

import httpx
import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypeDefinitionPatch,
    ObjectTypePropertyCreate,
)
from hubspot.crm.schemas.exceptions import ApiException as SchemasApiException

from localspot.testing import LocalSpotServer
from tests.conftest import v3_client

pytestmark = pytest.mark.replayable

DEAL_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]
TICKET_STAGES = ["1", "2", "3", "4"]
MODEL = {"name": "model", "label": "Model", "type": "string", "field_type": "text"}


# Object schemas -----------------------------------------------------------------------------


def test_sdk_schema_lifecycle_on_dated_paths(sdk: hubspot_sdk.HubSpot) -> None:
    assert sdk.crm.object_schemas.list().results == []
    created = sdk.crm.object_schemas.create(
        name="cars",
        labels={"singular": "Car", "plural": "Cars"},
        properties=[MODEL],
        required_properties=["model"],
        searchable_properties=["model"],
        secondary_display_properties=[],
        associated_objects=["CONTACT"],
        allows_sensitive_properties=True,
        primary_display_property="model",
    )
    assert created.object_type_id.startswith("2-")
    assert created.name == "cars"
    assert "model" in {p.name for p in created.properties}

    listed = sdk.crm.object_schemas.list()
    assert [s.object_type_id for s in listed.results] == [created.object_type_id]
    by_id = sdk.crm.object_schemas.get(created.object_type_id)
    by_name = sdk.crm.object_schemas.get(created.fully_qualified_name)
    assert by_id.id == by_name.id == created.id
    assert by_id.labels.plural == "Cars"

    updated = sdk.crm.object_schemas.update(
        created.object_type_id, clear_description=False, description="Company cars"
    )
    assert updated.description == "Company cars"
    assert sdk.crm.object_schemas.get(created.object_type_id).description == "Company cars"

    sdk.crm.object_schemas.delete(created.object_type_id)
    assert sdk.crm.object_schemas.list().results == []
    with pytest.raises(hubspot_sdk.NotFoundError) as missing:
        sdk.crm.object_schemas.get(created.object_type_id)
    assert missing.value.body["category"] == "OBJECT_NOT_FOUND"


def test_v3_client_schema_lifecycle(v3: hubspot.HubSpot) -> None:
    api = v3.crm.schemas.core_api
    created = api.create(
        ObjectSchemaEgg(
            name="boats",
            labels=ObjectTypeDefinitionLabels(singular="Boat", plural="Boats"),
            properties=[ObjectTypePropertyCreate(**MODEL)],
            required_properties=["model"],
            searchable_properties=["model"],
            secondary_display_properties=[],
            associated_objects=["CONTACT"],
            primary_display_property="model",
        )
    )
    assert created.object_type_id.startswith("2-")
    assert [s.object_type_id for s in api.get_all().results] == [created.object_type_id]
    assert api.get_by_id(created.object_type_id).labels.singular == "Boat"

    updated = api.update(
        created.object_type_id, ObjectTypeDefinitionPatch(searchable_properties=["model"])
    )
    assert updated.searchable_properties == ["model"]

    api.archive(created.object_type_id)
    assert api.get_all().results == []
    with pytest.raises(SchemasApiException) as missing:
        api.get_by_id(created.object_type_id)
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("version", ["2026-03", "2025-09"])
def test_schemas_dated_path_takes_any_api_version(http: httpx.Client, version: str) -> None:
    response = http.get(f"/crm-object-schemas/{version}/schemas")
    assert response.status_code == 200, response.text
    assert response.json() == {"results": []}


# Pipelines ----------------------------------------------------------------------------------


def test_sdk_lists_and_reads_default_pipelines(sdk: hubspot_sdk.HubSpot) -> None:
    deals = sdk.crm.pipelines.list("deals").results
    assert [(p.id, p.label) for p in deals] == [("default", "Sales Pipeline")]
    assert [s.id for s in deals[0].stages] == DEAL_STAGES

    pipeline = sdk.crm.pipelines.get("default", object_type="deals")
    assert pipeline.label == "Sales Pipeline"
    assert [s.id for s in pipeline.stages] == DEAL_STAGES

    stages = sdk.crm.pipelines.list_stages("default", object_type="deals").results
    assert [s.id for s in stages] == DEAL_STAGES
    won = sdk.crm.pipelines.get_stage("closedwon", object_type="deals", pipeline_id="default")
    assert (won.label, won.metadata, won.display_order) == (
        "Closed Won",
        {"isClosed": "true", "probability": "1.0"},
        5,
    )

    tickets = sdk.crm.pipelines.list("0-5").results
    assert [p.id for p in tickets] == ["0"]
    closed = sdk.crm.pipelines.get_stage("4", object_type="tickets", pipeline_id="0")
    assert closed.metadata == {"ticketState": "CLOSED"}


def test_sdk_unknown_pipeline_or_stage_is_object_not_found(sdk: hubspot_sdk.HubSpot) -> None:
    with pytest.raises(hubspot_sdk.NotFoundError) as pipeline:
        sdk.crm.pipelines.get("nope", object_type="deals")
    assert pipeline.value.body["category"] == "OBJECT_NOT_FOUND"
    assert pipeline.value.body["context"] == {"pipelineId": ["nope"]}
    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk.crm.pipelines.list_stages("nope", object_type="deals")
    with pytest.raises(hubspot_sdk.NotFoundError) as stage:
        sdk.crm.pipelines.get_stage("nope", object_type="deals", pipeline_id="default")
    assert stage.value.body["category"] == "OBJECT_NOT_FOUND"
    assert stage.value.body["context"] == {"pipelineId": ["default"], "stageId": ["nope"]}
    with pytest.raises(hubspot_sdk.NotFoundError) as object_type:
        sdk.crm.pipelines.list("contacts")
    assert object_type.value.body["category"] == "OBJECT_NOT_FOUND"


def test_sdk_pipeline_writes_say_not_implemented(sdk: hubspot_sdk.HubSpot) -> None:
    with pytest.raises(hubspot_sdk.NotFoundError) as created:
        sdk.crm.pipelines.create("deals", display_order=1, label="Renewals", stages=[])
    assert created.value.body["message"] == (
        "LocalSpot does not implement POST /crm/pipelines/2026-03/deals yet."
    )
    with pytest.raises(hubspot_sdk.NotFoundError) as deleted:
        sdk.crm.pipelines.delete_stage("closedwon", object_type="deals", pipeline_id="default")
    assert "does not implement DELETE" in deleted.value.body["message"]
    # Nothing changed.
    stages = sdk.crm.pipelines.list_stages("default", object_type="deals").results
    assert [s.id for s in stages] == DEAL_STAGES


def test_v3_client_reads_default_pipelines(v3: hubspot.HubSpot) -> None:
    pipelines_api = v3.crm.pipelines.pipelines_api
    stages_api = v3.crm.pipelines.pipeline_stages_api
    assert [p.id for p in pipelines_api.get_all("deals").results] == ["default"]
    assert pipelines_api.get_by_id("tickets", "0").label == "Support Pipeline"
    assert [s.id for s in stages_api.get_all("deals", "default").results] == DEAL_STAGES
    assert [s.id for s in stages_api.get_all("0-5", "0").results] == TICKET_STAGES
    assert stages_api.get_by_id("deals", "default", "qualifiedtobuy").label == "Qualified To Buy"

    with pytest.raises(PipelinesApiException) as pipeline:
        pipelines_api.get_by_id("deals", "nope")
    assert pipeline.value.status == 404
    assert json.loads(pipeline.value.body)["category"] == "OBJECT_NOT_FOUND"
    with pytest.raises(PipelinesApiException) as stage:
        stages_api.get_by_id("deals", "default", "nope")
    assert stage.value.status == 404
    assert json.loads(stage.value.body)["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/crm/v3/pipelines/deals"),
        ("PATCH", "/crm/v3/pipelines/deals/default"),
        ("PUT", "/crm/v3/pipelines/deals/default"),
        ("DELETE", "/crm/v3/pipelines/tickets/0"),
        ("POST", "/crm/v3/pipelines/deals/default/stages"),
        ("PATCH", "/crm/v3/pipelines/deals/default/stages/closedwon"),
        ("PUT", "/crm/pipelines/2026-03/deals/default/stages/closedwon"),
        ("DELETE", "/crm/pipelines/2026-03/deals/default/stages/closedwon"),
        ("GET", "/crm/v3/pipelines/deals/default/audit"),
    ],
)
def test_pipeline_writes_answer_not_implemented(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, json={"label": "x", "displayOrder": 0})
    assert response.status_code == 404
    body = response.json()
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == f"LocalSpot does not implement {method} {path} yet."


def test_pipeline_paths_need_a_token(http: httpx.Client) -> None:
    response = httpx.get(f"{http.base_url}/crm/pipelines/2026-03/deals/default")
    assert response.status_code == 401


def test_pipelines_need_a_scope_on_their_object(server: LocalSpotServer) -> None:
    contacts_only = v3_client(server, server.new_app(["crm.objects.contacts.read"]))
    for object_type, acceptable in (
        ("deals", ["crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read"]),
        ("tickets", ["crm.schemas.tickets.read", "tickets"]),
    ):
        with pytest.raises(PipelinesApiException) as exc:
            contacts_only.crm.pipelines.pipelines_api.get_all(object_type)
        assert exc.value.status == 403
        body = json.loads(exc.value.body)
        assert body["category"] == "MISSING_SCOPES"
        assert sorted(body["errors"][0]["context"]["requiredGranularScopes"]) == acceptable
        with pytest.raises(PipelinesApiException) as exc:
            contacts_only.crm.pipelines.pipeline_stages_api.get_all(object_type, "default")
        assert exc.value.status == 403
    deals = v3_client(server, server.new_app(["crm.objects.deals.write"]))
    assert [p.id for p in deals.crm.pipelines.pipelines_api.get_all("deals").results] == ["default"]
    with pytest.raises(PipelinesApiException):
        deals.crm.pipelines.pipelines_api.get_all("tickets")
    tickets = v3_client(server, server.new_app(["tickets"]))
    assert tickets.crm.pipelines.pipelines_api.get_by_id("tickets", "0").id == "0"
