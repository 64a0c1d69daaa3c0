"""Contacts API v1 over the records v3 writes: sensitive values hidden on read, dropped on write."""

from __future__ import annotations

import httpx
import pytest

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.legacy_support import (
    CANARY,
    HIGH_CANARY,
    assert_clean,
    define,
    define_sensitive,
    scopes_without_sensitive,
    v3_create,
    v3_history,
    v3_values,
)

SENSITIVE = {"passport_number": CANARY, "diagnosis": HIGH_CANARY}


@pytest.fixture
def contact(http: httpx.Client) -> str:
    """A contact whose sensitive properties hold the canaries."""
    define_sensitive(http, "contacts")
    return v3_create(
        http,
        "contacts",
        {"email": "ana@example.com", "firstname": "Ana", "lastname": "Lima", **SENSITIVE},
    )


def _props(items: dict[str, object]) -> dict[str, object]:
    return {"properties": [{"property": k, "value": v} for k, v in items.items()]}


def _unchanged(http: httpx.Client, vid: object) -> None:
    values = v3_values(http, "contacts", vid, "passport_number", "diagnosis")
    assert values["passport_number"] == CANARY
    assert values["diagnosis"] == HIGH_CANARY


def test_profile_by_vid_shows_plain_values_and_omits_sensitive_keys(
    http: httpx.Client, contact: str
) -> None:
    response = http.get(f"/contacts/v1/contact/vid/{contact}/profile")
    assert response.status_code == 200, response.text
    assert_clean(response)
    body = response.json()
    assert body["vid"] == int(contact)
    assert body["canonical-vid"] == int(contact)
    assert body["merged-vids"] == []
    assert body["is-contact"] is True
    assert isinstance(body["portal-id"], int)
    first = body["properties"]["firstname"]
    assert first["value"] == "Ana"
    assert first["versions"][0]["value"] == "Ana"
    assert first["versions"][0]["source-type"] == "API"
    assert isinstance(first["versions"][0]["timestamp"], int)
    assert body["properties"]["createdate"]["value"].isdigit()
    [identity] = body["identity-profiles"]
    assert identity["identities"][0] == {
        "type": "EMAIL",
        "value": "ana@example.com",
        "timestamp": identity["identities"][0]["timestamp"],
        "is-primary": True,
    }


def test_profile_by_email_and_asking_for_a_sensitive_property_by_name(
    http: httpx.Client, contact: str
) -> None:
    response = http.get(
        "/contacts/v1/contact/email/ana@example.com/profile",
        params=[("property", "passport_number"), ("property", "firstname")],
    )
    assert response.status_code == 200, response.text
    assert_clean(response)
    assert set(response.json()["properties"]) == {"firstname", "lastmodifieddate"}

    value_only = http.get(
        f"/contacts/v1/contact/vid/{contact}/profile", params={"propertyMode": "value_only"}
    )
    assert "versions" not in value_only.json()["properties"]["firstname"]

    missing = http.get("/contacts/v1/contact/email/nobody@example.com/profile")
    assert missing.status_code == 404
    assert missing.json()["message"] == "contact does not exist"
    assert http.get("/contacts/v1/contact/vid/999999999/profile").status_code == 404


def test_batches_by_vid_and_email_skip_unknown_keys(http: httpx.Client, contact: str) -> None:
    other = v3_create(http, "contacts", {"email": "bo@example.com", "passport_number": CANARY})
    by_vid = http.get(
        "/contacts/v1/contact/vids/batch/",
        params=[("vid", contact), ("vid", other), ("vid", "424242424")],
    )
    assert by_vid.status_code == 200, by_vid.text
    assert_clean(by_vid)
    assert set(by_vid.json()) == {contact, other}
    assert by_vid.json()[contact]["properties"]["firstname"] == {"value": "Ana"}

    by_email = http.get(
        "/contacts/v1/contact/emails/batch/",
        params=[("email", "bo@example.com"), ("email", "ghost@example.com")],
    )
    assert by_email.status_code == 200, by_email.text
    assert_clean(by_email)
    assert list(by_email.json()) == [other]


def test_create_drops_sensitive_values_and_records_api_history(http: httpx.Client) -> None:
    define_sensitive(http, "contacts")
    response = http.post(
        "/contacts/v1/contact",
        json=_props({"email": "new@example.com", "firstname": "Nova", **SENSITIVE}),
    )
    assert response.status_code == 200, response.text
    assert_clean(response)
    vid = response.json()["vid"]
    assert response.json()["properties"]["firstname"]["value"] == "Nova"

    values = v3_values(http, "contacts", vid, "firstname", "passport_number", "diagnosis")
    assert values["firstname"] == "Nova"
    assert values["passport_number"] is None
    assert values["diagnosis"] is None
    [entry] = v3_history(http, "contacts", vid, "firstname")
    assert entry["value"] == "Nova"
    assert entry["sourceType"] == "API"
    assert v3_history(http, "contacts", vid, "passport_number") == []


