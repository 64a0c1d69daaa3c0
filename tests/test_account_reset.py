"""Resetting an account (SPEC Part C): its CRM data goes, its apps, tokens and settings stay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Connection, func, select

from localspot.scopes import all_scopes
from localspot.store.schema import (
    association_definitions,
    audit_log,
    object_schemas,
    property_definitions,
    property_groups,
    query_prefix_counts,
    query_terms,
    record_history,
    record_values,
    records,
    unique_values,
    webhook_events,
)
from localspot.testing import App, LocalSpotServer
from tests.conftest import clean_env, http_client
from tests.forms_helpers import field, fields, form_body, open_path
from tests.protection_support import engine_of
from tests.records_helpers import add_custom_object, add_property, all_ids

EMAIL = "ana@example.org"
PASSPORT = "X1234567"


def _reset(server: LocalSpotServer, hub_id: int | str) -> httpx.Response:
    return server.admin.post(f"/localspot/v1/accounts/{hub_id}/reset")


def _contact(http: httpx.Client, **extra: str) -> str:
    props = {"email": EMAIL, "firstname": "Ana", **extra}
    made = http.post("/crm/v3/objects/contacts", json={"properties": props})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _crm_rows(conn: Connection, hub_id: int) -> dict[str, int]:
    """What the store holds of an account's CRM data, table by table."""
    of_hub = select(records.c.id).where(records.c.hub_id == hub_id)
    custom = (property_definitions.c.hub_id == hub_id) & property_definitions.c.hubspot_defined.is_(
        False
    )
    return {
        "records": _count(conn, records, records.c.hub_id == hub_id),
        "values": _count(conn, record_values, record_values.c.record_id.in_(of_hub)),
        "sealed": _count(
            conn,
            record_values,
            record_values.c.record_id.in_(of_hub),
            record_values.c.value_ct.is_not(None),
        ),
        "history": _count(conn, record_history, record_history.c.record_id.in_(of_hub)),
        "unique claims": _count(conn, unique_values, unique_values.c.record_id.in_(of_hub)),
        "query terms": _count(conn, query_terms, query_terms.c.hub_id == hub_id),
        "prefix counts": _count(
            conn,
            query_prefix_counts,
            query_prefix_counts.c.hub_id == hub_id,
            query_prefix_counts.c.records > 0,
        ),
        "custom properties": _count(conn, property_definitions, custom),
        "custom groups": _count(
            conn,
            property_groups,
            property_groups.c.hub_id == hub_id,
            property_groups.c.hubspot_defined.is_(False),
        ),
        "schemas": _count(conn, object_schemas, object_schemas.c.hub_id == hub_id),
        "association types": _count(
            conn, association_definitions, association_definitions.c.hub_id == hub_id
        ),
        "pending events": _count(
            conn,
            webhook_events,
            webhook_events.c.hub_id == hub_id,
            webhook_events.c.status == "pending",
        ),
    }


def _fill(http: httpx.Client, app: App) -> dict[str, str]:
    """An account with one of each kind of thing a reset removes, and a webhook subscription."""
    hooks = f"/webhooks/v3/{app.app_id}"
    # Nothing listens there: events wait for a retry, pending, until the reset.
    settings = {"targetUrl": "http://127.0.0.1:9/", "throttling": {"maxConcurrentRequests": 10}}
    assert http.put(f"{hooks}/settings", json=settings).status_code == 200
    subscribed = http.post(
        f"{hooks}/subscriptions", json={"eventType": "contact.creation", "active": True}
    )
    assert subscribed.status_code == 201, subscribed.text

    add_property(http, "contacts", "contactinformation")
    group = http.post(
        "/crm/v3/properties/contacts/groups", json={"name": "reset_group", "label": "Reset group"}
    )
    assert group.status_code == 201, group.text
    add_property(http, "contacts", "reset_group", "favorite_color", "non_sensitive")
    cars = add_custom_object(http)
    car = http.post(
        f"/crm/v3/objects/{cars}",
        json={"properties": {"model": "Roadster", "passport_number": PASSPORT}},
    )
    assert car.status_code == 201, car.text

    contact = _contact(http, passport_number=PASSPORT, favorite_color="teal")
    other = http.post(
        "/crm/v3/objects/contacts", json={"properties": {"email": "bo@example.org"}}
    ).json()["id"]
    merged = http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": contact, "objectIdToMerge": other},
    )
    assert merged.status_code == 200, merged.text
    assert http.patch(
        f"/crm/v3/objects/contacts/{contact}", json={"properties": {"firstname": "Anna"}}
    ).is_success
    company = http.post("/crm/v3/objects/companies", json={"properties": {"name": "Acme"}})
    company_id = company.json()["id"]
    linked = http.put(
        f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company_id}"
    )
    assert linked.is_success, linked.text
    label = http.post(
        "/crm/v4/associations/contacts/companies/labels",
        json={"label": "Manager", "name": "manager"},
    )
    assert label.status_code == 200, label.text
    return {"cars": cars, "contact": contact, "subscription": str(subscribed.json()["id"])}


