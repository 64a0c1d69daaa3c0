"""Bugs a new user's hostile session found, each pinned over HTTP so it stays fixed."""

from __future__ import annotations

import httpx
import pytest

from localspot.testing import LocalSpotServer

# '²' passes str.isdigit() but int() refuses it; 25 digits overflow a BIGINT.
ODD = "²"
HUGE = "9" * 25

ODD_NUMBER_REQUESTS = [
    ("GET", f"/crm/v3/objects/contacts/{ODD}", None, 404),
    ("GET", f"/crm/v3/objects/contacts?after={ODD}", None, 400),
    ("GET", f"/crm/v3/objects/contacts?after={HUGE}", None, 400),
    ("POST", "/crm/v3/objects/contacts/batch/read", {"inputs": [{"id": ODD}]}, 207),
    ("POST", "/crm/v3/objects/contacts/batch/archive", {"inputs": [{"id": ODD}]}, 204),
    ("GET", f"/crm/v4/objects/contacts/1/associations/companies?after={ODD}", None, 400),
    ("PUT", f"/crm/v4/objects/contacts/{ODD}/associations/default/companies/{ODD}", None, 400),
    ("POST", "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": ODD}]}, 207),
    ("DELETE", f"/crm/v4/associations/contacts/companies/labels/{ODD}", None, 400),
    ("GET", f"/webhooks/v3/{ODD}/settings", None, 400),
    ("GET", f"/marketing/v3/forms?after={ODD}", None, 400),
    ("POST", f"/submissions/v3/integration/submit/{ODD}/f", {"fields": []}, 404),
    ("GET", f"/form-integrations/v1/submissions/forms/f?after={ODD}", None, 400),
    ("GET", f"/contacts/v1/contact/vid/{ODD}/profile", None, 404),
    ("GET", f"/companies/v2/companies/{ODD}", None, 404),
    ("GET", f"/deals/v1/deal/{ODD}", None, 404),
    ("GET", f"/contacts/v1/contact/vids/batch/?vid={ODD}", None, 200),
    ("GET", f"/contacts/v1/lists/all/contacts/all?vidOffset={HUGE}", None, 400),
    ("GET", f"/contacts/v1/lists/recently_updated/contacts/recent?timeOffset={HUGE}", None, 400),
    ("GET", f"/crm/v3/schemas/2-{ODD}", None, 404),
    ("GET", f"/crm/v3/objects/2-{HUGE}", None, 400),
    ("GET", f"/oauth/{ODD}/authorize?client_id=x", None, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ODD_NUMBER_REQUESTS)
def test_odd_or_huge_numbers_in_ids_and_cursors_are_client_errors(
    http: httpx.Client, method: str, path: str, body: object, status: int
) -> None:
    response = http.request(method, path, json=body)

    assert response.status_code == status, response.text
    if status >= 400 and response.headers["content-type"].startswith("application/json"):
        assert response.json()["status"] == "error"


@pytest.mark.parametrize(
    "path",
    [
        f"/localspot/v1/accounts/{ODD}",
        f"/localspot/v1/accounts/{HUGE}",
        f"/localspot/v1/private-apps/{ODD}",
        f"/localspot/v1/webhooks/private-apps/{HUGE}/secret",
        f"/localspot/v1/public-apps/{ODD}/installs",
        f"/localspot/v1/accounts/{HUGE}/forms",
    ],
)
def test_control_plane_refuses_odd_or_huge_ids(server: LocalSpotServer, path: str) -> None:
    response = server.admin.get(path)

    assert response.status_code in (400, 404), response.text


@pytest.mark.parametrize("value", [ODD, "86400000" + "0" * 15, "-" + HUGE])
def test_date_values_out_of_range_are_invalid_not_a_crash(http: httpx.Client, value: str) -> None:
    for name, kind in (("regress_day", "date"), ("regress_moment", "datetime")):
        created = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": kind,
                "fieldType": "date",
                "groupName": "contactinformation",
            },
        )
        assert created.status_code in (201, 409), created.text

        response = http.post("/crm/v3/objects/contacts", json={"properties": {name: value}})

        assert response.status_code == 400, response.text
        assert response.json()["category"] == "VALIDATION_ERROR"
