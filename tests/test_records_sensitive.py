"""The guide's record scenarios: read, create, update, clear and history of a sensitive value,
and the 403s that leave stored values alone, on every standard object and a custom object."""

from __future__ import annotations

import importlib
import json
from typing import Any

import hubspot
import hubspot_sdk
import pytest
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException

from localspot.testing import LocalSpotServer
from tests.conftest import http_client, sdk_client, v3_client
from tests.records_helpers import STANDARD, add_custom_object, add_property, all_ids

pytestmark = pytest.mark.replayable

BASE_SCOPES = {
    "contacts": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
    "companies": ["crm.objects.companies.read", "crm.objects.companies.write"],
    "deals": ["crm.objects.deals.read", "crm.objects.deals.write"],
    "tickets": ["tickets"],
    "custom": ["crm.objects.custom.read", "crm.objects.custom.write"],
}
SENSITIVE = {
    "contacts": (
        "crm.objects.contacts.sensitive.read.v2",
        "crm.objects.contacts.sensitive.write.v2",
    ),
    "companies": (
        "crm.objects.companies.sensitive.read.v2",
        "crm.objects.companies.sensitive.write.v2",
    ),
    "deals": ("crm.objects.deals.sensitive.read.v2", "crm.objects.deals.sensitive.write.v2"),
    "tickets": ("tickets.sensitive.v2", "tickets.sensitive.v2"),
    "custom": ("crm.objects.custom.sensitive.read.v2", "crm.objects.custom.sensitive.write.v2"),
}
# A scope that reads sensitive values and writes none: tickets.sensitive would grant both.
READ_ONLY = {
    **{kind: read for kind, (read, _) in SENSITIVE.items()},
    "tickets": "crm.objects.tickets.sensitive.read.v2",
}


def _setup(server: LocalSpotServer, full_app, kind: str) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The object type, with a sensitive passport_number and a unique ext_ref (what an upsert
    names a record by, as HubSpot takes no hs_object_id there), and values to create by."""
    with http_client(server, full_app) as http:
        if kind == "custom":
            object_type, group = add_custom_object(http), "cars_information"
            base = {"model": "Roadster"}
        else:
            object_type, (group, base) = kind, STANDARD[kind]
            add_property(http, kind, group)
        add_property(http, object_type, group, "ext_ref", "non_sensitive", hasUniqueValue=True)
        return object_type, dict(base)


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals", "tickets", "custom"])
def test_passport_number_lifecycle(server: LocalSpotServer, full_app, kind: str) -> None:  # type: ignore[no-untyped-def]
    object_type, base = _setup(server, full_app, kind)
    with http_client(server, full_app) as http:
        created = http.post(
            f"/crm/v3/objects/{object_type}",
            json={"properties": {**base, "passport_number": "P-100"}},
        )
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]

        read = http.get(
            f"/crm/v3/objects/{object_type}/{record_id}", params={"properties": "passport_number"}
        )
        assert read.json()["properties"]["passport_number"] == "P-100"
        plain = http.get(f"/crm/v3/objects/{object_type}/{record_id}")
        assert "passport_number" not in plain.json()["properties"]

        updated = http.patch(
            f"/crm/objects/2026-03/{object_type}/{record_id}",
            json={"properties": {"passport_number": "P-200"}},
        )
        assert updated.status_code == 200
        assert updated.json()["properties"]["passport_number"] == "P-200"

        cleared = http.patch(
            f"/crm/v3/objects/{object_type}/{record_id}",
            json={"properties": {"passport_number": ""}},
        )
        assert cleared.json()["properties"]["passport_number"] == ""

        history = http.get(
            f"/crm/v3/objects/{object_type}/{record_id}",
            params={"propertiesWithHistory": "passport_number"},
        ).json()
        values = [h["value"] for h in history["propertiesWithHistory"]["passport_number"]]
        assert values == ["", "P-200", "P-100"]
        assert {h["sourceType"] for h in history["propertiesWithHistory"]["passport_number"]} == {
            "API"
        }


def _stored(server: LocalSpotServer, full_app, object_type: str, record_id: str):  # type: ignore[no-untyped-def]
    """The record's passport value and history, and every record id of the object."""
    with http_client(server, full_app) as http:
        record = http.get(
            f"/crm/v3/objects/{object_type}/{record_id}",
            params={"properties": "passport_number", "propertiesWithHistory": "passport_number"},
        ).json()
        return (
            record["properties"]["passport_number"],
            record["propertiesWithHistory"]["passport_number"],
            record["updatedAt"],
            all_ids(http, object_type),
        )


