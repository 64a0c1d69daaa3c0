"""Search and sensitive data (SPEC §1.3, Part B3): scopes, highly sensitive, query, exactness.

Every rule goes through hubspot-api-client (issue #4), on contacts, tickets (whose sensitive
scopes are ``tickets.sensitive.v2`` / ``tickets.highly_sensitive.v2``) and a custom object.
Bodies are plain dicts so the client's models cannot refuse anything before the server does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import hubspot
import hubspot.crm.objects
import hubspot.crm.tickets
import pytest
from hubspot.crm.contacts import ApiException, Filter, FilterGroup, PublicObjectSearchRequest
from sqlalchemy import update

from localspot.scopes import all_scopes
from localspot.store.schema import object_schemas
from localspot.testing import LocalSpotServer

from .conftest import http_client, v3_client
from .protection_support import engine_of
from .records_helpers import add_property

MISSING_SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. "
    "Read more about required scopes here: https://developers.hubspot.com/scopes."
)
API_EXCEPTIONS: dict[str, type[Exception]] = {
    "contacts": ApiException,
    "tickets": hubspot.crm.tickets.ApiException,
    "custom": hubspot.crm.objects.ApiException,
}
HIGHLY_REFUSED = "search does not support highly sensitive properties"


@dataclass(frozen=True)
class Kind:
    """An object type under test: its scopes and how its records are made."""

    name: str
    base: tuple[str, ...]
    sensitive_read: str
    highly_read: str
    group: str
    # requiredGranularScopes of the 403s: every scope that would suffice, in .v2 form (B1).
    needs_sensitive: list[str]
    needs_highly: list[str]
    # Records 0, 1 and 2 of the account: record 1's ordinary searchable text says "zebra".
    plain: tuple[dict[str, str], dict[str, str], dict[str, str]]


KINDS = {
    "contacts": Kind(
        "contacts",
        ("crm.objects.contacts.read", "crm.objects.contacts.write"),
        "crm.objects.contacts.sensitive.read.v2",
        "crm.objects.contacts.highly_sensitive.read.v2",
        "contactinformation",
        ["crm.objects.contacts.sensitive.read.v2"],
        ["crm.objects.contacts.highly_sensitive.read.v2"],
        ({"email": "a@s.org"}, {"email": "b@s.org", "lastname": "zebra"}, {"email": "c@s.org"}),
    ),
    "tickets": Kind(
        "tickets",
        ("tickets",),
        "tickets.sensitive.v2",
        "tickets.highly_sensitive.v2",
        "ticketinformation",
        ["crm.objects.tickets.sensitive.read.v2", "tickets.sensitive.v2"],
        ["crm.objects.tickets.highly_sensitive.read.v2", "tickets.highly_sensitive.v2"],
        (
            {"subject": "Login fails", "hs_pipeline_stage": "1"},
            {"subject": "zebra crossing", "hs_pipeline_stage": "1"},
            {"subject": "Invoice", "hs_pipeline_stage": "1"},
        ),
    ),
    "custom": Kind(
        "custom",
        ("crm.objects.custom.read", "crm.objects.custom.write"),
        "crm.objects.custom.sensitive.read.v2",
        "crm.objects.custom.highly_sensitive.read.v2",
        "",
        ["crm.objects.custom.sensitive.read.v2"],
        ["crm.objects.custom.highly_sensitive.read.v2"],
        ({"model": "Alpha"}, {"model": "zebra"}, {"model": "Gamma"}),
    ),
}
SENSITIVE_VALUES = ("Zebra-1234 X", "P-77", None)
HIGHLY_VALUES = ("flu", None, None)


@dataclass(frozen=True)
class Account:
    kind: Kind
    hub_id: int
    object_type: str  # the path segment: "contacts", "tickets" or the custom objectTypeId
    ids: list[str]

    def client(self, server: LocalSpotServer, *extra: str) -> hubspot.HubSpot:
        return v3_client(server, server.new_app([*self.kind.base, *extra], hub_id=self.hub_id))

    def search(self, client: hubspot.HubSpot, body: dict[str, Any]) -> Any:
        if self.kind.name == "contacts":
            return client.crm.contacts.search_api.do_search(public_object_search_request=body)
        if self.kind.name == "tickets":
            return client.crm.tickets.search_api.do_search(public_object_search_request=body)
        return client.crm.objects.search_api.do_search(
            self.object_type, public_object_search_request=body
        )

    def refused(self, client: hubspot.HubSpot, body: dict[str, Any], status: int) -> dict[str, Any]:
        # Each client package raises its own ApiException class.
        with pytest.raises(API_EXCEPTIONS[self.kind.name]) as raised:
            self.search(client, body)
        assert raised.value.status == status, raised.value.body
        error = json.loads(raised.value.body)
        assert error["status"] == "error" and error["correlationId"]
        assert "results" not in error
        return error  # type: ignore[no-any-return]


def _custom_schema(server: LocalSpotServer, http: Any) -> str:
    """A custom object whose schema lists its sensitive properties as searchable too.

    The schemas API refuses that now, but schemas stored before it did may still say so:
    the stored row is changed directly, and ``query`` must still skip those values.
    """
    prop = {"type": "string", "fieldType": "text"}
    response = http.post(
        "/crm/v3/schemas",
        json={
            "name": "vaults",
            "labels": {"singular": "Vault", "plural": "Vaults"},
            "primaryDisplayProperty": "model",
            "requiredProperties": ["model"],
            "searchableProperties": ["model"],
            "properties": [
                {"name": "model", "label": "Model", **prop},
                {"name": "passport", "label": "passport", "dataSensitivity": "sensitive", **prop},
                {
                    "name": "diagnosis",
                    "label": "diagnosis",
                    "dataSensitivity": "highly_sensitive",
                    **prop,
                },
            ],
            "associatedObjects": ["CONTACT"],
            "allowsSensitiveProperties": True,
        },
    )
    assert response.status_code == 201, response.text
    type_id = str(response.json()["objectTypeId"])
    engine = engine_of(server)
    with engine.begin() as conn:
        conn.execute(
            update(object_schemas)
            .where(object_schemas.c.id == int(type_id[2:]))
            .values(searchable_properties=["model", "passport", "diagnosis"])
        )
    engine.dispose()
    return type_id


@pytest.fixture(params=list(KINDS))
def account(request: pytest.FixtureRequest, server: LocalSpotServer) -> Account:
    """An account with a sensitive ``passport`` and a highly sensitive ``diagnosis`` property
    on the object type, and three records: passport "Zebra-1234 X" and diagnosis "flu" on the
    first, passport "P-77" and plain text "zebra" on the second, nothing sensitive on the third.
    """
    kind = KINDS[request.param]
    admin = server.new_app(all_scopes())
    with http_client(server, admin) as http:
        if kind.name == "custom":
            object_type = _custom_schema(server, http)
        else:
            object_type = kind.name
            add_property(http, object_type, kind.group, name="passport")
            add_property(
                http, object_type, kind.group, name="diagnosis", sensitivity="highly_sensitive"
            )
        inputs = []
        for plain, passport, diagnosis in zip(
            kind.plain, SENSITIVE_VALUES, HIGHLY_VALUES, strict=True
        ):
            props = dict(plain)
            if passport is not None:
                props["passport"] = passport
            if diagnosis is not None:
                props["diagnosis"] = diagnosis
            inputs.append({"properties": props})
        made = http.post(f"/crm/v3/objects/{object_type}/batch/create", json={"inputs": inputs})
        assert made.status_code == 201, made.text
    ids = sorted((r["id"] for r in made.json()["results"]), key=int)
    return Account(kind, admin.hub_id, object_type, ids)


def _missing(error: dict[str, Any], scopes: list[str]) -> None:
    """SPEC §8.4: the whole MISSING_SCOPES body, naming the scopes that would suffice."""
    assert error["category"] == "MISSING_SCOPES"
    assert error["message"] == MISSING_SCOPES_MESSAGE
    assert error["errors"] == [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": scopes},
        }
    ]
    assert error["links"] == {"scopes": "https://developers.hubspot.com/scopes"}


def _filter(name: str, operator: str, value: str | None = None) -> dict[str, Any]:
    f = {"propertyName": name, "operator": operator}
    if value is not None:
        f["value"] = value
    return {"filterGroups": [{"filters": [f]}]}


def _uses(name: str) -> list[Any]:
    """The three places a search body can name a property: filter, sort and properties."""
    return [
        pytest.param(_filter(name, "HAS_PROPERTY"), id="filter"),
        pytest.param({"sorts": [{"propertyName": name, "direction": "ASCENDING"}]}, id="sort"),
        pytest.param({"properties": ["hs_object_id", name]}, id="properties"),
    ]


@pytest.mark.parametrize("body", _uses("passport"))
def test_a_sensitive_property_needs_the_sensitive_read_scope(
    server: LocalSpotServer, account: Account, body: dict[str, Any]
) -> None:
    client = account.client(server)
    _missing(account.refused(client, body, 403), account.kind.needs_sensitive)
    # The highly sensitive scope is no substitute for the sensitive one (Part B2).
    client = account.client(server, account.kind.highly_read)
    _missing(account.refused(client, body, 403), account.kind.needs_sensitive)


def test_sdk_gets_the_403_too(server: LocalSpotServer) -> None:
    """The client's own request models, not only dict bodies, meet the same 403."""
    kind = KINDS["contacts"]
    admin = server.new_app(all_scopes())
    with http_client(server, admin) as http:
        add_property(http, "contacts", kind.group, name="passport")
    app = server.new_app(list(kind.base), hub_id=admin.hub_id)
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="passport", operator="EQ", value="p-77")])
        ]
    )
    with pytest.raises(ApiException) as raised:
        v3_client(server, app).crm.contacts.search_api.do_search(
            public_object_search_request=request
        )
    assert raised.value.status == 403 and "MISSING_SCOPES" in raised.value.body
    _missing(json.loads(raised.value.body), kind.needs_sensitive)


