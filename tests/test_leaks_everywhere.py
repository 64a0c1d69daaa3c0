"""Canaries in sensitive properties of every object type, driven through every API family with
tokens of every scope combination: a canary shows only where its caller may read it, and never
in the log, the raw store, webhook payloads, legacy or form responses, or error bodies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Connection, select, update

from localspot.scopes import all_scopes
from localspot.store.schema import property_definitions, record_values
from localspot.testing import App, LocalSpotServer
from tests import leakcheck
from tests.conftest import http_client
from tests.forms_helpers import field, fields, form_body, secure_path
from tests.protection_support import engine_of, own_server
from tests.records_helpers import STANDARD, add_custom_object, add_property
from tests.webhook_helpers import wire
from tests.webhook_receiver import Receiver

BASE = {
    "contacts": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
    "companies": ["crm.objects.companies.read", "crm.objects.companies.write"],
    "deals": ["crm.objects.deals.read", "crm.objects.deals.write"],
    "tickets": ["tickets"],
    "custom": ["crm.objects.custom.read", "crm.objects.custom.write"],
}
READ = {
    "contacts": "crm.objects.contacts.sensitive.read",
    "companies": "crm.objects.companies.sensitive.read",
    "deals": "crm.objects.deals.sensitive.read",
    "tickets": "crm.objects.tickets.sensitive.read",
    "custom": "crm.objects.custom.sensitive.read",
}
WRITE = {k: v.replace(".read", ".write") for k, v in READ.items()}
COMBOS = {"base": (), "read": ("read",), "write": ("write",), "read+write": ("read", "write")}


@dataclass
class Planted:
    kind: str
    object_type: str
    record_id: str
    value: str


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _plant(server: LocalSpotServer, owner: App) -> list[Planted]:
    planted = []
    with http_client(server, owner) as http:
        for kind, (group, base) in STANDARD.items():
            add_property(http, kind, group)
            add_property(http, kind, group, name="risk_score", type="number", fieldType="number")
            value = leakcheck.canary(kind.upper())
            made = http.post(
                f"/crm/v3/objects/{kind}", json={"properties": {**base, "passport_number": value}}
            )
            assert made.status_code == 201, made.text
            planted.append(Planted(kind, kind, made.json()["id"], value))
        custom = add_custom_object(http, "vaults")
        value = leakcheck.canary("CUSTOM")
        made = http.post(
            f"/crm/v3/objects/{custom}",
            json={"properties": {"model": "V", "passport_number": value}},
        )
        planted.append(Planted("custom", custom, made.json()["id"], value))
        add_property(
            http, "contacts", "contactinformation", name="diagnosis", sensitivity="highly_sensitive"
        )
        highly = leakcheck.canary("HIGHLY")
        contact = planted[0].record_id
        assert (
            http.patch(
                f"/crm/v3/objects/contacts/{contact}", json={"properties": {"diagnosis": highly}}
            ).status_code
            == 200
        )
        planted.append(Planted("contacts-highly", "contacts", contact, highly))
    return planted


def _v3_reads(http: httpx.Client, p: Planted, prop: str) -> list[httpx.Response]:
    base = f"/crm/v3/objects/{p.object_type}"
    return [
        http.get(f"{base}/{p.record_id}"),
        http.get(f"{base}/{p.record_id}", params={"properties": prop}),
        http.get(
            f"/crm/objects/2026-03/{p.object_type}/{p.record_id}",
            params={"propertiesWithHistory": prop},
        ),
        http.get(base, params={"properties": prop, "limit": 100}),
        http.post(
            f"{base}/batch/read", json={"inputs": [{"id": p.record_id}], "properties": [prop]}
        ),
    ]


def _attempts(http: httpx.Client, p: Planted) -> list[httpx.Response]:
    """Writes and errors that must never echo a value, whatever the caller may do."""
    base = f"/crm/v3/objects/{p.object_type}"
    bad = leakcheck.canary("BAD")
    return [
        http.patch(f"{base}/{p.record_id}", json={"properties": {"risk_score": bad}}),
        http.get(f"{base}/{p.value}", params={"idProperty": "passport_number"}),
        http.get(f"/crm/v4/objects/{p.object_type}/{p.record_id}/associations/contacts"),
    ]


def test_canaries_show_only_to_callers_who_may_read_them(
    server: LocalSpotServer, receiver: Receiver
) -> None:
    owner = server.new_app(all_scopes())
    planted = _plant(server, owner)
    wire(
        server,
        owner,
        receiver.url,
        [
            {"eventType": "contact.propertyChange", "propertyName": "passport_number"},
            {"eventType": "company.propertyChange", "propertyName": "passport_number"},
        ],
    )
    seen_by_reader: set[str] = set()
    for p in planted:
        kind = "contacts" if p.kind == "contacts-highly" else p.kind
        prop = "diagnosis" if p.kind == "contacts-highly" else "passport_number"
        for combo, grants in COMBOS.items():
            level = ".highly_sensitive." if prop == "diagnosis" else ".sensitive."
            scopes = list(BASE[kind])
            if "read" in grants:
                scopes.append(READ[kind].replace(".sensitive.", level))
            if "write" in grants:
                scopes.append(WRITE[kind].replace(".sensitive.", level))
            app = server.new_app(scopes, hub_id=owner.hub_id)
            may_read = "read" in grants
            with http_client(server, app) as http:
                reads = _v3_reads(http, p, prop)
                attempts = _attempts(http, p)
                echo = http.patch(
                    f"/crm/v3/objects/{p.object_type}/{p.record_id}",
                    json={"properties": {prop: p.value}},
                )
                found = http.post(
                    f"/crm/v3/objects/{p.object_type}/search",
                    json={
                        "filterGroups": [
                            {
                                "filters": [
                                    {"propertyName": prop, "operator": "EQ", "value": p.value}
                                ]
                            }
                        ],
                        "properties": [prop],
                    },
                )
                by_query = http.post(
                    f"/crm/v3/objects/{p.object_type}/search",
                    json={"query": p.value, "properties": [prop]},
                )
            assert found.status_code < 500 and by_query.status_code < 500, found.text
            if prop == "diagnosis":  # search never works over highly sensitive values (B3)
                assert found.status_code == (400 if may_read else 403), found.text
            else:
                assert found.status_code == (200 if may_read else 403), found.text
            assert (p.value in found.text) == (may_read and prop != "diagnosis"), (p.kind, combo)
            assert p.value not in by_query.text
            if by_query.status_code == 200:
                assert by_query.json()["total"] == 0  # free text never matches sensitive values
            # A write answers with what was written only to a caller who may read it.
            assert (p.value in echo.text) == (may_read and "write" in grants), (p.kind, combo)
            for response in reads:
                assert response.status_code < 500, response.text
            shown = [r for r in reads if p.value in r.text]
            if may_read:
                assert len(shown) == 4, (p.kind, combo)  # every read that names the property
                seen_by_reader.add(p.value)
            else:
                assert shown == [], (p.kind, combo, [r.request.url for r in shown])
                assert {r.status_code for r in reads[1:]} == {403}, (p.kind, combo)
            for response in attempts:
                assert response.status_code < 500, response.text
                assert p.value not in response.text, (p.kind, combo, response.request.url)

    with http_client(server, owner) as http:
        legacy = [
            http.get(f"/contacts/v1/contact/vid/{planted[0].record_id}/profile"),
            http.get(f"/companies/v2/companies/{planted[1].record_id}"),
            http.get(f"/deals/v1/deal/{planted[2].record_id}"),
            http.get("/contacts/v1/lists/all/contacts/all", params={"property": "passport_number"}),
        ]
        form = http.post(
            "/marketing/v3/forms",
            json=form_body(field("email", "email", required=True), field("passport_number")),
        ).json()
        submitted_value = leakcheck.canary("FORM")
        assert (
            http.post(
                secure_path(owner.hub_id, form["id"]),
                json={"fields": fields(email="leak@example.org", passport_number=submitted_value)},
            ).status_code
            == 200
        )
        submissions = http.get(f"/form-integrations/v1/submissions/forms/{form['id']}")
        new_value = leakcheck.canary("NEW")
        assert (
            http.patch(
                f"/crm/v3/objects/contacts/{planted[0].record_id}",
                json={"properties": {"passport_number": new_value}},
            ).status_code
            == 200
        )
    for response in [*legacy, submissions]:
        assert response.status_code == 200, response.text
        assert (
            leakcheck.scan_text(
                "legacy and forms", response.text, [p.value for p in planted] + [submitted_value]
            )
            == []
        )

    receiver.wait_for(lambda r: any(e.get("propertyValue") == "REDACTED" for e in r.events()))
    control = "".join(
        server.admin.get(path).text
        for path in (
            f"/localspot/v1/webhooks/private-apps/{owner.app_id}/events",
            f"/localspot/v1/audit?hubId={owner.hub_id}&format=jsonl",
        )
    )
    everything = [p.value for p in planted] + [submitted_value, new_value]
    payloads = b"".join(r.body for r in receiver.requests).decode()
    assert leakcheck.scan_text("webhook payloads", payloads, everything) == []
    assert leakcheck.scan_text("control plane", control, everything) == []
    time.sleep(0.3)  # the server's last log lines
    assert leakcheck.scan_everywhere(server, everything) == []
    assert seen_by_reader == {p.value for p in planted}


# Tampering with the store --------------------------------------------------------------------
#
# Expected: 500 INTERNAL_ERROR with a clear message naming record and property, no value and no
# stack trace. The caller did nothing wrong (a 4xx would blame the request) and retrying cannot
# help (so not 503): the stored value is no longer the one LocalSpot sealed, which is a server
# side failure the operator must repair. Serving anything else would serve garbage or another
# record's value. (Before the fix the protection error reached the middleware's last line of
# defence: a bare "An internal error occurred." that told neither caller nor operator what.)
TAMPERED_MESSAGE = (
    "A stored sensitive value failed its integrity check and cannot be served: "
    "property passport_number of {object_type} {record_id}. It was altered outside LocalSpot "
    "or sealed under a key the keyring no longer holds; an administrator must restore it."
)


def _two_sealed_contacts(server: LocalSpotServer) -> tuple[App, list[str], list[str], int]:
    owner = server.new_app(all_scopes())
    values = [leakcheck.canary("TAMPER"), leakcheck.canary("TAMPER")]
    with http_client(server, owner) as http:
        add_property(http, "contacts", "contactinformation")
        ids = []
        for i, value in enumerate(values):
            made = http.post(
                "/crm/v3/objects/contacts",
                json={"properties": {"email": f"t{i}@tamper.org", "passport_number": value}},
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    with engine_of(server).begin() as conn:
        (property_id,) = conn.execute(
            select(property_definitions.c.id).where(
                property_definitions.c.hub_id == owner.hub_id,
                property_definitions.c.object_type_id == "0-1",
                property_definitions.c.name == "passport_number",
            )
        ).one()
    return owner, ids, values, property_id


def _sealed(conn: Connection, record_id: str, property_id: int) -> bytes:
    row = conn.execute(
        select(record_values.c.value_ct).where(
            record_values.c.record_id == int(record_id),
            record_values.c.property_id == property_id,
        )
    ).one()
    return bytes(row.value_ct)


def _set_sealed(conn: Connection, record_id: str, property_id: int, sealed: bytes) -> None:
    conn.execute(
        update(record_values)
        .where(
            record_values.c.record_id == int(record_id),
            record_values.c.property_id == property_id,
        )
        .values(value_ct=sealed)
    )


def _reads(http: httpx.Client, record_id: str) -> list[httpx.Response]:
    """Every v3 way of reading the current value: GET (with history too), batch read, search."""
    return [
        http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "passport_number"}),
        http.get(
            f"/crm/v3/objects/contacts/{record_id}",
            params={"properties": "passport_number", "propertiesWithHistory": "passport_number"},
        ),
        http.post(
            "/crm/v3/objects/contacts/batch/read",
            json={"inputs": [{"id": record_id}], "properties": ["passport_number"]},
        ),
        http.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "hs_object_id", "operator": "EQ", "value": record_id}
                        ]
                    }
                ],
                "properties": ["passport_number"],
            },
        ),
    ]


def _refused_cleanly(response: httpx.Response, record_id: str, values: list[str]) -> None:
    assert response.status_code == 500, (response.request.url, response.text)
    body = response.json()
    assert body["status"] == "error" and body["correlationId"]
    assert body["category"] == "INTERNAL_ERROR"
    assert body["message"] == TAMPERED_MESSAGE.format(object_type="contact", record_id=record_id)
    assert body["context"] == {"objectId": [record_id], "propertyName": ["passport_number"]}
    assert "Traceback" not in response.text and "results" not in body
    assert leakcheck.scan_text("tamper response", response.text, values) == []


def _history_only(http: httpx.Client, record_id: str, own_value: str, other: str) -> None:
    """record_history keeps its own, untouched envelopes: a history-only read serves the
    record's authentic past value, never the other record's."""
    got = http.get(
        f"/crm/v3/objects/contacts/{record_id}",
        params={"propertiesWithHistory": "passport_number"},
    )
    assert got.status_code == 200, got.text
    history = got.json()["propertiesWithHistory"]["passport_number"]
    assert [h["value"] for h in history] == [own_value]
    assert other not in got.text


def test_a_tampered_ciphertext_is_refused_not_served() -> None:
    with own_server() as server:
        owner, ids, values, property_id = _two_sealed_contacts(server)
        with engine_of(server).begin() as conn:
            sealed = bytearray(_sealed(conn, ids[0], property_id))
            sealed[-1] ^= 0x01  # one bit of the GCM tag
            _set_sealed(conn, ids[0], property_id, bytes(sealed))
        with http_client(server, owner) as http:
            for response in _reads(http, ids[0]):
                _refused_cleanly(response, ids[0], values)
            _history_only(http, ids[0], values[0], values[1])
            # The untouched record still reads, with its own value.
            got = http.get(
                f"/crm/v3/objects/contacts/{ids[1]}", params={"properties": "passport_number"}
            )
            assert got.status_code == 200, got.text
            assert got.json()["properties"]["passport_number"] == values[1]
        time.sleep(0.3)
        log = server.log_text()
        assert leakcheck.scan_log(server, values) == []
        assert "Traceback" not in log
        assert "sealed value failed its integrity check" in log  # the operator is told


def test_swapped_ciphertexts_are_refused_not_served() -> None:
    with own_server() as server:
        owner, ids, values, property_id = _two_sealed_contacts(server)
        with engine_of(server).begin() as conn:
            first, second = (_sealed(conn, i, property_id) for i in ids)
            _set_sealed(conn, ids[0], property_id, second)
            _set_sealed(conn, ids[1], property_id, first)
        with http_client(server, owner) as http:
            for record_id in ids:
                for response in _reads(http, record_id):
                    _refused_cleanly(response, record_id, values)
            _history_only(http, ids[0], values[0], values[1])
            _history_only(http, ids[1], values[1], values[0])
        time.sleep(0.3)
        assert leakcheck.scan_log(server, values) == []
        assert "Traceback" not in server.log_text()