def _refused_writes(http, object_type: str, record_id: str, base: dict[str, str]):  # type: ignore[no-untyped-def]
    """Every kind of write that would set a sensitive value to X, a value the record lacks.
    The record holds ext_ref "ref-1"."""
    new_key = {"id": "ref-new", "idProperty": "ext_ref"}
    return [
        http.patch(
            f"/crm/v3/objects/{object_type}/{record_id}",
            json={"properties": {"passport_number": "X"}},
        ),
        http.patch(
            f"/crm/objects/2026-03/{object_type}/{record_id}",
            json={"properties": {**base, "passport_number": "X"}},
        ),
        http.post(
            f"/crm/v3/objects/{object_type}",
            json={"properties": {**base, "passport_number": "X"}},
        ),
        http.post(
            f"/crm/v3/objects/{object_type}/batch/create",
            json={"inputs": [{"properties": {**base, "passport_number": "X"}}]},
        ),
        http.post(
            f"/crm/v3/objects/{object_type}/batch/update",
            json={"inputs": [{"id": record_id, "properties": {"passport_number": "X"}}]},
        ),
        http.post(
            f"/crm/v3/objects/{object_type}/batch/upsert",
            json={
                "inputs": [
                    {
                        "id": "ref-1",
                        "idProperty": "ext_ref",
                        "properties": {"passport_number": "X"},
                    }
                ]
            },
        ),
        http.post(
            f"/crm/v3/objects/{object_type}/batch/upsert",
            json={"inputs": [{**new_key, "properties": {**base, "passport_number": "X"}}]},
        ),
    ]


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals", "tickets", "custom"])
def test_missing_sensitive_scopes_are_refused_and_change_nothing(
    server: LocalSpotServer,
    full_app,
    kind: str,  # type: ignore[no-untyped-def]
) -> None:
    object_type, base = _setup(server, full_app, kind)
    with http_client(server, full_app) as http:
        record_id = http.post(
            f"/crm/v3/objects/{object_type}",
            json={"properties": {**base, "passport_number": "P-1", "ext_ref": "ref-1"}},
        ).json()["id"]
    before = _stored(server, full_app, object_type, record_id)
    assert before[0] == "P-1"
    read_scope, write_scope = SENSITIVE[kind]
    plain = server.new_app(BASE_SCOPES[kind], hub_id=full_app.hub_id)
    reader = server.new_app([*BASE_SCOPES[kind], READ_ONLY[kind]], hub_id=full_app.hub_id)
    server.advance_clock(seconds=2)

    with http_client(server, plain) as http:
        denied = http.get(
            f"/crm/v3/objects/{object_type}/{record_id}", params={"properties": "passport_number"}
        )
        assert denied.status_code == 403
        body = denied.json()
        assert body["category"] == "MISSING_SCOPES"
        assert read_scope in body["errors"][0]["context"]["requiredGranularScopes"]
        assert "P-1" not in denied.text
        cleared = http.patch(
            f"/crm/v3/objects/{object_type}/{record_id}",
            json={"properties": {"passport_number": ""}},
        )
        read = http.post(
            f"/crm/v3/objects/{object_type}/batch/read",
            json={"inputs": [{"id": record_id}], "properties": ["passport_number"]},
        )
        for attempt in [cleared, read, *_refused_writes(http, object_type, record_id, base)]:
            assert attempt.status_code == 403, attempt.text
            assert attempt.json()["category"] == "MISSING_SCOPES"
            assert "P-1" not in attempt.text

    with http_client(server, reader) as http:
        allowed = http.get(
            f"/crm/v3/objects/{object_type}/{record_id}", params={"properties": "passport_number"}
        )
        assert allowed.status_code == 200
        assert allowed.json()["properties"]["passport_number"] == "P-1"
        for attempt in _refused_writes(http, object_type, record_id, base):
            assert attempt.status_code == 403, attempt.text
            assert write_scope in attempt.json()["errors"][0]["context"]["requiredGranularScopes"]

    assert _stored(server, full_app, object_type, record_id) == before


def test_write_only_scope_hides_the_value_in_the_write_response(server, full_app) -> None:  # type: ignore[no-untyped-def]
    _setup(server, full_app, "contacts")
    writer = server.new_app(
        [*BASE_SCOPES["contacts"], SENSITIVE["contacts"][1]], hub_id=full_app.hub_id
    )
    with http_client(server, writer) as http:
        created = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "w@example.org", "passport_number": "P-9"}},
        )
    assert created.status_code == 201
    assert "passport_number" not in created.json()["properties"]
    assert "P-9" not in created.text


