"""A field named more than once in one submission (SPEC §6.1): its values are the choices of a
multiple-checkbox property, joined with ";"; any other property takes one value, so the
submission is refused on both endpoints and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import http_client
from tests.forms_helpers import field, form_body, open_path, secure_path

TOPICS = [
    {"label": n.title(), "value": n, "displayOrder": i} for i, n in enumerate(["news", "jobs"])
]


@dataclass(frozen=True)
class Portal:
    hub_id: int
    form: str
    client: httpx.Client


@pytest.fixture
def portal(server: LocalSpotServer) -> Iterator[Portal]:
    app = server.new_app(all_scopes())
    with http_client(server, app) as client:
        for definition in (
            {"name": "ssn", "type": "string", "fieldType": "text", "hasUniqueValue": True},
            {"name": "ssn_secure", "type": "string", "fieldType": "text", "hasUniqueValue": True},
            {"name": "topics", "type": "enumeration", "fieldType": "checkbox", "options": TOPICS},
            {"name": "shirt", "type": "enumeration", "fieldType": "radio", "options": TOPICS},
        ):
            sensitivity = "sensitive" if definition["name"] == "ssn_secure" else "non_sensitive"
            made = client.post(
                "/crm/v3/properties/contacts",
                json={
                    **definition,
                    "label": definition["name"].title(),
                    "groupName": "contactinformation",
                    "dataSensitivity": sensitivity,
                },
            )
            assert made.status_code == 201, made.text
        body = form_body(
            field("email", "email", required=True),
            field("ssn"),
            field("ssn_secure"),
            field("topics", "multiple_checkboxes", options=TOPICS),
            field("shirt", "radio", options=TOPICS),
        )
        form = client.post("/marketing/v3/forms", json=body)
        assert form.status_code == 201, form.text
        yield Portal(app.hub_id, form.json()["id"], client)


def _submit(portal: Portal, endpoint: str, *pairs: tuple[str, str]) -> httpx.Response:
    entries = [{"objectTypeId": "0-1", "name": n, "value": v} for n, v in pairs]
    body = {"fields": [{"name": "email", "value": "twice@example.org"}, *entries]}
    if endpoint == "secure":
        return portal.client.post(secure_path(portal.hub_id, portal.form), json=body)
    return httpx.post(f"{portal.client.base_url}{open_path(portal.hub_id, portal.form)}", json=body)


def _contact(portal: Portal) -> dict[str, Any] | None:
    found = portal.client.get(
        "/crm/v3/objects/contacts/twice@example.org",
        params={"idProperty": "email", "properties": "ssn,ssn_secure,topics,shirt"},
    )
    if found.status_code == 404:
        return None
    assert found.status_code == 200, found.text
    return dict(found.json()["properties"])


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [("secure", "ssn"), ("open", "ssn"), ("secure", "ssn_secure"), ("secure", "shirt")],
)
def test_a_single_value_field_sent_twice_is_refused(
    portal: Portal, endpoint: str, name: str
) -> None:
    first, second = ("news", "jobs") if name == "shirt" else ("A-81734", "B-81734")

    response = _submit(portal, endpoint, (name, first), ("topics", "news"), (name, second))

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "The request is not valid"
    assert body["errors"] == [
        {
            "message": f"Error in 'fields.{name}'. The field takes one value; it was given 2",
            "errorType": "MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED",
        }
    ]
    assert first not in response.text and second not in response.text
    assert _contact(portal) is None
    read = portal.client.get(f"/form-integrations/v1/submissions/forms/{portal.form}")
    assert read.json()["results"] == []


@pytest.mark.parametrize("endpoint", ["secure", "open"])
def test_a_multiple_checkbox_field_sent_twice_holds_both_choices(
    portal: Portal, endpoint: str
) -> None:
    response = _submit(portal, endpoint, ("topics", "news"), ("ssn", "C-1"), ("topics", "jobs"))

    assert response.status_code == 200, response.text
    stored = _contact(portal)
    assert stored is not None
    assert (stored["topics"], stored["ssn"]) == ("news;jobs", "C-1")
