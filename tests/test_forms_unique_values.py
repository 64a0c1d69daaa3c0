"""A submitted value that another record already holds, for a property with unique values:
HubSpot's forms error body with an entry for the field, and nothing written (SPEC §6.1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.forms_helpers import field, fields, form_body, open_path, secure_path

SSN = "SSN-UNIQUE-40417"
MEMBER = "M-UNIQUE-2231"
CLASH_DETAIL = "Another record already has this value, and the property holds unique values"


def _unique_property(http: httpx.Client, name: str, sensitivity: str) -> None:
    made = http.post(
        "/crm/v3/properties/contacts",
        json={
            "name": name,
            "label": name.upper(),
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
            "dataSensitivity": sensitivity,
        },
    )
    assert made.status_code == 201, made.text


def _form(http: httpx.Client, name: str) -> str:
    body = form_body(field("email", "email", required=True), field(name))
    created = http.post("/marketing/v3/forms", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _holder(http: httpx.Client, **properties: str) -> str:
    made = http.post("/crm/v3/objects/contacts", json={"properties": properties})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _assert_clash_body(response: httpx.Response, name: str, value: str, holder: str) -> None:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["message"] == "The request is not valid"
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
    assert body["errors"] == [
        {"message": f"Error in 'fields.{name}'. {CLASH_DETAIL}", "errorType": "INVALID_METADATA"}
    ]
    assert value not in response.text
    # The holder is not named: the submitter may not read that record's value.
    assert holder not in body["errors"][0]["message"]


def _contacts_with_email(http: httpx.Client, email: str) -> list[Any]:
    found = http.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}
            ]
        },
    )
    assert found.status_code == 200, found.text
    return list(found.json()["results"])


@pytest.mark.parametrize("contact", ["new contact", "existing contact"])
def test_secure_submit_of_a_held_sensitive_unique_value(
    server: LocalSpotServer, contact: str
) -> None:
    app: App = server.new_app(all_scopes())
    with http_client(server, app) as http:
        _unique_property(http, "ssn", "sensitive")
        guid = _form(http, "ssn")
        holder = _holder(http, email="first@example.org", ssn=SSN)
        if contact == "existing contact":
            _holder(http, email="second@example.org")

        response = http.post(
            secure_path(app.hub_id, guid),
            json={"fields": fields(email="second@example.org", ssn=SSN)},
        )

        _assert_clash_body(response, "ssn", SSN, holder)
        found = _contacts_with_email(http, "second@example.org")
        assert len(found) == (1 if contact == "existing contact" else 0)
        read = http.get(f"/form-integrations/v1/submissions/forms/{guid}")
        assert read.json()["results"] == []


def test_open_submit_of_a_held_unique_value(server: LocalSpotServer) -> None:
    app: App = server.new_app(all_scopes())
    with http_client(server, app) as http:
        _unique_property(http, "member_code", "non_sensitive")
        guid = _form(http, "member_code")
        holder = _holder(http, email="first@example.org", member_code=MEMBER)

        response = httpx.post(
            f"{server.url}{open_path(app.hub_id, guid)}",
            json={"fields": fields(email="visitor@example.org", member_code=MEMBER)},
        )

        _assert_clash_body(response, "member_code", MEMBER, holder)
        assert _contacts_with_email(http, "visitor@example.org") == []
