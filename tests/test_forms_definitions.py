"""Form definitions through the marketing Forms API v3 and the control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import httpx
from hubspot.marketing.forms import ApiException as FormsApiException

from localspot.testing import App, LocalSpotServer
from tests import leakcheck
from tests.conftest import http_client, v3_client
from tests.forms_helpers import PASSPORT, field, form_body
from tests.records_helpers import add_property


def test_create_read_update_replace_and_archive(http: httpx.Client) -> None:
    assert http.post("/crm/v3/properties/contacts", json=PASSPORT).status_code == 201
    made = http.post(
        "/marketing/v3/forms",
        json=form_body(
            field("email", "email", required=True),
            field("passport_number"),
            field("name", objectTypeId="0-2"),
            legalConsentOptions={"type": "implicit_consent_to_process"},
        ),
    )
    assert made.status_code == 201, made.text
    form = made.json()
    assert str(uuid.UUID(form["id"])) == form["id"]
    assert form["formType"] == "hubspot"
    assert form["archived"] is False
    assert form["createdAt"].endswith("Z")
    [email, passport, company] = [g["fields"][0] for g in form["fieldGroups"]]
    assert email == {
        "objectTypeId": "0-1",
        "name": "email",
        "label": "Email",
        "required": True,
        "hidden": False,
        "fieldType": "email",
        "dependentFields": [],
    }
    assert passport["name"] == "passport_number"
    assert company["objectTypeId"] == "0-2"
    assert form["configuration"]["postSubmitAction"] == {
        "type": "thank_you",
        "value": "Thanks for submitting the form.",
    }
    assert form["legalConsentOptions"] == {"type": "implicit_consent_to_process"}
    assert http.get(f"/marketing/v3/forms/{form['id']}").json() == form

    patched = http.patch(
        f"/marketing/v3/forms/{form['id']}",
        json={
            "name": "Renamed",
            "configuration": {
                "postSubmitAction": {"type": "redirect_url", "value": "https://t.example"}
            },
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed"
    assert patched.json()["fieldGroups"] == form["fieldGroups"]
    assert patched.json()["configuration"]["postSubmitAction"]["type"] == "redirect_url"
    assert patched.json()["configuration"]["language"] == "en"

    replaced = http.put(
        f"/marketing/v3/forms/{form['id']}",
        json={**form_body(field("firstname"), name="Replaced"), "id": form["id"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "Replaced"
    assert [g["fields"][0]["name"] for g in replaced.json()["fieldGroups"]] == ["firstname"]
    assert replaced.json()["legalConsentOptions"] == {"type": "none"}
    assert replaced.json()["createdAt"] == form["createdAt"]

    assert http.delete(f"/marketing/v3/forms/{form['id']}").status_code == 204
    assert http.get(f"/marketing/v3/forms/{form['id']}").status_code == 404
    archived = http.get(f"/marketing/v3/forms/{form['id']}", params={"archived": "true"})
    assert archived.json()["archived"] is True
    assert "archivedAt" in archived.json()
    listed = http.get("/marketing/v3/forms", params={"archived": "true"}).json()["results"]
    assert [f["id"] for f in listed] == [form["id"]]
    assert http.get("/marketing/v3/forms").json()["results"] == []


def test_list_pages_through_forms(http: httpx.Client) -> None:
    ids = [
        http.post("/marketing/v3/forms/", json=form_body(field("email"), name=f"F{i}")).json()["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = http.get("/marketing/v3/forms", params=params).json()
        seen += [f["id"] for f in page["results"]]
        if "paging" not in page:
            break
        params = {"limit": 2, "after": page["paging"]["next"]["after"]}
    assert seen == ids
    assert http.get("/marketing/v3/forms", params={"limit": 0}).status_code == 400
    assert http.get("/marketing/v3/forms", params={"after": "x"}).status_code == 400


def test_bad_definitions_are_refused(http: httpx.Client) -> None:
    bad = [
        form_body(field("no_such_property")),
        form_body(field("hs_object_id", "number")),
        form_body(field("email"), field("email")),
        form_body(field("email", "hologram")),
        form_body(field("email", objectTypeId="0-3")),
        {**form_body(field("email")), "formType": "captured"},
        {"formType": "hubspot", "fieldGroups": []},
        {**form_body(field("email")), "legalConsentOptions": {"type": "maybe"}},
        form_body(field("lifecyclestage", "radio", options=[{"label": "X", "value": "x"}])),
    ]
    for body in bad:
        refused = http.post("/marketing/v3/forms", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["category"] == "VALIDATION_ERROR"
    assert http.get("/marketing/v3/forms").json()["results"] == []


def test_forms_scope_and_accounts(
    server: LocalSpotServer, full_app: App, http: httpx.Client, make_app: Callable[..., App]
) -> None:
    form = http.post("/marketing/v3/forms", json=form_body(field("email"))).json()
    crm = make_app(["crm.objects.contacts.write"], hub_id=full_app.hub_id)
    with http_client(server, crm) as client:
        refused = client.get("/marketing/v3/forms")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["context"]["requiredGranularScopes"] == ["forms"]

    other = make_app(["forms"])
    with http_client(server, other) as client:
        assert client.get(f"/marketing/v3/forms/{form['id']}").status_code == 404
        assert client.get("/marketing/v3/forms").json()["results"] == []
    assert http.get(f"/marketing/v3/forms/{uuid.uuid4()}").json()["category"] == "OBJECT_NOT_FOUND"


def test_control_plane_and_cli_manage_forms(server: LocalSpotServer, full_app: App) -> None:
    hub = full_app.hub_id
    made = server.control("POST", f"/accounts/{hub}/forms", json=form_body(field("email")))
    listed = server.control("GET", f"/accounts/{hub}/forms")["results"]
    assert [f["id"] for f in listed] == [made["id"]]
    patched = server.control("PATCH", f"/accounts/{hub}/forms/{made['id']}", json={"name": "C"})
    assert patched["name"] == "C"
    assert server.control("GET", f"/accounts/{hub}/forms/{made['id']}/submissions") == {
        "results": []
    }

    env = {**os.environ, "LOCALSPOT_DATABASE_URL": server.database_url}
    cli = [sys.executable, "-m", "localspot", "forms"]
    where = ["--data-dir", str(server.data_dir)]
    listed_cli = subprocess.run(
        [*cli, "list", str(hub), *where], env=env, capture_output=True, text=True, check=True
    )
    assert [f["id"] for f in json.loads(listed_cli.stdout)] == [made["id"]]
    shown = subprocess.run(
        [*cli, "show", str(hub), made["id"], *where],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(shown.stdout)["name"] == "C"
    assert server.control("DELETE", f"/accounts/{hub}/forms/{made['id']}") is None
    assert server.control("GET", f"/accounts/{hub}/forms")["results"] == []


def _refused_without_value(
    response: httpx.Response, secret: str, where: str, name: str = "ssn"
) -> None:
    assert response.status_code == 400, (where, response.text)
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR", where
    assert f"0-1/{name} " in body["message"], where
    assert secret not in response.text, where


def test_sensitive_fields_carry_no_value_in_the_definition(
    server: LocalSpotServer, full_app: App, make_app: Callable[..., App]
) -> None:
    # A definition is readable with `forms` alone and stored as plain JSON, so a default or
    # hidden value of a sensitive property there would reach callers without sensitive scopes.
    # Before the fix a forms-only token created, read back and replaced such a form.
    hub = full_app.hub_id
    with http_client(server, full_app) as owner:
        add_property(
            owner, "contacts", "contactinformation", name="ssn", sensitivity="highly_sensitive"
        )
        add_property(owner, "contacts", "contactinformation", name="passport_number")
    forms_only = make_app(["forms"], hub_id=hub)
    secret = leakcheck.canary("FORMDEF")
    hidden_ssn = field("ssn", hidden=True, defaultValue=secret)
    valued = [
        hidden_ssn,
        field("passport_number", defaultValue=secret),
        field("ssn", "multiple_checkboxes", defaultValues=[secret]),
        field("ssn", value=secret),  # a value-like key HubSpot's model does not have
        field(
            "email",
            "email",
            dependentFields=[
                {"dependentCondition": {"operator": "set_any"}, "dependentField": hidden_ssn}
            ],
        ),
        field(
            "ssn",
            dependentFields=[
                {
                    "dependentCondition": {"operator": "eq", "value": secret},
                    "dependentField": field("firstname"),
                }
            ],
        ),
    ]
    with http_client(server, forms_only) as http:
        for f in valued:
            name = "ssn" if f["name"] == "email" else f["name"]  # the dependent field's own
            made = http.post("/marketing/v3/forms", json=form_body(f))
            _refused_without_value(made, secret, f"create {f}", name)
        # Empty defaults, as HubSpot's own definitions carry them, are no value.
        plain = form_body(field("email", "email"), field("ssn", defaultValue="", defaultValues=[]))
        made = http.post("/marketing/v3/forms", json=plain)
        assert made.status_code == 201, made.text
        form_id = made.json()["id"]
        for f in valued[:2]:
            patched = http.patch(f"/marketing/v3/forms/{form_id}", json=form_body(f))
            _refused_without_value(patched, secret, "patch", f["name"])
            replaced = http.put(f"/marketing/v3/forms/{form_id}", json=form_body(f))
            _refused_without_value(replaced, secret, "put", f["name"])
        assert (
            http.get(f"/marketing/v3/forms/{form_id}").json()["fieldGroups"]
            == (made.json()["fieldGroups"])
        )
        # A non-sensitive field keeps its default.
        ok = http.post("/marketing/v3/forms", json=form_body(field("firstname", defaultValue="A")))
        assert ok.status_code == 201, ok.text
        assert ok.json()["fieldGroups"][0]["fields"][0]["defaultValue"] == "A"

    # HubSpot's v3 client sends the same body and gets the same refusal.
    client = v3_client(server, forms_only)
    try:
        client.marketing.forms.forms_api.create(form_body(hidden_ssn))
        raise AssertionError("the SDK create succeeded")
    except FormsApiException as exc:
        assert exc.status == 400
        assert secret not in str(exc.body)

    # The control plane and the CLI create forms through the same domain check.
    refused = server.admin.post(f"/localspot/v1/accounts/{hub}/forms", json=form_body(hidden_ssn))
    _refused_without_value(refused, secret, "control plane")
    patched = server.admin.patch(
        f"/localspot/v1/accounts/{hub}/forms/{form_id}", json=form_body(hidden_ssn)
    )
    _refused_without_value(patched, secret, "control plane patch")
    definition = server.data_dir / "ssn-form.json"
    definition.write_text(json.dumps(form_body(hidden_ssn)))
    cli = subprocess.run(
        [sys.executable, "-m", "localspot", "forms", "create", str(hub), str(definition)]
        + ["--data-dir", str(server.data_dir)],
        env={**os.environ, "LOCALSPOT_DATABASE_URL": server.database_url},
        capture_output=True,
        text=True,
    )
    definition.unlink()
    assert cli.returncode == 1, cli.stdout
    assert "ssn" in cli.stderr and secret not in cli.stderr + cli.stdout

    time.sleep(0.3)  # the server's last log lines
    assert leakcheck.scan_everywhere(server, [secret]) == []