@pytest.mark.parametrize("may_read", [False, True])
def test_writing_the_held_value_tells_a_write_only_caller_nothing(  # type: ignore[no-untyped-def]
    server: LocalSpotServer, full_app, may_read: bool
) -> None:
    """A write of the value already held changes nothing for a reader; for a caller who may
    only write, it counts as a change (new modified date, history entry): an unchanged date
    told such a caller that a guessed value was right."""
    with http_client(server, full_app) as http:
        add_property(http, "contacts", "contactinformation", hasUniqueValue=True)
        held = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "g@example.org", "passport_number": "P-GUESS"}},
        ).json()
    read_scope, write_scope = SENSITIVE["contacts"]
    scopes = [*BASE_SCOPES["contacts"], write_scope, *([read_scope] if may_read else [])]
    writer = server.new_app(scopes, hub_id=full_app.hub_id)
    server.advance_clock(seconds=1)
    with http_client(server, writer) as http:
        patched = http.patch(
            f"/crm/v3/objects/contacts/{held['id']}",
            json={"properties": {"passport_number": "P-GUESS"}},
        )
    assert patched.status_code == 200, patched.text
    with http_client(server, full_app) as http:
        history = http.get(
            f"/crm/v3/objects/contacts/{held['id']}",
            params={"propertiesWithHistory": "passport_number"},
        ).json()["propertiesWithHistory"]["passport_number"]
    if may_read:
        assert patched.json()["updatedAt"] == held["updatedAt"]
        assert len(history) == 1
    else:
        assert patched.json()["updatedAt"] != held["updatedAt"]
        assert [h["value"] for h in history] == ["P-GUESS", "P-GUESS"]


def test_sdks_read_and_write_sensitive_values(server, full_app) -> None:  # type: ignore[no-untyped-def]
    _setup(server, full_app, "contacts")
    sdk = sdk_client(server, full_app)
    created = sdk.crm.objects.contacts.create(
        properties={"email": "sdk@example.org", "passport_number": "P-SDK"}, associations=[]
    )
    fetched = sdk.crm.objects.contacts.get(created.id, properties=["passport_number", "email"])
    assert fetched.properties["passport_number"] == "P-SDK"
    sdk.crm.objects.contacts.update(created.id, properties={"passport_number": "P-SDK2"})

    v3 = v3_client(server, full_app)
    got = v3.crm.contacts.basic_api.get_by_id(created.id, properties=["passport_number"])
    assert got.properties["passport_number"] == "P-SDK2"
    made = v3.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "v3@example.org", "passport_number": "P-V3"}
        )
    )
    assert made.properties["passport_number"] == "P-V3"

    plain = server.new_app(BASE_SCOPES["contacts"], hub_id=full_app.hub_id)
    with pytest.raises(ApiException) as refused:
        v3_client(server, plain).crm.contacts.basic_api.get_by_id(
            created.id, properties=["passport_number"]
        )
    assert refused.value.status == 403
    with pytest.raises(hubspot_sdk.PermissionDeniedError):
        sdk_client(server, plain).crm.objects.contacts.get(
            created.id, properties=["passport_number"]
        )


@pytest.mark.parametrize("may_read", [False, True])
def test_a_unique_clash_names_the_holder_only_to_a_reader(  # type: ignore[no-untyped-def]
    server: LocalSpotServer, full_app, may_read: bool
) -> None:
    with http_client(server, full_app) as http:
        add_property(http, "contacts", "contactinformation", hasUniqueValue=True)
        holder = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "h@example.org", "passport_number": "P-HELD"}},
        ).json()["id"]
        target = http.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": "t@example.org"}}
        ).json()["id"]
    read_scope, write_scope = SENSITIVE["contacts"]
    scopes = [*BASE_SCOPES["contacts"], write_scope, *([read_scope] if may_read else [])]
    writer = server.new_app(scopes, hub_id=full_app.hub_id)
    with http_client(server, writer) as http:
        updated = http.patch(
            f"/crm/v3/objects/contacts/{target}",
            json={"properties": {"passport_number": "P-HELD"}},
        )
        created = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "c@example.org", "passport_number": "P-HELD"}},
        )
    for response in (updated, created):
        assert response.status_code == 400, response.text
        message = response.json()["message"]
        assert "value=REDACTED" in message
        assert "P-HELD" not in response.text
        if may_read:
            assert message.endswith(f". {holder} already has that value.")
        else:
            assert message.endswith(". Another record already has that value.")
    assert updated.json()["message"].split(" on ", 1)[1].startswith(f"{target}.")


