"""Helpers shared by the legacy API tests: sensitive properties, canary values, v3 checks."""

from __future__ import annotations

from typing import Any

import httpx

from localspot.scopes import all_scopes

# A value that must never appear in any legacy response body.
CANARY = "CANARY-PASSPORT-7Q4Z"
HIGH_CANARY = "CANARY-DIAGNOSIS-2K9X"
GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
}


def define(http: httpx.Client, object_type: str, name: str, sensitivity: str, **extra: Any) -> None:
    body = {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": "string",
        "fieldType": "text",
        "groupName": GROUPS[object_type],
        "dataSensitivity": sensitivity,
        **extra,
    }
    response = http.post(f"/crm/v3/properties/{object_type}", json=body)
    assert response.status_code == 201, response.text


def define_sensitive(http: httpx.Client, object_type: str) -> None:
    """passport_number (sensitive) and diagnosis (highly sensitive) on ``object_type``."""
    define(http, object_type, "passport_number", "sensitive")
    define(http, object_type, "diagnosis", "highly_sensitive")


def v3_create(http: httpx.Client, object_type: str, properties: dict[str, str]) -> str:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def v3_values(http: httpx.Client, object_type: str, record_id: Any, *names: str) -> dict[str, Any]:
    """The record's values read through v3 with a full token."""
    response = http.get(
        f"/crm/v3/objects/{object_type}/{record_id}", params={"properties": ",".join(names)}
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["properties"])


def v3_history(http: httpx.Client, object_type: str, record_id: Any, name: str) -> list[Any]:
    response = http.get(
        f"/crm/v3/objects/{object_type}/{record_id}", params={"propertiesWithHistory": name}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["propertiesWithHistory"][name])


def assert_clean(response: httpx.Response) -> None:
    """No sensitive value or key in a legacy response."""
    for secret in (CANARY, HIGH_CANARY, "passport_number", "diagnosis"):
        assert secret not in response.text, f"{secret} leaked: {response.text[:500]}"


def scopes_without_sensitive() -> list[str]:
    return [s for s in all_scopes() if ".sensitive" not in s and ".highly_sensitive" not in s]
