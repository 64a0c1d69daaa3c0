"""Helpers for the forms tests: a portal with a sensitive property and a form over it."""

from __future__ import annotations

from typing import Any

import httpx

PASSPORT = {
    "name": "passport_number",
    "label": "Passport Number",
    "type": "string",
    "fieldType": "text",
    "groupName": "contactinformation",
    "dataSensitivity": "sensitive",
}


def field(name: str, field_type: str = "single_line_text", **extra: Any) -> dict[str, Any]:
    return {
        "objectTypeId": extra.pop("objectTypeId", "0-1"),
        "name": name,
        "label": name.replace("_", " ").title(),
        "required": extra.pop("required", False),
        "hidden": False,
        "fieldType": field_type,
        **extra,
    }


def form_body(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    groups = [{"groupType": "default_group", "richTextType": "text", "fields": [f]} for f in fields]
    return {
        "name": extra.pop("name", "Contact us"),
        "formType": "hubspot",
        "fieldGroups": groups,
        **extra,
    }


def passport_form(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    """Creates the passport property and a form with email, first name and passport number."""
    made = http.post("/crm/v3/properties/contacts", json=PASSPORT)
    assert made.status_code == 201, made.text
    body = form_body(
        field("email", "email", required=True),
        field("firstname"),
        field("passport_number"),
        **extra,
    )
    created = http.post("/marketing/v3/forms", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def fields(**values: str) -> list[dict[str, str]]:
    return [{"objectTypeId": "0-1", "name": k, "value": v} for k, v in values.items()]


def secure_path(hub_id: int, guid: str) -> str:
    return f"/submissions/v3/integration/secure/submit/{hub_id}/{guid}"


def open_path(hub_id: int, guid: str) -> str:
    return f"/submissions/v3/integration/submit/{hub_id}/{guid}"
