"""Shared setup for record tests: a sensitive Passport Number property on any object type."""

from __future__ import annotations

from typing import Any

import httpx

STANDARD = {
    "contacts": ("contactinformation", {"email": "ana@example.org", "firstname": "Ana"}),
    "companies": ("companyinformation", {"name": "Acme", "domain": "acme.example"}),
    "deals": ("dealinformation", {"dealname": "Big deal", "dealstage": "qualifiedtobuy"}),
    "tickets": ("ticketinformation", {"subject": "Help", "hs_pipeline_stage": "1"}),
}


def add_property(
    http: httpx.Client,
    object_type: str,
    group: str,
    name: str = "passport_number",
    sensitivity: str = "sensitive",
    **extra: Any,
) -> None:
    body = {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": "string",
        "fieldType": "text",
        "groupName": group,
        "dataSensitivity": sensitivity,
        **extra,
    }
    response = http.post(f"/crm/v3/properties/{object_type}", json=body)
    assert response.status_code == 201, response.text


def add_custom_object(http: httpx.Client, name: str = "cars") -> str:
    """A custom object that allows sensitive properties, with a sensitive passport_number."""
    response = http.post(
        "/crm/v3/schemas",
        json={
            "name": name,
            "labels": {"singular": "Car", "plural": "Cars"},
            "primaryDisplayProperty": "model",
            "requiredProperties": ["model"],
            "searchableProperties": ["model"],
            "properties": [
                {"name": "model", "label": "Model", "type": "string", "fieldType": "text"},
                {
                    "name": "passport_number",
                    "label": "Owner passport",
                    "type": "string",
                    "fieldType": "text",
                    "dataSensitivity": "sensitive",
                },
            ],
            "associatedObjects": ["CONTACT"],
            "allowsSensitiveProperties": True,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["objectTypeId"])


def all_ids(http: httpx.Client, object_type: str) -> set[str]:
    """The ids of every record of the object, active and archived, through the list API."""
    ids: set[str] = set()
    for archived in ("false", "true"):
        after = None
        while True:
            params = {"limit": 100, "archived": archived, **({"after": after} if after else {})}
            page = http.get(f"/crm/v3/objects/{object_type}", params=params)
            assert page.status_code == 200, page.text
            ids |= {r["id"] for r in page.json()["results"]}
            if "paging" not in page.json():
                break
            after = page.json()["paging"]["next"]["after"]
    return ids
