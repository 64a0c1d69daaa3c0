"""Who may read, create, edit and archive sensitive property definitions (SPEC §1.2, B2, B17).

The matrix gives every token the object's base schema scopes, so that only the sensitive scope
varies: definitions are readable by all of them, and each write needs the write scope of the
property's own level.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from localspot import scopes as sc
from localspot.policy import Caller
from localspot.testing import App, LocalSpotServer
from tests.conftest import http_client

SCOPES_DOC = "https://developers.hubspot.com/scopes"
MISSING_SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. "
    f"Read more about required scopes here: {SCOPES_DOC}."
)
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True)
class ObjectSetup:
    name: str
    base_scopes: tuple[str, ...]
    group: str
    # The token's scope for each column of the matrix other than "none".
    column_scopes: dict[str, str]
    # What requiredGranularScopes lists for a write of each level.
    required: dict[str, list[str]]


def _crm(name: str, group: str) -> ObjectSetup:
    return ObjectSetup(
        name=name,
        base_scopes=(f"crm.schemas.{name}.read", f"crm.schemas.{name}.write"),
        group=group,
        column_scopes={
            "sensitive_read": f"crm.objects.{name}.sensitive.read.v2",
            "sensitive_write": f"crm.objects.{name}.sensitive.write.v2",
            "highly_sensitive_write": f"crm.objects.{name}.highly_sensitive.write.v2",
        },
        required={
            "sensitive": [f"crm.objects.{name}.sensitive.write.v2"],
            "highly_sensitive": [f"crm.objects.{name}.highly_sensitive.write.v2"],
        },
    )


OBJECTS = {
    "contacts": _crm("contacts", "contactinformation"),
    "companies": _crm("companies", "companyinformation"),
    "deals": _crm("deals", "dealinformation"),
    "tickets": ObjectSetup(
        name="tickets",
        base_scopes=("tickets",),
        group="ticketinformation",
        column_scopes={
            "sensitive_read": "crm.objects.tickets.sensitive.read.v2",
            "sensitive_write": "crm.objects.tickets.sensitive.write.v2",
            "highly_sensitive_write": "crm.objects.tickets.highly_sensitive.write.v2",
        },
        # Either ticket vocabulary would do: tickets.sensitive grants read and write in one.
        required={
            "sensitive": ["crm.objects.tickets.sensitive.write.v2", "tickets.sensitive.v2"],
            "highly_sensitive": [
                "crm.objects.tickets.highly_sensitive.write.v2",
                "tickets.highly_sensitive.v2",
            ],
        },
    ),
}
COLUMNS = ("none", "sensitive_read", "sensitive_write", "highly_sensitive_write")
LEVELS = ("sensitive", "highly_sensitive")
OPERATIONS = ("read", "create", "patch", "archive")
SUCCESS = {"read": 200, "create": 201, "patch": 200, "archive": 204}


def expected_status(column: str, level: str, operation: str) -> int:
    if operation == "read" or column == f"{level}_write":
        return SUCCESS[operation]
    return 403


def prop(setup: ObjectSetup, name: str, level: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": "string",
        "fieldType": "text",
        "groupName": setup.group,
        "dataSensitivity": level,
    }


def assert_missing_scopes(response: httpx.Response, required: list[str]) -> None:
    """SPEC §8.4, field by field."""
    assert response.status_code == 403, response.text
    body = response.json()
    correlation_id = body.pop("correlationId")
    assert response.headers["X-HubSpot-Correlation-Id"] == correlation_id
    uuid.UUID(correlation_id)
    assert body == {
        "status": "error",
        "message": MISSING_SCOPES_MESSAGE,
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": sorted(required)},
            }
        ],
        "links": {"scopes": SCOPES_DOC},
        "category": "MISSING_SCOPES",
    }


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["category"] == "FORBIDDEN"
    assert body["status"] == "error"
    assert "Enterprise" in body["message"]
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


@dataclass
class Portal:
    """One Enterprise account per object: an owner with every scope, a client per column."""

    owner: httpx.Client
    clients: dict[str, httpx.Client]


@pytest.fixture(scope="module")
def portals(server: LocalSpotServer) -> Iterator[dict[str, Portal]]:
    made: dict[str, Portal] = {}
    for name, setup in OBJECTS.items():
        owner_app = server.new_app(sc.all_scopes())
        clients = {}
        for column in COLUMNS:
            extra = [setup.column_scopes[column]] if column != "none" else []
            app = server.new_app([*setup.base_scopes, *extra], hub_id=owner_app.hub_id)
            clients[column] = http_client(server, app)
        made[name] = Portal(owner=http_client(server, owner_app), clients=clients)
    yield made
    for portal in made.values():
        portal.owner.close()
        for client in portal.clients.values():
            client.close()


@pytest.mark.parametrize(
    ("object_name", "column", "level", "operation"),
    list(itertools.product(OBJECTS, COLUMNS, LEVELS, OPERATIONS)),
)
def test_scope_matrix(
    portals: dict[str, Portal], object_name: str, column: str, level: str, operation: str
) -> None:
    setup, portal = OBJECTS[object_name], portals[object_name]
    client, owner = portal.clients[column], portal.owner
    base = f"/crm/v3/properties/{object_name}"
    name = f"{level}_{column}_{operation}"
    if operation != "create":
        assert owner.post(base, json=prop(setup, name, level)).status_code == 201

    if operation == "read":
        response = client.get(f"{base}/{name}")
    elif operation == "create":
        response = client.post(base, json=prop(setup, name, level))
    elif operation == "patch":
        response = client.patch(f"{base}/{name}", json={"label": "Changed"})
    else:
        response = client.delete(f"{base}/{name}")

    status = expected_status(column, level, operation)
    if status == 403:
        assert_missing_scopes(response, setup.required[level])
    else:
        assert response.status_code == status, response.text

    # What the owner sees afterwards shows whether the request took effect.
    after = owner.get(f"{base}/{name}")
    if operation == "create":
        assert after.status_code == (200 if status == 201 else 404)
    elif operation == "archive":
        assert after.status_code == (404 if status == 204 else 200)
    else:
        assert after.json()["dataSensitivity"] == level
        changed = operation == "patch" and status == 200
        assert after.json()["label"] == ("Changed" if changed else name.replace("_", " ").title())


@pytest.mark.parametrize("column", COLUMNS)
def test_listing_by_level_needs_no_sensitive_scope(portals: dict[str, Portal], column: str) -> None:
    portal = portals["deals"]
    portal.owner.post(
        "/crm/v3/properties/deals", json=prop(OBJECTS["deals"], "listed", "sensitive")
    )
    listed = portal.clients[column].get("/crm/v3/properties/deals?dataSensitivity=sensitive")
    assert listed.status_code == 200
    assert "listed" in {p["name"] for p in listed.json()["results"]}


def test_tickets_sensitive_grants_read_and_write(make_app: Any, server: LocalSpotServer) -> None:
    for scope in ("tickets.sensitive", "tickets.sensitive.v2"):
        app = make_app(["tickets", scope])
        with http_client(server, app) as client:
            base = "/crm/v3/properties/tickets"
            created = client.post(base, json=prop(OBJECTS["tickets"], "case_ref", "sensitive"))
            assert created.status_code == 201, created.text
            assert client.get(f"{base}/case_ref").status_code == 200
            assert client.patch(f"{base}/case_ref", json={"label": "Case"}).status_code == 200
            assert client.delete(f"{base}/case_ref").status_code == 204
            # The sensitive grant says nothing about highly sensitive properties.
            refused = client.post(base, json=prop(OBJECTS["tickets"], "x", "highly_sensitive"))
            assert_missing_scopes(refused, OBJECTS["tickets"].required["highly_sensitive"])


def test_suffixed_and_plain_scope_names_are_aliases(make_app: Any, server: LocalSpotServer) -> None:
    setup = OBJECTS["contacts"]
    for write_scope in (
        "crm.objects.contacts.sensitive.write",
        "crm.objects.contacts.sensitive.write.v2",
    ):
        for base_scope in ("crm.schemas.contacts.write", "crm.schemas.contacts.write.v2"):
            app = make_app([base_scope, write_scope])
            with http_client(server, app) as client:
                created = client.post(
                    "/crm/v3/properties/contacts", json=prop(setup, "alias_ok", "sensitive")
                )
                assert created.status_code == 201, created.text
    # The refusal names the scope in its .v2 form whatever form the app holds.
    app = make_app(["crm.schemas.contacts.write", "crm.objects.contacts.sensitive.read"])
    with http_client(server, app) as client:
        refused = client.post("/crm/v3/properties/contacts", json=prop(setup, "no", "sensitive"))
        assert_missing_scopes(refused, ["crm.objects.contacts.sensitive.write.v2"])


def test_read_does_not_imply_write(make_app: Any, server: LocalSpotServer) -> None:
    """A schema read scope lets a token list definitions but never change them."""
    app = make_app(["crm.schemas.companies.read", "crm.objects.companies.sensitive.write"])
    with http_client(server, app) as client:
        base = "/crm/v3/properties/companies"
        assert client.get(base).status_code == 200
        refused = client.post(base, json=prop(OBJECTS["companies"], "vat", "non_sensitive"))
        assert_missing_scopes(refused, ["crm.schemas.companies.write"])
        refused = client.post(base, json=prop(OBJECTS["companies"], "vat", "sensitive"))
        assert_missing_scopes(refused, ["crm.schemas.companies.write"])


def test_write_does_not_imply_read() -> None:
    """No property endpoint reads sensitive values, so the rule is visible only to the policy:
    holding a sensitive write scope never satisfies a check for the matching read scope."""
    for key in ("contacts", "companies", "deals", "custom"):
        for level in LEVELS:
            writer = Caller(
                hub_id=1,
                tier="enterprise",
                scopes=sc.canonical_set([f"crm.objects.{key}.{level}.write.v2"]),
            )
            assert writer.has_any(sc.sensitive_scopes(key, level, "write"))  # type: ignore[arg-type]
            assert not writer.has_any(sc.sensitive_scopes(key, level, "read"))  # type: ignore[arg-type]
    ticket_writer = Caller(
        hub_id=1,
        tier="enterprise",
        scopes=sc.canonical_set(["crm.objects.tickets.sensitive.write"]),
    )
    assert not ticket_writer.has_any(sc.sensitive_scopes("tickets", "sensitive", "read"))


def test_no_scope_on_the_object_cannot_read_definitions(
    make_app: Any, server: LocalSpotServer
) -> None:
    app = make_app(["crm.schemas.deals.read"])
    with http_client(server, app) as client:
        response = client.get("/crm/v3/properties/contacts")
    assert_missing_scopes(
        response,
        [
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "crm.schemas.contacts.read",
            "crm.schemas.contacts.write",
            "crm.objects.contacts.sensitive.read.v2",
            "crm.objects.contacts.sensitive.write.v2",
            "crm.objects.contacts.highly_sensitive.read.v2",
            "crm.objects.contacts.highly_sensitive.write.v2",
        ],
    )


# Below Enterprise (SPEC Part B17) ----------------------------------------------------------


@pytest.mark.parametrize("tier", ["free", "starter", "professional"])
def test_below_enterprise_sensitive_properties_are_forbidden(
    server: LocalSpotServer, tier: str
) -> None:
    app = server.new_app(["crm.schemas.contacts.read", "crm.schemas.contacts.write"], tier=tier)
    setup = OBJECTS["contacts"]
    with http_client(server, app) as client:
        base = "/crm/v3/properties/contacts"
        for level in LEVELS:
            assert_forbidden(client.post(base, json=prop(setup, f"{level}_id", level)))
            assert client.get(f"{base}/{level}_id").status_code == 404
        assert client.post(base, json=prop(setup, "plain", "non_sensitive")).status_code == 201


@pytest.mark.parametrize("tier", ["free", "starter", "professional"])
def test_below_enterprise_sensitive_scopes_cannot_be_granted(
    server: LocalSpotServer, tier: str
) -> None:
    hub_id = server.new_account(tier)
    for scope in ("crm.objects.contacts.sensitive.read.v2", "tickets.highly_sensitive"):
        made = server.admin.post(
            f"/localspot/v1/accounts/{hub_id}/private-apps", json={"scopes": ["tickets", scope]}
        )
        assert_forbidden(made)
    app = server.new_app(["crm.schemas.contacts.write"], hub_id=hub_id)
    edited = server.admin.patch(
        f"/localspot/v1/private-apps/{app.app_id}",
        json={"scopes": ["crm.schemas.contacts.write", "crm.objects.contacts.sensitive.write"]},
    )
    assert_forbidden(edited)
    kept = server.control("GET", f"/private-apps/{app.app_id}")
    assert kept["scopes"] == ["crm.schemas.contacts.write"]


def test_downgraded_account_loses_sensitive_writes(server: LocalSpotServer) -> None:
    app = server.new_app(["crm.schemas.deals.write", "crm.objects.deals.sensitive.write"])
    setup = OBJECTS["deals"]
    with http_client(server, app) as client:
        base = "/crm/v3/properties/deals"
        assert client.post(base, json=prop(setup, "before", "sensitive")).status_code == 201
        server.control("PATCH", f"/accounts/{app.hub_id}", json={"tier": "professional"})
        assert_forbidden(client.post(base, json=prop(setup, "after", "sensitive")))
        assert_forbidden(client.patch(f"{base}/before", json={"label": "x"}))
        assert client.get(f"{base}/before").status_code == 200


# Scope edits and batches -------------------------------------------------------------------


def test_scope_edits_apply_to_the_existing_token(server: LocalSpotServer) -> None:
    app = server.new_app(["crm.schemas.contacts.write"])
    setup = OBJECTS["contacts"]
    with http_client(server, app) as client:
        base = "/crm/v3/properties/contacts"
        refused = client.post(base, json=prop(setup, "passport", "sensitive"))
        assert_missing_scopes(refused, ["crm.objects.contacts.sensitive.write.v2"])
        server.set_scopes(app, [*app.scopes, "crm.objects.contacts.sensitive.write.v2"])
        assert client.post(base, json=prop(setup, "passport", "sensitive")).status_code == 201
        server.set_scopes(app, app.scopes)
        refused = client.patch(f"{base}/passport", json={"label": "Passport no."})
        assert_missing_scopes(refused, ["crm.objects.contacts.sensitive.write.v2"])


def test_batch_create_refused_for_one_input_creates_none(server: LocalSpotServer) -> None:
    """Regression: inputs before the refused one used to stay created after the 403."""
    app = server.new_app(["crm.schemas.contacts.read", "crm.schemas.contacts.write"])
    setup = OBJECTS["contacts"]
    with http_client(server, app) as client:
        base = "/crm/v3/properties/contacts"
        inputs = [
            prop(setup, "first_plain", "non_sensitive"),
            prop(setup, "then_sensitive", "sensitive"),
            prop(setup, "last_plain", "non_sensitive"),
        ]
        refused = client.post(f"{base}/batch/create", json={"inputs": inputs})
        assert_missing_scopes(refused, ["crm.objects.contacts.sensitive.write.v2"])
        for name in ("first_plain", "then_sensitive", "last_plain"):
            assert client.get(f"{base}/{name}").status_code == 404


def test_batch_create_without_schema_write_is_refused_even_when_empty(
    server: LocalSpotServer,
) -> None:
    app = server.new_app(["crm.schemas.contacts.read"])
    with http_client(server, app) as client:
        for inputs in ([], [{"name": "not a valid input"}]):
            refused = client.post(
                "/crm/v3/properties/contacts/batch/create", json={"inputs": inputs}
            )
            assert_missing_scopes(refused, ["crm.schemas.contacts.write"])


def test_batch_archive_refused_for_one_sensitive_archives_none(server: LocalSpotServer) -> None:
    owner = server.new_app(sc.all_scopes())
    app = server.new_app(["crm.schemas.contacts.write"], hub_id=owner.hub_id)
    setup = OBJECTS["contacts"]
    base = "/crm/v3/properties/contacts"
    with http_client(server, owner) as owner_client, http_client(server, app) as client:
        owner_client.post(base, json=prop(setup, "plain_one", "non_sensitive"))
        owner_client.post(base, json=prop(setup, "secret_one", "sensitive"))
        refused = client.post(
            f"{base}/batch/archive",
            json={"inputs": [{"name": "plain_one"}, {"name": "secret_one"}]},
        )
        assert_missing_scopes(refused, ["crm.objects.contacts.sensitive.write.v2"])
        assert client.get(f"{base}/plain_one").status_code == 200
        assert client.get(f"{base}/secret_one").status_code == 200


# Authentication (SPEC §7.3, §8.3) ----------------------------------------------------------


def assert_invalid_authentication(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    correlation_id = body.pop("correlationId")
    assert response.headers["X-HubSpot-Correlation-Id"] == correlation_id
    assert body == {
        "status": "error",
        "message": AUTH_MESSAGE,
        "category": "INVALID_AUTHENTICATION",
    }
    assert response.headers["x-hubspot-auth-failure"] == "401 Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        f"Bearer pat-na1-{uuid.uuid4()}",
        "Bearer not-a-token",
        f"Basic pat-na1-{uuid.uuid4()}",
    ],
    ids=["missing", "empty", "scheme only", "unknown", "malformed", "basic"],
)
def test_bad_credentials_get_401(server: LocalSpotServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (
        ("GET", "/crm/v3/properties/contacts"),
        ("GET", "/crm/properties/2026-03/0-1/email"),
        ("DELETE", "/crm/v3/properties/contacts/email"),
        ("GET", "/crm/v3/properties/contacts/groups"),
    ):
        assert_invalid_authentication(httpx.request(method, server.url + path, headers=headers))


def test_rotated_token_stops_working(server: LocalSpotServer, full_app: App) -> None:
    path = server.url + "/crm/v3/properties/contacts"
    old = {"Authorization": f"Bearer {full_app.token}"}
    assert httpx.get(path, headers=old).status_code == 200
    rotated = server.control("POST", f"/private-apps/{full_app.app_id}/rotate-token")
    assert rotated["accessToken"] != full_app.token
    assert_invalid_authentication(httpx.get(path, headers=old))
    new = {"Authorization": f"Bearer {rotated['accessToken']}"}
    assert httpx.get(path, headers=new).status_code == 200