def test_create_with_a_taken_email_is_a_legacy_conflict(http: httpx.Client, contact: str) -> None:
    response = http.post("/contacts/v1/contact", json=_props({"email": "ana@example.com"}))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "CONTACT_EXISTS"
    assert body["identityProfile"]["vid"] == int(contact)


def test_updates_by_vid_and_email_change_plain_values_only(
    http: httpx.Client, contact: str
) -> None:
    by_vid = http.post(
        f"/contacts/v1/contact/vid/{contact}/profile",
        json=_props({"firstname": "Ana Maria", "passport_number": "X1", "diagnosis": "X2"}),
    )
    assert by_vid.status_code == 204, by_vid.text
    assert v3_values(http, "contacts", contact, "firstname")["firstname"] == "Ana Maria"
    _unchanged(http, contact)
    history = v3_history(http, "contacts", contact, "firstname")
    assert [h["value"] for h in history] == ["Ana Maria", "Ana"]
    assert history[0]["sourceType"] == "API"

    only_sensitive = http.post(
        "/contacts/v1/contact/email/ana@example.com/profile",
        json=_props({"passport_number": ""}),
    )
    assert only_sensitive.status_code == 204
    by_email = http.post(
        "/contacts/v1/contact/email/ana@example.com/profile",
        json=_props({"lastname": "Souza", "passport_number": ""}),
    )
    assert by_email.status_code == 204, by_email.text
    assert v3_values(http, "contacts", contact, "lastname")["lastname"] == "Souza"
    _unchanged(http, contact)
    assert v3_history(http, "contacts", contact, "passport_number")[0]["value"] == CANARY

    missing = http.post("/contacts/v1/contact/vid/999999999/profile", json=_props({}))
    assert missing.status_code == 404


def test_create_or_update_by_email(http: httpx.Client, contact: str) -> None:
    existing = http.post(
        "/contacts/v1/contact/createOrUpdate/email/ana@example.com",
        json=_props({"firstname": "Anita", "passport_number": "CHANGED"}),
    )
    assert existing.status_code == 200, existing.text
    assert existing.json() == {"vid": int(contact), "isNew": False}
    assert v3_values(http, "contacts", contact, "firstname")["firstname"] == "Anita"
    _unchanged(http, contact)

    made = http.post(
        "/contacts/v1/contact/createOrUpdate/email/cy@example.com",
        json=_props({"firstname": "Cy", "passport_number": CANARY}),
    )
    assert made.status_code == 200, made.text
    assert made.json()["isNew"] is True
    values = v3_values(http, "contacts", made.json()["vid"], "email", "passport_number")
    assert values == {**values, "email": "cy@example.com", "passport_number": None}


def test_delete_archives_the_contact(http: httpx.Client, contact: str) -> None:
    response = http.delete(f"/contacts/v1/contact/vid/{contact}")
    assert response.status_code == 200, response.text
    assert response.json() == {"vid": int(contact), "deleted": True, "reason": "OK"}
    assert http.get(f"/crm/v3/objects/contacts/{contact}").status_code == 404
    assert http.get(f"/contacts/v1/contact/vid/{contact}/profile").status_code == 404
    assert http.delete(f"/contacts/v1/contact/vid/{contact}").status_code == 404


def test_all_and_recent_listings_page_without_sensitive_values(
    http: httpx.Client, contact: str
) -> None:
    second = v3_create(http, "contacts", {"email": "b@example.com", **SENSITIVE})
    third = v3_create(http, "contacts", {"email": "c@example.com", **SENSITIVE})

    first_page = http.get("/contacts/v1/lists/all/contacts/all", params={"count": 2})
    assert first_page.status_code == 200, first_page.text
    assert_clean(first_page)
    body = first_page.json()
    assert [c["vid"] for c in body["contacts"]] == [int(contact), int(second)]
    assert body["has-more"] is True
    rest = http.get(
        "/contacts/v1/lists/all/contacts/all",
        params={"count": 2, "vidOffset": body["vid-offset"]},
    ).json()
    assert [c["vid"] for c in rest["contacts"]] == [int(third)]
    assert rest["has-more"] is False

    http.patch(f"/crm/v3/objects/contacts/{contact}", json={"properties": {"lastname": "Z"}})
    recent = http.get("/contacts/v1/lists/recently_updated/contacts/recent", params={"count": 1})
    assert recent.status_code == 200, recent.text
    assert_clean(recent)
    page = recent.json()
    assert page["contacts"][0]["vid"] == int(contact)
    assert page["has-more"] is True
    following = http.get(
        "/contacts/v1/lists/recently_updated/contacts/recent",
        params={"count": 5, "timeOffset": page["time-offset"], "vidOffset": page["vid-offset"]},
    ).json()
    assert {c["vid"] for c in following["contacts"]} == {int(second), int(third)}
    assert http.get("/contacts/v1/lists/all/contacts/all", params={"count": 500}).status_code == 400


