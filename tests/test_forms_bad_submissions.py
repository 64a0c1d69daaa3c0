"""Bad submissions each get HubSpot's forms error body, and change nothing (SPEC §6.1, B14)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import http_client
from tests.forms_helpers import PASSPORT, field, form_body, secure_path

SECRET = "P-SECRET-48213"


@dataclass(frozen=True)
class Portal:
    hub_id: int
    form: str
    consent_form: str
    client: httpx.Client


@pytest.fixture(scope="module")
def portal(server: LocalSpotServer) -> Iterator[Portal]:
    yield from _portal(server)


@pytest.fixture
def fresh_portal(server: LocalSpotServer) -> Iterator[Portal]:
    yield from _portal(server)


def _portal(server: LocalSpotServer) -> Iterator[Portal]:
    app = server.new_app(all_scopes())
    with http_client(server, app) as client:
        assert client.post("/crm/v3/properties/contacts", json=PASSPORT).status_code == 201
        body = form_body(
            field(
                "email",
                "email",
                required=True,
                validation={"blockedEmailDomains": ["blocked.example"]},
            ),
            field("firstname"),
            field("passport_number"),
            field("lifecyclestage", "radio"),
            field("numberofemployees", "number", objectTypeId="0-2"),
        )
        form = client.post("/marketing/v3/forms", json=body)
        assert form.status_code == 201, form.text
        consent = client.post(
            "/marketing/v3/forms",
            json=form_body(
                field("email", "email"),
                legalConsentOptions={
                    "type": "explicit_consent_to_process",
                    "communicationsCheckboxes": [
                        {"subscriptionTypeId": 7, "label": "News", "required": False}
                    ],
                    "consentToProcessText": "We keep your data.",
                },
            ),
        )
        assert consent.status_code == 201, consent.text
        yield Portal(app.hub_id, form.json()["id"], consent.json()["id"], client)


def _fields(**changes: Any) -> list[dict[str, Any]]:
    values = {"email": "ok@example.org", "firstname": "Ok", "passport_number": SECRET}
    values.update(changes)
    return [
        {"objectTypeId": "0-1", "name": k, "value": v} for k, v in values.items() if v is not None
    ]


def _body(**extra: Any) -> dict[str, Any]:
    return {"fields": _fields(), **extra}


CONSENT_TEXT = {"consentToProcess": True, "text": "I agree"}
# (case, target, body: dict or raw bytes, status, errorType or None, message fragment)
CASES: list[tuple[str, str, Any, int, str | None, str]] = [
    ("unknown form", "unknown-form", _body(), 404, None, "was not found"),
    ("unknown portal", "unknown-portal", _body(), 404, None, "was not found"),
    ("portal not a number", "word-portal", _body(), 404, None, "was not found"),
    (
        "unknown field",
        "form",
        {"fields": [*_fields(), {"name": "favourite_colour", "value": "teal"}]},
        400,
        "FIELD_NOT_IN_FORM_DEFINITION",
        "Error in 'fields.favourite_colour'",
    ),
    (
        "property not on the form",
        "form",
        {"fields": _fields(lastname="Li")},
        400,
        "FIELD_NOT_IN_FORM_DEFINITION",
        "Error in 'fields.lastname'",
    ),
    (
        "object the form cannot hold",
        "form",
        {"fields": [*_fields(), {"objectTypeId": "0-3", "name": "dealname", "value": "D"}]},
        400,
        "FIELD_NOT_IN_FORM_DEFINITION",
        "Error in 'fields.0-3/dealname'",
    ),
    (
        "missing required field",
        "form",
        {"fields": _fields(email=None)},
        400,
        "REQUIRED_FIELD",
        "Required field 'email' is missing",
    ),
    (
        "empty required field",
        "form",
        {"fields": _fields(email="")},
        400,
        "REQUIRED_FIELD",
        "Error in 'fields.email'",
    ),
    (
        "invalid email",
        "form",
        {"fields": _fields(email="not-an-address")},
        400,
        "INVALID_EMAIL",
        "Error in 'fields.email'. Invalid email address",
    ),
    (
        "blocked email domain",
        "form",
        {"fields": _fields(email="x@blocked.example")},
        400,
        "BLOCKED_EMAIL",
        "Error in 'fields.email'",
    ),
    (
        "too many fields",
        "form",
        {"fields": [{"name": f"f{i}", "value": "v"} for i in range(1001)]},
        400,
        "MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED",
        "",
    ),
    (
        "oversized value",
        "form",
        {"fields": _fields(firstname="a" * 70_000)},
        400,
        "INPUT_TOO_LARGE",
        "Error in 'fields.firstname'",
    ),
    (
        "oversized sensitive value",
        "form",
        {"fields": _fields(passport_number=SECRET * 5000)},
        400,
        "INPUT_TOO_LARGE",
        "Error in 'fields.passport_number'",
    ),
    (
        "not a number",
        "form",
        {
            "fields": [
                *_fields(),
                {"objectTypeId": "0-2", "name": "numberofemployees", "value": "many"},
            ]
        },
        400,
        "INVALID_NUMBER",
        "Error in 'fields.0-2/numberofemployees'",
    ),
    (
        "option not in the property",
        "form",
        {"fields": _fields(lifecyclestage="royalty")},
        400,
        "VALUE_NOT_IN_FIELD_DEFINITION",
        "Error in 'fields.lifecyclestage'",
    ),
    ("malformed JSON", "form", b'{"fields": [', 400, None, "Invalid input JSON"),
    ("empty body", "form", b"", 400, None, "Invalid input JSON"),
    ("body is a list", "form", [], 400, None, "Invalid input JSON"),
    ("fields is not a list", "form", {"fields": {"email": "a@b.co"}}, 400, None, "fields"),
    (
        "value is a number",
        "form",
        {"fields": [*_fields(), {"name": "firstname", "value": 7}]},
        400,
        None,
        "value",
    ),
    ("field without a name", "form", {"fields": [*_fields(), {"value": "x"}]}, 400, None, "name"),
    ("context is not an object", "form", _body(context="home"), 400, None, "context"),
    ("submittedAt is not a time", "form", _body(submittedAt="yesterday"), 400, None, "submittedAt"),
    (
        "empty hutk",
        "form",
        _body(context={"hutk": ""}),
        400,
        "INVALID_HUTK",
        "Error in 'context.hutk'",
    ),
    (
        "bad pageUri",
        "form",
        _body(context={"pageUri": "not a page"}),
        400,
        "INVALID_PAGE_URI",
        "Error in 'context.pageUri'",
    ),
    (
        "bad ipAddress",
        "form",
        _body(context={"ipAddress": "999.1.1.1"}),
        400,
        "INVALID_IP_ADDRESS",
        "Error in 'context.ipAddress'",
    ),
    (
        "missing consent",
        "consent",
        {"fields": _fields(firstname=None, passport_number=None)},
        400,
        "MISSING_PROCESSING_CONSENT",
        "legalConsentOptions",
    ),
    (
        "consent refused",
        "consent",
        {
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {"consent": {"consentToProcess": False, "text": "t"}},
        },
        400,
        "MISSING_PROCESSING_CONSENT",
        "legalConsentOptions",
    ),
    (
        "consent without its text",
        "consent",
        {
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {"consent": {"consentToProcess": True}},
        },
        400,
        "MISSING_PROCESSING_CONSENT_TEXT",
        "legalConsentOptions.consent.text",
    ),
    (
        "consent and legitimate interest at once",
        "consent",
        {
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {
                "consent": CONSENT_TEXT,
                "legitimateInterest": {"subscriptionTypeId": 7, "text": "t"},
            },
        },
        400,
        "INVALID_LEGAL_OPTION_FORMAT",
        "legalConsentOptions",
    ),
    (
        "one subscription twice",
        "consent",
        {
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {
                "consent": {
                    **CONSENT_TEXT,
                    "communications": [
                        {"value": True, "subscriptionTypeId": 7, "text": "News"},
                        {"value": True, "subscriptionTypeId": 7, "text": "News"},
                    ],
                }
            },
        },
        400,
        "DUPLICATE_SUBSCRIPTION_TYPE_ID",
        "communications",
    ),
    (
        "communication without its text",
        "consent",
        {
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {
                "consent": {
                    **CONSENT_TEXT,
                    "communications": [{"value": True, "subscriptionTypeId": 7}],
                }
            },
        },
        400,
        "MISSING_COMMUNICATION_CONSENT_TEXT",
        "communications",
    ),
]


def _path(portal: Portal, target: str) -> str:
    return {
        "form": secure_path(portal.hub_id, portal.form),
        "consent": secure_path(portal.hub_id, portal.consent_form),
        "unknown-form": secure_path(portal.hub_id, str(uuid.uuid4())),
        "unknown-portal": f"/submissions/v3/integration/submit/987654321/{portal.form}",
        "word-portal": f"/submissions/v3/integration/submit/portal/{portal.form}",
    }[target]


@pytest.mark.parametrize(
    ("target", "body", "status", "error_type", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_submission_gets_hubspot_s_body(
    portal: Portal, target: str, body: Any, status: int, error_type: str | None, fragment: str
) -> None:
    path = _path(portal, target)
    if isinstance(body, bytes):
        response = portal.client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
    else:
        response = portal.client.post(path, json=body)

    assert response.status_code == status, response.text
    got = response.json()
    assert got["status"] == "error"
    assert got["correlationId"] == response.headers["x-hubspot-correlation-id"]
    assert "category" not in got
    if error_type is None:
        assert fragment in got["message"]
    else:
        assert got["message"] == "The request is not valid"
        assert error_type in [e["errorType"] for e in got["errors"]]
        assert any(fragment in e["message"] for e in got["errors"])
        assert all(set(e) == {"message", "errorType"} for e in got["errors"])
    assert SECRET not in response.text


def test_bad_submissions_left_nothing_behind(portal: Portal) -> None:
    assert portal.client.get("/crm/v3/objects/contacts").json()["results"] == []
    assert portal.client.get("/crm/v3/objects/companies").json()["results"] == []
    for guid in (portal.form, portal.consent_form):
        read = portal.client.get(f"/form-integrations/v1/submissions/forms/{guid}")
        assert read.json()["results"] == []


def test_a_good_submission_to_the_same_forms_passes(fresh_portal: Portal) -> None:
    """The table's forms do take a valid submission: the failures above are the input's."""
    portal = fresh_portal
    done = portal.client.post(
        secure_path(portal.hub_id, portal.consent_form),
        json={
            "fields": _fields(firstname=None, passport_number=None),
            "legalConsentOptions": {
                "consent": {
                    **CONSENT_TEXT,
                    "communications": [{"value": True, "subscriptionTypeId": 7, "text": "News"}],
                }
            },
            "context": {
                "hutk": "60c2ccdfe4892f0fa0593940b12c11aa",
                "ipAddress": "203.0.113.9",
                "pageUri": "https://site.example/x",
            },
        },
    )
    assert done.status_code == 200, done.text
    company = portal.client.post(
        secure_path(portal.hub_id, portal.form),
        json={
            "fields": [
                *_fields(email="co@example.org"),
                {"objectTypeId": "0-2", "name": "numberofemployees", "value": "12"},
            ]
        },
    )
    assert company.status_code == 200, company.text
    companies = portal.client.get(
        "/crm/v3/objects/companies", params={"properties": "numberofemployees"}
    ).json()["results"]
    assert [c["properties"]["numberofemployees"] for c in companies] == ["12"]
