"""Bad requests to the Properties API: each gets HubSpot's error body, never a 500 (SPEC §7)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import http_client

BASE = "/crm/v3/properties/contacts"
GOOD = {
    "name": "fresh_name",
    "label": "Fresh",
    "type": "string",
    "fieldType": "text",
    "groupName": "contactinformation",
}
ENUM = {**GOOD, "type": "enumeration", "fieldType": "select"}


def good(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    category: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    # Bodies that are not a JSON object.
    Case("malformed json", "POST", BASE, 400, "VALIDATION_ERROR", content=b'{"name": '),
    Case(
        "wrong content type",
        "POST",
        BASE,
        415,
        "VALIDATION_ERROR",
        content=b"name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    Case("empty body", "POST", BASE, 400, "VALIDATION_ERROR", content=b""),
    Case("json array", "POST", BASE, 400, "VALIDATION_ERROR", json=[GOOD]),
    Case("json string", "POST", BASE, 400, "VALIDATION_ERROR", json="contacts"),
    Case("json null", "POST", BASE, 400, "VALIDATION_ERROR", content=b"null"),
    # Types and field types.
    Case("string as select", "POST", BASE, 400, "VALIDATION_ERROR", json=good(fieldType="select")),
    Case("date as text", "POST", BASE, 400, "VALIDATION_ERROR", json=good(type="date")),
    Case("unknown type", "POST", BASE, 400, "VALIDATION_ERROR", json=good(type="text")),
    Case("unknown field type", "POST", BASE, 400, "VALIDATION_ERROR", json=good(fieldType="x")),
    Case("json type", "POST", BASE, 400, "VALIDATION_ERROR", json=good(type="json")),
    # Names (SPEC Part B6).
    Case("uppercase name", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="Passport")),
    Case("leading digit", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="1passport")),
    Case("name too long", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="a" * 101)),
    Case("reserved hs_", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="hs_passport")),
    Case("hyphen in name", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="pass-port")),
    Case("empty name", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="")),
    # Regression: "$" in the name pattern let a trailing newline through, and the Location
    # header then broke the connection.
    Case("newline name", "POST", BASE, 400, "VALIDATION_ERROR", json=good(name="passport\n")),
    Case("duplicate", "POST", BASE, 409, "OBJECT_ALREADY_EXISTS", json=good(name="taken")),
    Case(
        "duplicate archived",
        "POST",
        BASE,
        409,
        "OBJECT_ALREADY_EXISTS",
        json=good(name="taken_archived"),
    ),
    # Required fields.
    *[
        Case(f"missing {key}", "POST", BASE, 400, "VALIDATION_ERROR", json=without(key))
        for key in ("name", "label", "type", "fieldType", "groupName")
    ],
    # Labels, options and JSON types.
    Case("label too long", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label="L" * 401)),
    Case("empty label", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label="")),
    Case("blank label", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label="   ")),
    Case("null label", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label=None)),
    Case("enum without options", "POST", BASE, 400, "VALIDATION_ERROR", json=ENUM),
    Case(
        "duplicate option values",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json={
            **ENUM,
            "options": [
                {"label": "A", "value": "a", "hidden": False},
                {"label": "Also A", "value": "a", "hidden": False},
            ],
        },
    ),
    Case(
        "option without value",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json={**ENUM, "options": [{"label": "A", "hidden": False}]},
    ),
    Case("number label", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label=42)),
    Case(
        "string hasUniqueValue",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(hasUniqueValue="true"),
    ),
    Case("unknown field", "POST", BASE, 400, "VALIDATION_ERROR", json=good(colour="red")),
    Case(
        "bad dataSensitivity",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(dataSensitivity="secret"),
    ),
    Case(
        "categories on non-sensitive",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(sensitiveDataCategories=["HIPAA"]),
    ),
    Case(
        "calculation without formula",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(type="number", fieldType="calculation_equation"),
    ),
    # Regressions: values PostgreSQL refuses to store used to surface as 500s there.
    Case(
        "displayOrder beyond 32 bits",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(displayOrder=2**40),
    ),
    Case(
        "display hint too long",
        "POST",
        BASE,
        400,
        "VALIDATION_ERROR",
        json=good(textDisplayHint="x" * 100),
    ),
    Case("NUL in label", "POST", BASE, 400, "VALIDATION_ERROR", json=good(label="a\u0000b")),
    Case("unknown group", "POST", BASE, 400, "VALIDATION_ERROR", json=good(groupName="nowhere")),
    # Updates (SPEC Part B5) and HubSpot-defined properties.
    *[
        Case(f"patch {key}", "PATCH", f"{BASE}/taken", 400, "VALIDATION_ERROR", json={key: value})
        for key, value in (
            ("name", "renamed"),
            ("hasUniqueValue", True),
            ("dataSensitivity", "sensitive"),
            ("sensitiveDataCategories", ["HIPAA"]),
        )
    ],
    Case(
        "patch type without fitting fieldType",
        "PATCH",
        f"{BASE}/taken",
        400,
        "VALIDATION_ERROR",
        json={"type": "number"},
    ),
    Case(
        "patch unknown group",
        "PATCH",
        f"{BASE}/taken",
        400,
        "VALIDATION_ERROR",
        json={"groupName": "nowhere"},
    ),
    Case(
        "patch unknown field",
        "PATCH",
        f"{BASE}/taken",
        400,
        "VALIDATION_ERROR",
        json={"colour": "red"},
    ),
    Case(
        "patch hubspot-defined",
        "PATCH",
        f"{BASE}/email",
        400,
        "VALIDATION_ERROR",
        json={"label": "E-mail"},
    ),
    Case("archive hubspot-defined", "DELETE", f"{BASE}/email", 400, "VALIDATION_ERROR"),
    # Unknown things.
    Case("unknown object type", "GET", "/crm/v3/properties/widgets", 400, "VALIDATION_ERROR"),
    Case(
        "unknown object type on create",
        "POST",
        "/crm/v3/properties/0-999",
        400,
        "VALIDATION_ERROR",
        json=GOOD,
    ),
    Case("unknown property", "GET", f"{BASE}/nothing_here", 404, "OBJECT_NOT_FOUND"),
    Case(
        "patch unknown property",
        "PATCH",
        f"{BASE}/nothing_here",
        404,
        "OBJECT_NOT_FOUND",
        json={"label": "x"},
    ),
    Case("archive unknown property", "DELETE", f"{BASE}/nothing_here", 404, "OBJECT_NOT_FOUND"),
    Case("archived without flag", "GET", f"{BASE}/taken_archived", 404, "OBJECT_NOT_FOUND"),
    # NUL is refused at the door, in paths as in bodies (PostgreSQL text cannot hold it).
    Case("NUL in property path", "GET", f"{BASE}/ta%00ken", 400, "VALIDATION_ERROR"),
    # Query parameters.
    Case(
        "bad dataSensitivity query", "GET", f"{BASE}?dataSensitivity=all", 400, "VALIDATION_ERROR"
    ),
    Case("bad archived query", "GET", f"{BASE}?archived=yes", 400, "VALIDATION_ERROR"),
    Case(
        "bad archived query on one",
        "GET",
        f"{BASE}/taken?archived=1",
        400,
        "VALIDATION_ERROR",
    ),
    # Batches.
    Case(
        "batch create over 100",
        "POST",
        f"{BASE}/batch/create",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [good(name=f"p{i}") for i in range(101)]},
    ),
    Case(
        "batch read over 100",
        "POST",
        f"{BASE}/batch/read",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [{"name": f"p{i}"} for i in range(101)]},
    ),
    Case(
        "batch archive over 100",
        "POST",
        f"{BASE}/batch/archive",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [{"name": f"p{i}"} for i in range(101)]},
    ),
    Case(
        "batch without inputs",
        "POST",
        f"{BASE}/batch/read",
        400,
        "VALIDATION_ERROR",
        json={"archived": False},
    ),
    Case(
        "batch input without name",
        "POST",
        f"{BASE}/batch/read",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [{"id": "1"}]},
    ),
    Case(
        "batch read archived not boolean",
        "POST",
        f"{BASE}/batch/read",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [{"name": "taken"}], "archived": "no"},
    ),
    Case(
        "batch read NUL name",
        "POST",
        f"{BASE}/batch/read",
        400,
        "VALIDATION_ERROR",
        json={"inputs": [{"name": "a\u0000"}]},
    ),
    # Groups.
    Case(
        "duplicate group",
        "POST",
        f"{BASE}/groups",
        409,
        "OBJECT_ALREADY_EXISTS",
        json={"name": "custom_group", "label": "Again"},
    ),
    Case(
        "hubspot group name taken",
        "POST",
        f"{BASE}/groups",
        409,
        "OBJECT_ALREADY_EXISTS",
        json={"name": "contactinformation", "label": "Again"},
    ),
    Case(
        "bad group name",
        "POST",
        f"{BASE}/groups",
        400,
        "VALIDATION_ERROR",
        json={"name": "My Group", "label": "Mine"},
    ),
    Case(
        "group without label",
        "POST",
        f"{BASE}/groups",
        400,
        "VALIDATION_ERROR",
        json={"name": "labelless"},
    ),
    Case(
        "group displayOrder beyond 32 bits",
        "POST",
        f"{BASE}/groups",
        400,
        "VALIDATION_ERROR",
        json={"name": "big_order", "label": "Big", "displayOrder": 2**40},
    ),
    Case(
        "rename group",
        "PATCH",
        f"{BASE}/groups/custom_group",
        400,
        "VALIDATION_ERROR",
        json={"name": "renamed_group"},
    ),
    Case("unknown group read", "GET", f"{BASE}/groups/nowhere", 404, "OBJECT_NOT_FOUND"),
    Case(
        "archive hubspot-defined group",
        "DELETE",
        f"{BASE}/groups/contactinformation",
        400,
        "VALIDATION_ERROR",
    ),
    Case("archive group in use", "DELETE", f"{BASE}/groups/used_group", 400, "VALIDATION_ERROR"),
    # Routes.
    Case("method not allowed", "PUT", f"{BASE}/taken", 405, "METHOD_NOT_ALLOWED", json={}),
    Case(
        "unknown route", "GET", "/crm/v3/properties/contacts/taken/history", 404, "OBJECT_NOT_FOUND"
    ),
]


@pytest.fixture(scope="module")
def client(server: LocalSpotServer) -> Iterator[httpx.Client]:
    """One account holding the names the cases collide with; cases never change it."""
    app = server.new_app(all_scopes())
    with http_client(server, app) as http:
        for name in ("taken", "taken_archived"):
            assert http.post(BASE, json=good(name=name)).status_code == 201
        assert http.delete(f"{BASE}/taken_archived").status_code == 204
        for name in ("custom_group", "used_group"):
            created = http.post(f"{BASE}/groups", json={"name": name, "label": name})
            assert created.status_code == 201
        assert http.post(BASE, json=good(name="in_used", groupName="used_group")).status_code == 201
        yield http


def assert_hubspot_error(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert isinstance(body["message"], str) and body["message"]
    assert str(uuid.UUID(body["correlationId"])) == body["correlationId"]
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    return body


def send(client: httpx.Client, case: Case) -> httpx.Response:
    if case.content is not None:
        headers = {"content-type": "application/json", **case.headers}
        return client.request(case.method, case.path, content=case.content, headers=headers)
    if case.json is not None:
        return client.request(case.method, case.path, json=case.json, headers=case.headers)
    return client.request(case.method, case.path, headers=case.headers)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request(client: httpx.Client, case: Case) -> None:
    assert_hubspot_error(send(client, case), case.status, case.category)


def test_failed_requests_changed_nothing(client: httpx.Client) -> None:
    taken = client.get(f"{BASE}/taken").json()
    assert (taken["name"], taken["label"], taken["dataSensitivity"]) == (
        "taken",
        "Fresh",
        "non_sensitive",
    )
    assert taken["hasUniqueValue"] is False
    names = {p["name"] for p in client.get(BASE).json()["results"]}
    assert "fresh_name" not in names and not any(
        n.startswith("p") and n[1:].isdigit() for n in names
    )
    email = client.get(f"{BASE}/email").json()
    assert email["label"] == "Email" and email["archived"] is False
    groups = {g["name"] for g in client.get(f"{BASE}/groups").json()["results"]}
    assert {"contactinformation", "custom_group", "used_group"} <= groups
    assert not groups & {"big_order", "renamed_group", "labelless"}


def test_patch_null_leaves_fields_alone(client: httpx.Client) -> None:
    """Regression: a null for a required column reached the store and answered 500."""
    client.post(BASE, json=good(name="nulls", description="kept"))
    patched = client.patch(
        f"{BASE}/nulls",
        json={"label": None, "description": None, "displayOrder": None, "hidden": None},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["label"], patched.json()["description"]) == ("Fresh", "kept")
    group = client.patch(f"{BASE}/groups/custom_group", json={"label": None, "displayOrder": None})
    assert group.status_code == 200, group.text
    assert group.json()["label"] == "custom_group"


def test_unauthenticated_bad_body_is_401_not_400(server: LocalSpotServer) -> None:
    """Regression: create and batch endpoints parsed the body before checking the token."""
    for path in (BASE, f"{BASE}/batch/create", f"{BASE}/batch/read", f"{BASE}/groups"):
        response = httpx.post(server.url + path, content=b"{not json")
        assert_hubspot_error(response, 401, "INVALID_AUTHENTICATION")


def test_concurrent_duplicates_conflict_instead_of_failing(client: httpx.Client) -> None:
    """Regression: on PostgreSQL two creates of one name both passed the duplicate check and
    the loser's unique-constraint error surfaced as a 500."""
    for round_ in range(3):
        prop = good(name=f"raced_{round_}")
        group = {"name": f"raced_group_{round_}", "label": "Raced"}
        with ThreadPoolExecutor(8) as pool:
            props = list(pool.map(lambda body: client.post(BASE, json=body), [prop] * 8))
            groups = list(
                pool.map(lambda body: client.post(f"{BASE}/groups", json=body), [group] * 8)
            )
        props = [r.status_code for r in props]
        groups = [r.status_code for r in groups]
        assert Counter(props) == {201: 1, 409: 7}
        assert Counter(groups) == {201: 1, 409: 7}