def test_with_the_scope_equality_on_a_sealed_value_is_exact(
    server: LocalSpotServer, account: Account
) -> None:
    client = account.client(server, account.kind.sensitive_read)
    found = account.search(
        client, {**_filter("passport", "EQ", "p-77"), "properties": ["passport"]}
    )
    assert [r.id for r in found.results] == [account.ids[1]]
    assert found.results[0].properties["passport"] == "P-77"
    assert found.total == 1


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("CONTAINS_TOKEN", "zebra", [0]),
        ("CONTAINS_TOKEN", "*-77", [1]),
        ("NOT_CONTAINS_TOKEN", "zebra*", [1, 2]),
        ("NEQ", "p-77", [0, 2]),
        ("GT", "q", [0]),
        ("NOT_HAS_PROPERTY", None, [2]),
    ],
)
def test_every_operator_stays_exact_on_sealed_values(
    server: LocalSpotServer,
    account: Account,
    operator: str,
    value: str | None,
    expected: list[int],
) -> None:
    sort = [{"propertyName": "passport", "direction": "DESCENDING"}]
    client = account.client(server, account.kind.sensitive_read)
    found = account.search(client, {**_filter("passport", operator, value), "sorts": sort})
    assert [r.id for r in found.results] == [account.ids[i] for i in expected]
    assert found.total == len(expected)


