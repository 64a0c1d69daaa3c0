"""The guide's forms scenarios: secure submission of sensitive data, the open endpoint's 403,
and reading submissions with the sensitive entries removed (SPEC §6, Part B8)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer
from tests import leakcheck
from tests.conftest import http_client
from tests.forms_helpers import fields, open_path, passport_form, secure_path

PASSPORT_VALUE = "X9K2-PASS-77341"
CONTACT = "/crm/v3/objects/contacts/{}?idProperty=email&properties=passport_number,firstname"


def _contact(http: httpx.Client, email: str) -> httpx.Response:
    return http.get(CONTACT.format(email))


def test_secure_submit_puts_the_sensitive_value_on_the_contact(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    form = passport_form(http)
    body = {
        "submittedAt": "1761000000000",
        "fields": fields(email="ana@example.org", firstname="Ana", passport_number=PASSPORT_VALUE),
        "context": {"pageUri": "https://site.example/contact", "pageName": "Contact"},
    }
    done = http.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert done.status_code == 200, done.text
    assert done.json() == {"inlineMessage": "Thanks for submitting the form."}

    contact = _contact(http, "ana@example.org")
    assert contact.status_code == 200, contact.text
    assert contact.json()["properties"]["passport_number"] == PASSPORT_VALUE
    assert contact.json()["properties"]["firstname"] == "Ana"

    history = http.get(
        f"/crm/v3/objects/contacts/{contact.json()['id']}",
        params={"propertiesWithHistory": "passport_number,firstname"},
    ).json()["propertiesWithHistory"]
    for name in ("passport_number", "firstname"):
        assert history[name][0]["sourceType"] == "FORM"
        assert history[name][0]["sourceId"] == form["id"]

    read = http.get(f"/form-integrations/v1/submissions/forms/{form['id']}")
    assert read.status_code == 200, read.text
    assert PASSPORT_VALUE not in read.text
    [result] = read.json()["results"]
    assert result["values"] == [
        {"name": "email", "value": "ana@example.org"},
        {"name": "firstname", "value": "Ana"},
    ]
    assert result["submittedAt"] == 1761000000000
    assert result["pageUrl"] == "https://site.example/contact"
    assert len(result["conversionId"]) == 36
    assert PASSPORT_VALUE not in server.log_text()


def test_a_second_submission_updates_the_same_contact(full_app: App, http: httpx.Client) -> None:
    form = passport_form(http)
    path = secure_path(full_app.hub_id, form["id"])
    first = http.post(path, json={"fields": fields(email="bo@example.org", firstname="Bo")})
    assert first.status_code == 200, first.text
    again = http.post(path, json={"fields": fields(email="BO@example.org", firstname="Bob")})
    assert again.status_code == 200, again.text

    contact = _contact(http, "bo@example.org").json()
    assert contact["properties"]["firstname"] == "Bob"
    listed = http.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]
    assert [c["id"] for c in listed] == [contact["id"]]


def test_open_endpoint_refuses_sensitive_fields_and_changes_nothing(
    full_app: App, http: httpx.Client, server: LocalSpotServer
) -> None:
    form = passport_form(http)
    body = {
        "fields": fields(email="cy@example.org", firstname="Cy", passport_number=PASSPORT_VALUE)
    }
    with httpx.Client(base_url=server.url) as anonymous:
        refused = anonymous.post(open_path(full_app.hub_id, form["id"]), json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["category"] == "FORBIDDEN"
    assert "passport_number" in refused.json()["message"]
    assert PASSPORT_VALUE not in refused.text
    assert _contact(http, "cy@example.org").status_code == 404

    # An existing contact is left as it was, too.
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "cy@example.org", "firstname": "C"}},
    )
    assert made.status_code == 201, made.text
    with httpx.Client(base_url=server.url) as anonymous:
        again = anonymous.post(open_path(full_app.hub_id, form["id"]), json=body)
    assert again.status_code == 403
    props = _contact(http, "cy@example.org").json()["properties"]
    assert props["firstname"] == "C"
    assert props["passport_number"] is None
    assert http.get(f"/form-integrations/v1/submissions/forms/{form['id']}").json() == {
        "results": []
    }


def test_open_endpoint_takes_non_sensitive_fields(
    full_app: App, http: httpx.Client, server: LocalSpotServer
) -> None:
    form = passport_form(http)
    with httpx.Client(base_url=server.url) as anonymous:
        done = anonymous.post(
            open_path(full_app.hub_id, form["id"]),
            json={"fields": fields(email="di@example.org", firstname="Di")},
        )
        preflight = anonymous.options(open_path(full_app.hub_id, form["id"]))
    assert done.status_code == 200, done.text
    assert done.headers["access-control-allow-origin"] == "*"
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert _contact(http, "di@example.org").json()["properties"]["firstname"] == "Di"


def test_secure_endpoint_without_the_sensitive_write_scope_changes_nothing(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    form = passport_form(http)
    narrow = make_app(["forms", "crm.objects.contacts.write"], hub_id=full_app.hub_id)
    body = {
        "fields": fields(email="ed@example.org", firstname="Ed", passport_number=PASSPORT_VALUE)
    }
    with http_client(server, narrow) as client:
        refused = client.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["category"] == "MISSING_SCOPES"
    required = refused.json()["errors"][0]["context"]["requiredGranularScopes"]
    assert required == ["crm.objects.contacts.sensitive.write.v2"]
    assert PASSPORT_VALUE not in refused.text
    assert _contact(http, "ed@example.org").status_code == 404
    assert http.get(f"/form-integrations/v1/submissions/forms/{form['id']}").json()["results"] == []

    # An existing contact is left as it was, its stored passport number included.
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "ed@example.org", "firstname": "E", "passport_number": "P0"}},
    )
    assert made.status_code == 201, made.text
    with http_client(server, narrow) as client:
        again = client.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert again.status_code == 403, again.text
    props = _contact(http, "ed@example.org").json()["properties"]
    assert (props["firstname"], props["passport_number"]) == ("E", "P0")
    assert http.get(f"/form-integrations/v1/submissions/forms/{form['id']}").json()["results"] == []


def test_secure_endpoint_needs_the_forms_scope_and_the_token_s_portal(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    form = passport_form(http)
    body = {"fields": fields(email="fi@example.org")}
    crm_only = make_app(["crm.objects.contacts.write"], hub_id=full_app.hub_id)
    with http_client(server, crm_only) as client:
        refused = client.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["context"]["requiredGranularScopes"] == ["forms"]

    elsewhere = make_app(all_scopes())
    with http_client(server, elsewhere) as client:
        other = client.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert other.status_code == 403
    with httpx.Client(base_url=server.url) as anonymous:
        unauthenticated = anonymous.post(secure_path(full_app.hub_id, form["id"]), json=body)
    assert unauthenticated.status_code == 401
    assert _contact(http, "fi@example.org").status_code == 404


def test_submissions_newest_first_with_paging_and_redirect(
    full_app: App, http: httpx.Client
) -> None:
    form = passport_form(
        http,
        configuration={
            "postSubmitAction": {"type": "redirect_url", "value": "https://x.example/t"}
        },
    )
    path = secure_path(full_app.hub_id, form["id"])
    for i in range(3):
        done = http.post(path, json={"fields": fields(email=f"p{i}@example.org")})
        assert done.json() == {"redirectUri": "https://x.example/t"}
    url = f"/form-integrations/v1/submissions/forms/{form['id']}"
    first = http.get(url, params={"limit": 2}).json()
    assert [r["values"][0]["value"] for r in first["results"]] == [
        "p2@example.org",
        "p1@example.org",
    ]
    after = first["paging"]["next"]["after"]
    assert "limit=2" in first["paging"]["next"]["link"]
    second = http.get(url, params={"limit": 2, "after": after}).json()
    assert [r["values"][0]["value"] for r in second["results"]] == ["p0@example.org"]
    assert "paging" not in second
    for limit in (0, 51):
        assert http.get(url, params={"limit": limit}).status_code == 400
    assert http.get("/form-integrations/v1/submissions/forms/nope").status_code == 404


def test_reading_submissions_needs_a_forms_scope(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    form = passport_form(http)
    url = f"/form-integrations/v1/submissions/forms/{form['id']}"
    uploads = make_app(["forms-uploaded-files"], hub_id=full_app.hub_id)
    with http_client(server, uploads) as client:
        assert client.get(url).status_code == 200
    crm = make_app(["crm.objects.contacts.read"], hub_id=full_app.hub_id)
    with http_client(server, crm) as client:
        refused = client.get(url)
    assert refused.status_code == 403
    assert refused.json()["category"] == "MISSING_SCOPES"


def test_concurrent_first_submissions_make_one_contact(full_app: App, http: httpx.Client) -> None:
    form = passport_form(http)
    path = secure_path(full_app.hub_id, form["id"])
    body = {"fields": fields(email="race@example.org", firstname="R")}

    def one(_: int) -> int:
        return http.post(path, json=body).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(one, range(6)))
    assert statuses == [200] * 6
    listed = http.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]
    assert len(listed) == 1
    read = http.get(f"/form-integrations/v1/submissions/forms/{form['id']}", params={"limit": 50})
    assert len(read.json()["results"]) == 6


def test_no_plaintext_sensitive_value_at_rest(
    server: LocalSpotServer, full_app: App, http: httpx.Client
) -> None:
    """The submission keeps no sensitive value; the contact keeps it sealed, on either store."""
    secret = "AT-REST-PASSPORT-5519"
    form = passport_form(http)
    done = http.post(
        secure_path(full_app.hub_id, form["id"]),
        json={"fields": fields(email="rest@example.org", passport_number=secret)},
    )
    assert done.status_code == 200, done.text
    assert _contact(http, "rest@example.org").json()["properties"]["passport_number"] == secret
    assert leakcheck.scan_store(server, ["rest@example.org"])  # the scan sees stored values
    assert leakcheck.scan_store(server, [secret]) == []


def test_company_fields_update_the_company_by_domain_and_link_it(
    full_app: App, http: httpx.Client
) -> None:
    from tests.forms_helpers import field, form_body

    form = http.post(
        "/marketing/v3/forms",
        json=form_body(
            field("email", "email", required=True),
            field("domain", objectTypeId="0-2"),
            field("name", objectTypeId="0-2"),
        ),
    ).json()
    existing = http.post(
        "/crm/v3/objects/companies", json={"properties": {"domain": "acme.example", "name": "Old"}}
    ).json()
    for email in ("c1@acme.example", "c2@acme.example"):
        body = {
            "fields": [
                {"objectTypeId": "0-1", "name": "email", "value": email},
                {"objectTypeId": "0-2", "name": "domain", "value": "ACME.example"},
                {"objectTypeId": "0-2", "name": "name", "value": "Acme"},
            ]
        }
        assert http.post(secure_path(full_app.hub_id, form["id"]), json=body).status_code == 200
    company = http.get(f"/crm/v3/objects/companies/{existing['id']}").json()
    assert company["properties"]["name"] == "Acme"
    linked = http.get(f"/crm/v4/objects/companies/{existing['id']}/associations/contacts")
    assert len(linked.json()["results"]) == 2