def test_a_reset_removes_the_accounts_crm_data_and_keeps_its_apps(
    server: LocalSpotServer,
    http: httpx.Client,
    full_app: App,
    make_app: Callable[..., App],
) -> None:
    made = _fill(http, full_app)
    neighbour = make_app(all_scopes())
    with http_client(server, neighbour) as theirs:
        add_property(theirs, "contacts", "contactinformation")
        kept = _contact(theirs, passport_number=PASSPORT)
    engine = engine_of(server)
    with engine.connect() as conn:
        before = _crm_rows(conn, full_app.hub_id)
        neighbour_before = _crm_rows(conn, neighbour.hub_id)
    assert all(before.values()), before

    done = _reset(server, full_app.hub_id)
    assert done.status_code == 204, done.text

    with engine.connect() as conn:
        assert set(_crm_rows(conn, full_app.hub_id).values()) == {0}
        assert _crm_rows(conn, neighbour.hub_id) == neighbour_before
        # The trail is append-only: the reset adds its own rows for the sensitive definitions
        # it deleted, and earlier rows stay.
        reset_rows = conn.execute(
            select(audit_log.c.property_names, audit_log.c.object_type_id).where(
                audit_log.c.hub_id == full_app.hub_id,
                audit_log.c.action == "definition_change",
                audit_log.c.detail.like('%"reset_account"%'),
            )
        ).all()
        assert {(json.loads(n)[0], t) for n, t in reset_rows} == {
            ("passport_number", "0-1"),
            ("passport_number", made["cars"]),
        }
    verified = server.control("GET", "/audit/verify")
    assert verified["ok"] is True, verified

    # The same token reads an empty account.
    for object_type in ("contacts", "companies"):
        assert all_ids(http, object_type) == set()
    found = http.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": EMAIL}]}
            ]
        },
    )
    assert found.status_code == 200 and found.json()["total"] == 0
    assert http.post("/crm/v3/objects/contacts/search", json={"query": "ana"}).json()["total"] == 0
    assert http.get(f"/crm/v3/objects/contacts/{made['contact']}").status_code == 404

    # Definitions: the account's own are gone, HubSpot's stay.
    for name in ("passport_number", "favorite_color"):
        assert http.get(f"/crm/v3/properties/contacts/{name}").status_code == 404
    assert http.get("/crm/v3/properties/contacts/email").status_code == 200
    assert http.get("/crm/v3/properties/contacts/groups/reset_group").status_code == 404
    assert http.get("/crm/v3/properties/contacts/groups/contactinformation").status_code == 200
    assert http.get("/crm/v3/schemas").json()["results"] == []
    assert http.get(f"/crm/v3/schemas/{made['cars']}").status_code == 404
    labels = http.get("/crm/v4/associations/contacts/companies/labels").json()["results"]
    assert labels and all(t["category"] == "HUBSPOT_DEFINED" for t in labels)

    # What the reset keeps: the subscription, and names free again.
    hooks = f"/webhooks/v3/{full_app.app_id}"
    listed = http.get(f"{hooks}/subscriptions").json()["results"]
    assert [str(s["id"]) for s in listed] == [made["subscription"]]
    assert http.get(f"{hooks}/settings").status_code == 200
    again = _contact(http)
    assert again != made["contact"]
    add_property(http, "contacts", "contactinformation")
    assert add_custom_object(http) != made["cars"]

    with http_client(server, neighbour) as theirs:
        read = theirs.get(
            f"/crm/v3/objects/contacts/{kept}", params={"properties": "passport_number"}
        )
        assert read.json()["properties"]["passport_number"] == PASSPORT


def test_reset_needs_the_admin_key_and_a_known_account(
    server: LocalSpotServer, full_app: App
) -> None:
    unknown = _reset(server, 1)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["category"] == "OBJECT_NOT_FOUND"
    bad = _reset(server, "abc")
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    api_token = httpx.post(
        f"{server.url}/localspot/v1/accounts/{full_app.hub_id}/reset",
        headers={"Authorization": f"Bearer {full_app.token}"},
    )
    assert api_token.status_code == 401
    assert api_token.json()["category"] == "INVALID_AUTHENTICATION"


def test_a_reset_keeps_forms_and_drops_their_submissions(
    server: LocalSpotServer, http: httpx.Client, full_app: App
) -> None:
    """Forms belong to an account, like its apps: a test suite sets them up once. Their
    submissions are data a run made, and name contacts the reset deleted."""
    hub = full_app.hub_id
    form = server.control("POST", f"/accounts/{hub}/forms", json=form_body(field("email")))
    submissions = f"/accounts/{hub}/forms/{form['id']}/submissions"
    with httpx.Client(base_url=server.url) as anonymous:
        sent = anonymous.post(open_path(hub, form["id"]), json={"fields": fields(email=EMAIL)})
        assert sent.status_code == 200, sent.text
        assert len(server.control("GET", submissions)["results"]) == 1

        assert _reset(server, hub).status_code == 204
        assert server.control("GET", f"/accounts/{hub}/forms/{form['id']}")["id"] == form["id"]
        assert server.control("GET", submissions) == {"results": []}
        assert all_ids(http, "contacts") == set()
        again = anonymous.post(open_path(hub, form["id"]), json={"fields": fields(email=EMAIL)})
        assert again.status_code == 200, again.text
    assert len(all_ids(http, "contacts")) == 1


def _cli(server: LocalSpotServer, *args: str) -> subprocess.CompletedProcess[str]:
    store = ["--database-url", server.database_url] if server.database_url else []
    command = [sys.executable, "-m", "localspot", *args, "--data-dir", str(server.data_dir)]
    return subprocess.run(
        [*command, *store], capture_output=True, text=True, env=clean_env(), timeout=60
    )


def test_cli_resets_an_account(server: LocalSpotServer, http: httpx.Client, full_app: App) -> None:
    _contact(http)
    done = _cli(server, "accounts", "reset", str(full_app.hub_id))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"hubId": full_app.hub_id, "reset": True}
    assert all_ids(http, "contacts") == set()
    _contact(http)

    unknown = _cli(server, "accounts", "reset", "1")
    assert unknown.returncode == 1
    assert "No account with hub id 1" in unknown.stderr