def test_query_never_matches_sensitive_values(server: LocalSpotServer, account: Account) -> None:
    """Part B3, even for a custom object whose schema lists the sensitive ones as searchable."""
    kind = account.kind
    client = account.client(server, kind.sensitive_read, kind.highly_read)
    found = account.search(client, {"query": "zebra"})
    assert [r.id for r in found.results] == [account.ids[1]]  # by plain text, not passport
    assert found.total == 1
    for word in ("flu", "p-77", "1234"):
        assert account.search(client, {"query": word}).total == 0, word


@pytest.mark.parametrize("body", _uses("diagnosis"))
def test_highly_sensitive_properties_are_refused(
    server: LocalSpotServer, account: Account, body: dict[str, Any]
) -> None:
    kind = account.kind
    # Without the highly sensitive scope: 403, even holding the sensitive one (Part B3, B2).
    _missing(account.refused(account.client(server), body, 403), kind.needs_highly)
    client = account.client(server, kind.sensitive_read)
    _missing(account.refused(client, body, 403), kind.needs_highly)
    # With it: 400, since search never covers highly sensitive properties.
    client = account.client(server, kind.sensitive_read, kind.highly_read)
    error = account.refused(client, body, 400)
    assert error["category"] == "VALIDATION_ERROR"
    assert HIGHLY_REFUSED in error["message"].lower()
    assert "diagnosis" in error["message"]
    assert "flu" not in json.dumps(error)


def test_sensitive_filter_values_stay_out_of_the_log(
    server: LocalSpotServer, account: Account
) -> None:
    secret = "Quokka-98765"
    without = account.client(server)
    account.refused(without, _filter("passport", "CONTAINS_TOKEN", secret), 403)
    with_scope = account.client(server, account.kind.sensitive_read)
    found = account.search(with_scope, _filter("passport", "LT", secret))
    assert [r.id for r in found.results] == [account.ids[1]]  # "P-77" < "quokka…" < "zebra…"
    assert secret.lower() not in server.log_text().lower()
