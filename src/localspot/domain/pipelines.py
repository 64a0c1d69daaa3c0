"""The default deal and ticket pipelines with their stages (read-only in LocalSpot)."""

from __future__ import annotations

from typing import Any

from localspot import policy
from localspot.errors import not_found
from localspot.policy import Caller

# (pipeline id, label, [(stage id, label, metadata)])
_Stage = tuple[str, str, dict[str, str]]

PIPELINES: dict[str, list[tuple[str, str, list[_Stage]]]] = {
    "0-3": [
        (
            "default",
            "Sales Pipeline",
            [
                (
                    "appointmentscheduled",
                    "Appointment Scheduled",
                    {"isClosed": "false", "probability": "0.2"},
                ),
                ("qualifiedtobuy", "Qualified To Buy", {"isClosed": "false", "probability": "0.4"}),
                (
                    "presentationscheduled",
                    "Presentation Scheduled",
                    {"isClosed": "false", "probability": "0.6"},
                ),
                (
                    "decisionmakerboughtin",
                    "Decision Maker Bought-In",
                    {"isClosed": "false", "probability": "0.8"},
                ),
                ("contractsent", "Contract Sent", {"isClosed": "false", "probability": "0.9"}),
                ("closedwon", "Closed Won", {"isClosed": "true", "probability": "1.0"}),
                ("closedlost", "Closed Lost", {"isClosed": "true", "probability": "0.0"}),
            ],
        ),
    ],
    "0-5": [
        (
            "0",
            "Support Pipeline",
            [
                ("1", "New", {"ticketState": "OPEN"}),
                ("2", "Waiting on contact", {"ticketState": "OPEN"}),
                ("3", "Waiting on us", {"ticketState": "OPEN"}),
                ("4", "Closed", {"ticketState": "CLOSED"}),
            ],
        ),
    ],
}

# Which properties name the pipeline and the stage, per object type.
PIPELINE_PROPERTIES = {
    "0-3": ("pipeline", "dealstage"),
    "0-5": ("hs_pipeline", "hs_pipeline_stage"),
}


def default_pipeline(object_type_id: str) -> str:
    return PIPELINES[object_type_id][0][0]


def stages(object_type_id: str, pipeline_id: str) -> list[str] | None:
    for pid, _, stage_list in PIPELINES.get(object_type_id, []):
        if pid == pipeline_id:
            return [s[0] for s in stage_list]
    return None


def options(object_type_id: str) -> tuple[list[str], list[str]]:
    """(pipeline ids, stage ids) for the enumeration options of the pipeline properties."""
    pipelines = PIPELINES.get(object_type_id, [])
    return [p[0] for p in pipelines], [s[0] for p in pipelines for s in p[2]]


# The defaults predate every account, so their timestamps are one fixed moment, not the clock's.
CREATED_ISO = "2020-01-01T00:00:00.000Z"

# Path names and type ids that have pipelines; the v3 and dated paths accept either.
_OBJECT_TYPES = {"deals": "0-3", "0-3": "0-3", "tickets": "0-5", "0-5": "0-5"}


def _object_type_id(object_type: str) -> str:
    object_type_id = _OBJECT_TYPES.get(object_type)
    if object_type_id is None:
        raise not_found(f"No pipelines for {object_type}", context={"objectType": [object_type]})
    return object_type_id


def _render_stage(order: int, stage: _Stage) -> dict[str, Any]:
    sid, label, meta = stage
    return {
        "id": sid,
        "label": label,
        "displayOrder": order,
        "metadata": meta,
        "archived": False,
        "createdAt": CREATED_ISO,
        "updatedAt": CREATED_ISO,
    }


def _rendered(object_type_id: str) -> list[dict[str, Any]]:
    out = []
    for order, (pid, label, stage_list) in enumerate(PIPELINES.get(object_type_id, [])):
        out.append(
            {
                "id": pid,
                "label": label,
                "displayOrder": order,
                "archived": False,
                "createdAt": CREATED_ISO,
                "updatedAt": CREATED_ISO,
                "stages": [_render_stage(i, stage) for i, stage in enumerate(stage_list)],
            }
        )
    return out


def _readable(caller: Caller, object_type: str) -> str:
    object_type_id = _object_type_id(object_type)
    policy.check_pipeline_read(caller, object_type_id)
    return object_type_id


def list_pipelines(caller: Caller, object_type: str) -> list[dict[str, Any]]:
    return _rendered(_readable(caller, object_type))


def get_pipeline(caller: Caller, object_type: str, pipeline_id: str) -> dict[str, Any]:
    for pipeline in _rendered(_readable(caller, object_type)):
        if pipeline["id"] == pipeline_id:
            return pipeline
    raise not_found(
        f"Unable to find pipeline {pipeline_id} for {object_type}",
        context={"pipelineId": [pipeline_id]},
    )


def list_stages(caller: Caller, object_type: str, pipeline_id: str) -> list[dict[str, Any]]:
    stage_list: list[dict[str, Any]] = get_pipeline(caller, object_type, pipeline_id)["stages"]
    return stage_list


def get_stage(caller: Caller, object_type: str, pipeline_id: str, stage_id: str) -> dict[str, Any]:
    for stage in list_stages(caller, object_type, pipeline_id):
        if stage["id"] == stage_id:
            return stage
    raise not_found(
        f"Unable to find stage {stage_id} in pipeline {pipeline_id}",
        context={"pipelineId": [pipeline_id], "stageId": [stage_id]},
    )