@pytest.mark.parametrize("asked", [{}, {"property": "firstname"}])
def test_listed_contacts_carry_their_email_identity(
    http: httpx.Client, contact: str, asked: dict[str, str]
) -> None:
    """As a profile does, whichever properties the listing was asked to show."""
    listed = http.get("/contacts/v1/lists/all/contacts/all", params={"count": 1, **asked})
    assert listed.status_code == 200, listed.text
    [profile] = listed.json()["contacts"]
    [identity] = profile["identity-profiles"]
    assert [(i["type"], i["value"]) for i in identity["identities"]] == [
        ("EMAIL", "ana@example.com")
    ]
    if asked:
        assert set(profile["properties"]) == {"firstname"}
    assert_clean(listed)


def test_invalid_values_use_the_legacy_validation_results_body(
    http: httpx.Client, contact: str
) -> None:
    define(http, "contacts", "shoe_size", "non_sensitive", type="number", fieldType="number")
    response = http.post(
        f"/contacts/v1/contact/vid/{contact}/profile",
        json=_props({"shoe_size": "huge", "nonexistent_prop": "x", "firstname": "Never"}),
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["message"] == "Property values were not valid"
    assert body["correlationId"]
    results = {r["name"]: r for r in body["validationResults"]}
    assert results["shoe_size"]["isValid"] is False
    assert results["shoe_size"]["error"] == "INVALID_INTEGER"
    assert results["nonexistent_prop"]["error"] == "PROPERTY_DOESNT_EXIST"
    assert v3_values(http, "contacts", contact, "firstname")["firstname"] == "Ana"


@pytest.mark.parametrize(
    "path", ["/contacts/v1/contact", "/contacts/v1/contact/createOrUpdate/email/{email}"]
)
def test_create_and_create_or_update_refuse_invalid_values_with_validation_results(
    http: httpx.Client, path: str
) -> None:
    define(http, "contacts", "shoe_count", "non_sensitive", type="number", fieldType="number")
    email = f"bad-{path.count('/')}@example.org"
    response = http.post(
        path.format(email=email),
        json=_props({"email": email, "shoe_count": "many", "firstname": "Never"}),
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["status"], body["message"]) == ("error", "Property values were not valid")
    assert body["correlationId"] and body["requestId"]
    [result] = [r for r in body["validationResults"] if r["name"] == "shoe_count"]
    assert (result["isValid"], result["error"]) == (False, "INVALID_INTEGER")
    assert "many" in result["message"]
    found = http.get(f"/crm/v3/objects/contacts/{email}", params={"idProperty": "email"})
    assert found.status_code == 404


def test_a_token_without_sensitive_scopes_writes_through_legacy_without_403(
    server: LocalSpotServer, full_app: App, http: httpx.Client, contact: str
) -> None:
    plain = server.new_app(scopes_without_sensitive(), hub_id=full_app.hub_id)
    with http_client(server, plain) as client:
        response = client.post(
            f"/contacts/v1/contact/vid/{contact}/profile",
            json=_props({"firstname": "Plain", "passport_number": "NOPE"}),
        )
        assert response.status_code == 204, response.text
        read = client.get(f"/contacts/v1/contact/vid/{contact}/profile")
        assert read.status_code == 200
        assert_clean(read)
    assert v3_values(http, "contacts", contact, "firstname")["firstname"] == "Plain"
    _unchanged(http, contact)


def test_the_server_log_never_holds_a_sensitive_value(
    server: LocalSpotServer, http: httpx.Client, contact: str
) -> None:
    http.post(
        f"/contacts/v1/contact/vid/{contact}/profile",
        json=_props({"passport_number": CANARY, "shoe_size_unknown": CANARY}),
    )
    http.get(f"/contacts/v1/contact/vid/{contact}/profile")
    log = server.log_text()
    assert CANARY not in log
    assert HIGH_CANARY not in log