ODD_VALUES: list[Any] = [None, 0, -1, 2**40, 1.5, True, "", "x" * 5000, [], {}, ["a"], {"a": 1}]


def test_odd_values_never_cause_a_500(client: httpx.Client) -> None:
    """Every field of every write body, given every kind of JSON value: 4xx or success."""
    fields = [
        *GOOD,
        "description",
        "displayOrder",
        "options",
        "hasUniqueValue",
        "hidden",
        "formField",
        "externalOptions",
        "referencedObjectType",
        "calculationFormula",
        "currencyPropertyName",
        "showCurrencySymbol",
        "numberDisplayHint",
        "textDisplayHint",
        "dateDisplayHint",
        "dataSensitivity",
        "sensitiveDataCategories",
    ]
    assert client.post(BASE, json=good(name="fuzzed")).status_code == 201
    statuses: Counter[int] = Counter()
    for i, key in enumerate(fields):
        for j, value in enumerate(ODD_VALUES):
            body = {**good(name=f"odd_{i}_{j}"), key: value}
            statuses[client.post(BASE, json=body).status_code] += 1
            statuses[client.patch(f"{BASE}/fuzzed", json={key: value}).status_code] += 1
            option = {"label": "A", "value": "a", "hidden": False, key: value}
            enum = {**ENUM, "name": f"odd_enum_{i}_{j}", "options": [option]}
            statuses[client.post(BASE, json=enum).status_code] += 1
    for key in ("name", "label", "displayOrder"):
        for value in ODD_VALUES:
            group = {"name": "odd_group", "label": "Odd", key: value}
            statuses[client.post(f"{BASE}/groups", json=group).status_code] += 1
            patch = {key: value}
            statuses[client.patch(f"{BASE}/groups/odd_group", json=patch).status_code] += 1
    assert not [s for s in statuses if s >= 500], statuses
