"""Form definitions through the marketing Forms API v3 and the control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import httpx

from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client
from tests.forms_helpers import PASSPORT, field, form_body


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