class _V3Records:
    """One object type through hubspot-api-client: its own API for contacts, companies and
    deals, the generic objects API for tickets and custom objects."""

    def __init__(self, client: hubspot.HubSpot, kind: str, object_type: str) -> None:
        self.typed = kind in ("contacts", "companies", "deals")
        self.module = importlib.import_module(f"hubspot.crm.{kind if self.typed else 'objects'}")
        self.api = getattr(client.crm, kind if self.typed else "objects").basic_api
        self.prefix = () if self.typed else (object_type,)

    def create(self, properties: dict[str, str]) -> Any:
        body = self.module.SimplePublicObjectInputForCreate(properties=properties)
        return self.api.create(*self.prefix, body)

    def get(self, record_id: str, **params: Any) -> Any:
        return self.api.get_by_id(*self.prefix, record_id, **params)

    def update(self, record_id: str, properties: dict[str, str]) -> Any:
        body = self.module.SimplePublicObjectInput(properties=properties)
        return self.api.update(*self.prefix, record_id, body)


class _DatedRecords:
    """One object type through hubspot-sdk, whose custom objects take the type as an argument."""

    def __init__(self, client: hubspot_sdk.HubSpot, kind: str, object_type: str) -> None:
        self.api = getattr(client.crm.objects, kind)
        self.typed: dict[str, str] = {} if kind != "custom" else {"object_type": object_type}
        self.kind, self.object_type = kind, object_type

    def create(self, properties: dict[str, str]) -> Any:
        if self.kind == "custom":
            return self.api.create(self.object_type, properties=properties, associations=[])
        return self.api.create(properties=properties, associations=[])

    def get(self, record_id: str, **params: Any) -> Any:
        return self.api.get(record_id, **self.typed, **params)

    def update(self, record_id: str, properties: dict[str, str]) -> Any:
        return self.api.update(record_id, **self.typed, properties=properties)


def _walk(records: Any, base: dict[str, str], tag: str) -> str:
    """The guide's passport scenario: create, read, update, clear, history."""
    created = records.create({**base, "passport_number": f"P-{tag}-1"})
    assert created.properties["passport_number"] == f"P-{tag}-1"
    read = records.get(created.id, properties=["passport_number"])
    assert read.properties["passport_number"] == f"P-{tag}-1"
    updated = records.update(created.id, {"passport_number": f"P-{tag}-2"})
    assert updated.properties["passport_number"] == f"P-{tag}-2"
    cleared = records.update(created.id, {"passport_number": ""})
    assert cleared.properties["passport_number"] == ""
    history = records.get(created.id, properties_with_history=["passport_number"])
    entries = history.properties_with_history["passport_number"]
    assert [e.value for e in entries] == ["", f"P-{tag}-2", f"P-{tag}-1"]
    assert {e.source_type for e in entries} == {"API"}
    return str(created.id)


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals", "tickets", "custom"])
def test_passport_number_through_both_sdks(server: LocalSpotServer, full_app, kind: str) -> None:  # type: ignore[no-untyped-def]
    object_type, base = _setup(server, full_app, kind)
    if kind == "contacts":
        bases = [{"email": "v3@example.org"}, {"email": "dated@example.org"}]
    else:
        bases = [base, base]
    v3_id = _walk(_V3Records(v3_client(server, full_app), kind, object_type), bases[0], "V3")
    dated_id = _walk(
        _DatedRecords(sdk_client(server, full_app), kind, object_type), bases[1], "SDK"
    )
    assert v3_id != dated_id

    plain = server.new_app(BASE_SCOPES[kind], hub_id=full_app.hub_id)
    v3_plain = _V3Records(v3_client(server, plain), kind, object_type)
    with pytest.raises(v3_plain.module.ApiException) as refused:
        v3_plain.get(v3_id, properties=["passport_number"])
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["category"] == "MISSING_SCOPES"
    with pytest.raises(hubspot_sdk.PermissionDeniedError) as denied:
        _DatedRecords(sdk_client(server, plain), kind, object_type).update(
            dated_id, {"passport_number": "P-NOPE"}
        )
    assert denied.value.body["category"] == "MISSING_SCOPES"
    with http_client(server, full_app) as http:
        kept = http.get(
            f"/crm/v3/objects/{object_type}/{dated_id}", params={"properties": "passport_number"}
        )
    assert kept.json()["properties"]["passport_number"] == ""
