"""The default deal and ticket pipelines with their stages (read-only in LocalSpot)."""

from __future__ import annotations

from typing import Any

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


def render(object_type_id: str, created_iso: str) -> list[dict[str, Any]]:
    out = []
    for order, (pid, label, stage_list) in enumerate(PIPELINES.get(object_type_id, [])):
        out.append(
            {
                "id": pid,
                "label": label,
                "displayOrder": order,
                "archived": False,
                "createdAt": created_iso,
                "updatedAt": created_iso,
                "stages": [
                    {
                        "id": sid,
                        "label": slabel,
                        "displayOrder": i,
                        "metadata": meta,
                        "archived": False,
                        "createdAt": created_iso,
                        "updatedAt": created_iso,
                    }
                    for i, (sid, slabel, meta) in enumerate(stage_list)
                ],
            }
        )
    return out
