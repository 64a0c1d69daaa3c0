"""Canaries in sensitive properties of every object type, driven through every API family with
tokens of every scope combination: a canary shows only where its caller may read it, and never
in the log, the raw store, webhook payloads, legacy or form responses, or error bodies."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Connection, select, update

from localspot.scopes import all_scopes
from localspot.store.schema import property_definitions, record_values
from localspot.testing import App, LocalSpotServer
from tests import leakcheck
from tests.conftest import http_client
from tests.forms_helpers import field as form_field
from tests.forms_helpers import fields, form_body, open_path, secure_path
from tests.oauth_helpers import exchange, install, new_public_app, new_user
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
SENSITIVE_SCOPE = {
    "contacts": "crm.objects.contacts.{level}.{access}",
    "companies": "crm.objects.companies.{level}.{access}",
    "deals": "crm.objects.deals.{level}.{access}",
    "tickets": "crm.objects.tickets.{level}.{access}",
    "custom": "crm.objects.custom.{level}.{access}",
}
S, H = "sensitive", "highly_sensitive"
# What each token holds beyond the base scopes of every object (and forms): (level, access)
# pairs, granted on every object type. The last two are the cross-level ones: a scope of one
# level never opens a value of the other (SPEC Part B2).
SCOPE_SETS: dict[str, frozenset[tuple[str, str]]] = {
    "base": frozenset(),
    "read": frozenset({(S, "read"), (H, "read")}),
    "write": frozenset({(S, "write"), (H, "write")}),
    "read+write": frozenset({(S, "read"), (S, "write"), (H, "read"), (H, "write")}),
    "sensitive-only": frozenset({(S, "read"), (S, "write")}),
    "highly-sensitive-only": frozenset({(H, "read"), (H, "write")}),
}
PROPS = {"passport_number": S, "diagnosis": H}
KINDS = ("contacts", "companies", "deals", "tickets", "custom")
CANARY_PATTERN = re.compile(r"CANARY[A-Z_]*[0-9a-f]{20}")

# Families of responses, for the rule below.
READ = "v3 read naming the property"  # GET/list/batch read/search (v3 and date-versioned)
ECHO = "v3 write answering with what it wrote"  # create, PATCH, batch create/update/upsert
NEVER = "never"  # legacy, forms, webhooks, associations, OAuth, errors, control plane, merge


def may_see(grants: frozenset[tuple[str, str]], level: str, family: str) -> bool:
    """The rule this test checks, once: a sensitive value reaches a caller only through a v3
    (or date-versioned) read that names its property, with the read scope of its own level
    (policy.check_values / may_read_value); a v3 write answers with the values it wrote only
    if the caller may read them too (Writer.render_*). Every other family shows none, whatever
    the scopes: legacy hides them (B8), form submission reads drop them, webhooks carry
    REDACTED (B7), associations and errors carry no values, the control plane never does."""
    if family not in (READ, ECHO) or (level, "read") not in grants:
        return False
    return family == READ or (level, "write") in grants


@dataclass(frozen=True)
class Canary:
    kind: str  # the object type key it belongs to ("custom" for the custom object)
    level: str


@dataclass
class Caller:
    name: str
    grants: frozenset[tuple[str, str]]
    app: App
    http: httpx.Client
    checked: int = 0


@dataclass
class World:
    server: LocalSpotServer
    owner: App
    types: dict[str, str]  # kind -> object type in paths
    records: dict[str, str]  # kind -> planted record id
    values: dict[tuple[str, str], str]  # (kind, property) -> planted value
    known: dict[str, Canary] = field(default_factory=dict)
    ext: dict[str, str] = field(default_factory=dict)  # kind -> unique ext_key of the record
    emails: dict[str, str] = field(default_factory=dict)  # contact email, company domain
    dropped: set[str] = field(default_factory=set)  # sent through legacy writes
    unique: dict[str, str] = field(default_factory=dict)  # kind -> its unique sensitive value

    def new(self, kind: str, level: str, label: str = "") -> str:
        value = leakcheck.canary(label or f"{kind.upper()}_{'H' if level == H else 'S'}")
        self.known[value] = Canary(kind, level)
        return value

    def check(
        self,
        caller: Caller,
        response: httpx.Response,
        family: str,
        kind: str | None = None,
        shows: tuple[str, ...] = (),
        echoed: str | None = None,
    ) -> None:
        """The canaries in ``response`` are exactly those its caller may see: of ``kind`` and a
        level ``may_see`` allows for ``family``; each of ``shows`` is there if and only if so.
        ``echoed`` is a JSON field that repeats the request itself (legacy search's ``query``),
        which tells the caller nothing it did not send."""
        where = (caller.name, response.request.method, str(response.request.url), family)
        assert response.status_code < 500, (*where, response.text)
        text = response.text
        if echoed is not None and response.status_code == 200:
            body = response.json()
            body.pop(echoed)
            text = json.dumps(body)
        found = set(CANARY_PATTERN.findall(text))
        assert found <= set(self.known), ("unknown or mangled canary", *where, found)
        allowed = {
            c
            for c in found
            if self.known[c].kind == kind and may_see(caller.grants, self.known[c].level, family)
        }
        assert found == allowed, ("leak", *where, sorted(found - allowed))
        for value in shows:
            expected = may_see(caller.grants, self.known[value].level, family)
            assert (value in found) == expected, ("shown" if expected else "hidden", *where)
        caller.checked += 1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _plant(server: LocalSpotServer, owner: App) -> World:
    types: dict[str, str] = {}
    with http_client(server, owner) as http:
        for kind, (group, _) in STANDARD.items():
            add_property(http, kind, group)
            types[kind] = kind
        types["custom"] = add_custom_object(http, "vaults")
        for kind in KINDS:
            group = STANDARD[kind][0] if kind in STANDARD else None
            extra = {"groupName": group} if group else {}
            for name, sensitivity, more in (
                ("diagnosis", H, {}),
                ("credit_limit", S, {"type": "number", "fieldType": "number"}),
                ("ext_key", "non_sensitive", {"hasUniqueValue": True}),
                ("national_id", S, {"hasUniqueValue": True}),
            ):
                body = {
                    "name": name,
                    "label": name.replace("_", " ").title(),
                    "type": "string",
                    "fieldType": "text",
                    "groupName": group or "vaults_information",
                    "dataSensitivity": sensitivity,
                    **extra,
                    **more,
                }
                made = http.post(f"/crm/v3/properties/{types[kind]}", json=body)
                assert made.status_code == 201, made.text
    world = World(server, owner, types, {}, {})
    with http_client(server, owner) as http:
        for kind in KINDS:
            values = {p: world.new(kind, level) for p, level in PROPS.items()}
            world.unique[kind] = world.new(kind, S, "UNIQUE")
            world.ext[kind] = f"ext-{kind}-{leakcheck.canary()[-8:]}".lower()
            made = http.post(
                f"/crm/v3/objects/{types[kind]}",
                json={
                    "properties": {
                        **_base(kind),
                        **values,
                        "ext_key": world.ext[kind],
                        "national_id": world.unique[kind],
                    }
                },
            )
            assert made.status_code == 201, made.text
            world.records[kind] = made.json()["id"]
            world.emails[kind] = made.json()["properties"].get("email") or made.json()[
                "properties"
            ].get("domain", "")
            for p, v in values.items():
                world.values[(kind, p)] = v
    return world


_serial = iter(range(10**6))


def _base(kind: str) -> dict[str, str]:
    """Required non-sensitive properties of a new record (a fresh email for contacts)."""
    if kind == "custom":
        return {"model": "V"}
    base = dict(STANDARD[kind][1])
    if kind == "contacts":
        base["email"] = f"leak{next(_serial)}@example.org"
    if kind == "companies":
        base["domain"] = f"acme{next(_serial)}.example"
    return base


def _scopes(grants: frozenset[tuple[str, str]]) -> list[str]:
    scopes = [s for kind in KINDS for s in BASE[kind]] + ["forms"]
    for kind in KINDS:
        for level, access in sorted(grants):
            scopes.append(SENSITIVE_SCOPE[kind].format(level=level, access=access))
    return scopes


def _eq(prop: str, value: str, operator: str = "EQ") -> dict:
    return {
        "filterGroups": [
            {"filters": [{"propertyName": prop, "operator": operator, "value": value}]}
        ],
        "properties": [prop],
    }


def _v3_reads(w: World, c: Caller, kind: str, prop: str) -> None:
    """Reads naming the property, on the v3 and the date-versioned paths: all or nothing."""
    t, rid, value, level = w.types[kind], w.records[kind], w.values[(kind, prop)], PROPS[prop]
    may_read = (level, "read") in c.grants
    http = c.http
    w.check(c, http.get(f"/crm/v3/objects/{t}/{rid}"), NEVER)  # names nothing
    for base in (f"/crm/v3/objects/{t}", f"/crm/objects/2026-03/{t}"):
        for r in (
            http.get(f"{base}/{rid}", params={"properties": prop}),
            http.get(f"{base}/{rid}", params={"propertiesWithHistory": prop}),
            http.get(base, params={"properties": prop, "limit": 100}),
            http.post(f"{base}/batch/read", json={"inputs": [{"id": rid}], "properties": [prop]}),
        ):
            assert r.status_code == (200 if may_read else 403), (c.name, r.request.url, r.text)
            w.check(c, r, READ, kind, shows=(value,))
        found = http.post(f"{base}/search", json=_eq(prop, value))
        if level == H:  # search never works over highly sensitive values (B3)
            assert found.status_code == (400 if may_read else 403), found.text
            w.check(c, found, NEVER)
        else:
            assert found.status_code == (200 if may_read else 403), found.text
            w.check(c, found, READ, kind, shows=(value,))
        by_query = http.post(f"{base}/search", json={"query": value, "properties": [prop]})
        w.check(c, by_query, NEVER)
        if by_query.status_code == 200:
            assert by_query.json()["total"] == 0  # free text never matches sensitive values


def _v3_writes(w: World, c: Caller, kind: str, prop: str) -> None:
    """Every v3 write of a value: refused without the write scope of its level; the answer
    carries what was written only to a caller who may read it."""
    t, rid, value, level = w.types[kind], w.records[kind], w.values[(kind, prop)], PROPS[prop]
    may_write = (level, "write") in c.grants
    ok = 200 if may_write else 403
    http = c.http
    v3, dated = f"/crm/v3/objects/{t}", f"/crm/objects/2026-03/{t}"
    made, batch_made = w.new(kind, level), w.new(kind, level)
    for response, status, shown in (
        (http.patch(f"{v3}/{rid}", json={"properties": {prop: value}}), ok, value),
        (http.patch(f"{dated}/{rid}", json={"properties": {prop: value}}), ok, value),
        (
            http.post(
                f"{v3}/batch/update", json={"inputs": [{"id": rid, "properties": {prop: value}}]}
            ),
            ok,
            value,
        ),
        (
            http.post(
                f"{dated}/batch/upsert",
                json={
                    "inputs": [
                        {"id": w.ext[kind], "idProperty": "ext_key", "properties": {prop: value}}
                    ]
                },
            ),
            ok,
            value,
        ),
        (
            http.post(v3, json={"properties": {**_base(kind), prop: made}}),
            201 if may_write else 403,
            made,
        ),
        (
            http.post(
                f"{dated}/batch/create",
                json={"inputs": [{"properties": {**_base(kind), prop: batch_made}}]},
            ),
            201 if may_write else 403,
            batch_made,
        ),
    ):
        assert response.status_code == status, (c.name, response.request.url, response.text)
        w.check(c, response, ECHO, kind, shows=(shown,))


def _v3_errors(w: World, c: Caller, kind: str, prop: str) -> None:
    """Requests that fail, with values where an error could echo them: none is echoed."""
    t, rid, value = w.types[kind], w.records[kind], w.values[(kind, prop)]
    http = c.http
    v3 = f"/crm/v3/objects/{t}"
    bad = w.new(kind, S, "BAD")
    for response in (
        http.get(f"{v3}/{value}", params={"idProperty": prop}),
        http.patch(f"{v3}/{rid}", json={"properties": {"credit_limit": bad}}),
        http.post(
            f"{v3}/batch/update",
            json={"inputs": [{"id": rid, "properties": {"credit_limit": bad, prop: value}}]},
        ),
        http.post(f"{v3}/search", json=_eq(prop, value, operator="BOGUS")),
        http.post(f"{v3}/search", json=_eq("credit_limit", bad, operator="GT")),
        http.post(
            f"{v3}/batch/read",
            json={"inputs": [{"id": value}], "idProperty": prop, "properties": ["ext_key"]},
        ),
    ):
        w.check(c, response, NEVER)
    # A unique sensitive value another record holds: the clash names neither the value nor,
    # unless the caller may read it, the holder (policy.may_name_holder).
    taken = {"national_id": w.unique[kind]}
    for response in (
        http.post(v3, json={"properties": {**_base(kind), **taken}}),
        http.post(
            f"{v3}/batch/create", json={"inputs": [{"properties": {**_base(kind), **taken}}]}
        ),
    ):
        assert response.status_code == (400 if (S, "write") in c.grants else 403), response.text
        w.check(c, response, NEVER)
        if (S, "write") in c.grants and (S, "read") not in c.grants:
            message = response.json()["message"]
            assert f"{rid} already has" not in message, (c.name, response.text)
            assert "Another record already has that value" in message, (c.name, response.text)


def _associations(w: World, c: Caller, kind: str) -> None:
    """v4 association reads and writes carry ids and types, never a value."""
    t, rid = w.types[kind], w.records[kind]
    other = "companies" if kind == "contacts" else "contacts"
    to = w.records[other]
    http = c.http
    for response in (
        http.put(f"/crm/v4/objects/{t}/{rid}/associations/default/{other}/{to}"),
        http.get(f"/crm/v4/objects/{t}/{rid}/associations/{other}"),
        http.get(f"/crm/objects/2026-03/{t}/{rid}/associations/{other}"),
        http.post(f"/crm/v4/associations/{t}/{other}/batch/read", json={"inputs": [{"id": rid}]}),
        http.post(
            f"/crm/v4/associations/{t}/{other}/batch/associate/default",
            json={"inputs": [{"from": {"id": rid}, "to": {"id": to}}]},
        ),
        http.get(f"/crm/v3/objects/{t}/{rid}", params={"associations": other}),
    ):
        assert response.status_code in (200, 201, 204), (
            c.name,
            response.request.url,
            response.text,
        )
        w.check(c, response, NEVER)


def _merge(w: World, c: Caller, kind: str) -> None:
    """Merging moves values the merged record has; its answer names no property, so it shows
    none. It needs the write scope of every level involved."""
    t = w.types[kind]
    ids = []
    with http_client(w.server, w.owner) as owner:
        for _ in range(2):
            values = {p: w.new(kind, level) for p, level in PROPS.items()}
            made = owner.post(
                f"/crm/v3/objects/{t}", json={"properties": {**_base(kind), **values}}
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    merged = c.http.post(
        f"/crm/v3/objects/{t}/merge", json={"primaryObjectId": ids[0], "objectIdToMerge": ids[1]}
    )
    writes_both = {(S, "write"), (H, "write")} <= c.grants
    assert merged.status_code == (200 if writes_both else 403), (c.name, kind, merged.text)
    w.check(c, merged, NEVER)


def _legacy(w: World, c: Caller) -> None:
    """Legacy reads hide sensitive values and legacy writes drop them (B8); legacy search
    refuses tokens with a sensitive scope on the object (B9) and never reads values."""
    http = c.http
    vid, email = w.records["contacts"], w.emails["contacts"]
    company, deal = w.records["companies"], w.records["deals"]
    props = [("property", p) for p in PROPS]

    def dropped(kind: str, key: str, **more: str) -> dict:
        values = {**more, **{p: w.new(kind, level, "DROPPED") for p, level in PROPS.items()}}
        w.dropped.update(v for p, v in values.items() if p in PROPS)
        return {"properties": [{key: k, "value": v} for k, v in values.items()]}

    sensitive_on = {level for level, _ in c.grants}
    search_status = 403 if sensitive_on else 200
    for response, status in (
        (http.get(f"/contacts/v1/contact/vid/{vid}/profile"), 200),
        (http.get(f"/contacts/v1/contact/email/{email}/profile"), 200),
        (http.get("/contacts/v1/contact/vids/batch/", params=[("vid", vid), *props]), 200),
        (http.get("/contacts/v1/contact/emails/batch/", params=[("email", email), *props]), 200),
        (http.get("/contacts/v1/lists/all/contacts/all", params=[*props, ("count", 100)]), 200),
        (http.get("/contacts/v1/lists/recently_updated/contacts/recent", params=props), 200),
        (
            http.post(
                "/contacts/v1/contact",
                json=dropped("contacts", "property", email=f"v1{next(_serial)}@example.org"),
            ),
            200,
        ),
        (
            http.post(
                f"/contacts/v1/contact/vid/{vid}/profile", json=dropped("contacts", "property")
            ),
            204,
        ),
        (
            http.post(
                f"/contacts/v1/contact/email/{email}/profile", json=dropped("contacts", "property")
            ),
            204,
        ),
        (
            http.post(
                f"/contacts/v1/contact/createOrUpdate/email/{email}",
                json=dropped("contacts", "property"),
            ),
            200,
        ),
        (
            http.get(
                "/contacts/v1/search/query", params={"q": w.values[("contacts", "passport_number")]}
            ),
            search_status,
        ),
        (http.get("/contacts/v1/search/query", params={"q": "example.org"}), search_status),
        (http.get(f"/companies/v2/companies/{company}"), 200),
        (
            http.post(
                "/companies/v2/companies",
                json=dropped(
                    "companies", "name", name="Legacy", domain=f"v2{next(_serial)}.example"
                ),
            ),
            200,
        ),
        (http.put(f"/companies/v2/companies/{company}", json=dropped("companies", "name")), 200),
        (
            http.post(
                f"/companies/v2/domains/{w.emails['companies']}/companies",
                json={"limit": 10, "requestOptions": {"properties": ["name", *PROPS]}},
            ),
            search_status,
        ),
        (http.get(f"/deals/v1/deal/{deal}"), 200),
        (
            http.post(
                "/deals/v1/deal",
                json={"associations": {}, **dropped("deals", "name", dealname="Legacy")},
            ),
            200,
        ),
        (http.put(f"/deals/v1/deal/{deal}", json=dropped("deals", "name")), 200),
    ):
        assert response.status_code == status, (c.name, response.request.url, response.text)
        w.check(
            c,
            response,
            NEVER,
            echoed="query" if "search/query" in response.request.url.path else None,
        )


def _forms(w: World, c: Caller, form_id: str) -> None:
    """Only the secure endpoint takes sensitive values, with the submitter's write scope of
    their level; no submit answer, error or submission read carries one."""
    http = c.http
    hub = w.owner.hub_id
    passport, diagnosis = w.new("contacts", S, "FORM"), w.new("contacts", H, "FORM")

    def email() -> str:
        return f"form{next(_serial)}@example.org"

    for response, status in (
        (
            http.post(
                secure_path(hub, form_id),
                json={"fields": fields(email=email(), passport_number=passport)},
            ),
            200 if (S, "write") in c.grants else 403,
        ),
        (
            http.post(
                secure_path(hub, form_id),
                json={"fields": fields(email=email(), diagnosis=diagnosis)},
            ),
            200 if (H, "write") in c.grants else 403,
        ),
        (
            http.post(
                secure_path(hub, form_id),
                json={"fields": fields(email="nope", passport_number=passport)},
            ),
            None,
        ),
        (
            http.post(secure_path(hub, form_id), json={"fields": fields(passport_number=passport)}),
            None,
        ),
        (
            httpx.post(
                w.server.url + open_path(hub, form_id),
                json={"fields": fields(email=email(), passport_number=passport)},
            ),
            403,
        ),
        (
            httpx.post(
                w.server.url + open_path(hub, form_id),
                json={"fields": fields(email="nope", diagnosis=diagnosis)},
            ),
            None,
        ),
        (http.get(f"/form-integrations/v1/submissions/forms/{form_id}"), 200),
        (http.get(f"/marketing/v3/forms/{form_id}"), 200),
    ):
        if status is not None:
            assert response.status_code == status, (c.name, response.request.url, response.text)
        else:
            assert 400 <= response.status_code < 500, (c.name, response.request.url, response.text)
        w.check(c, response, NEVER)


def _webhooks(w: World, c: Caller, subscription_id: str) -> None:
    """Webhook management and the control plane's outbox and deliveries: never a value."""
    http = c.http
    base = f"/webhooks/v3/{c.app.app_id}"
    refused = http.post(
        f"{base}/subscriptions",
        json={"eventType": "contact.propertyChange", "propertyName": "diagnosis", "active": True},
    )
    assert refused.status_code == 400, refused.text  # highly sensitive: no events (B7)
    for response in (
        refused,
        http.get(f"{base}/settings"),
        http.get(f"{base}/subscriptions"),
        http.get(f"{base}/subscriptions/{subscription_id}"),
        http.get(f"/webhooks/2026-03/{c.app.app_id}/subscriptions"),
        w.server.admin.get(f"/localspot/v1/webhooks/private-apps/{c.app.app_id}/events"),
        w.server.admin.get(f"/localspot/v1/webhooks/private-apps/{c.app.app_id}/deliveries"),
    ):
        w.check(c, response, NEVER)


def _oauth_info(w: World, c: Caller) -> None:
    for response in (
        httpx.get(f"{w.server.url}/oauth/v1/access-tokens/{c.app.token}"),
        httpx.get(f"{w.server.url}/oauth/v1/refresh-tokens/{c.app.token}"),
    ):
        w.check(c, response, NEVER)


def test_canaries_show_only_to_callers_who_may_read_them(
    server: LocalSpotServer, receiver: Receiver
) -> None:
    owner = server.new_app(all_scopes())
    w = _plant(server, owner)
    watched = [
        {"eventType": f"{o}.propertyChange", "propertyName": "passport_number"}
        for o in ("contact", "company", "deal", "ticket")
    ]
    wire(server, owner, receiver.url, watched)
    with http_client(server, owner) as http:
        form = http.post(
            "/marketing/v3/forms",
            json=form_body(
                form_field("email", "email", required=True),
                form_field("passport_number"),
                form_field("diagnosis"),
            ),
        )
        assert form.status_code == 201, form.text
    form_id = form.json()["id"]

    callers = []
    for name, grants in SCOPE_SETS.items():
        app = server.new_app(_scopes(grants), hub_id=owner.hub_id)
        _, (subscription,) = wire(server, app, receiver.url, watched[:1])
        callers.append(Caller(name, grants, app, http_client(server, app)))
    # A public app's OAuth token is a caller too, and the token info routes show no value.
    public = new_public_app(
        server, ["crm.objects.contacts.read", "crm.objects.contacts.sensitive.read"]
    )
    _, email = new_user(server, hub_id=owner.hub_id)
    code = install(server, public, email, public.raw["requiredScopes"])
    tokens = exchange(server, public, code).json()
    oauth = Caller(
        "oauth sensitive read",
        frozenset({(S, "read")}),
        App(owner.hub_id, public.id, tokens["access_token"], []),
        httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=30,
        ),
    )
    try:
        for c in callers:
            _webhooks(w, c, subscription)
            _oauth_info(w, c)
            for kind in KINDS:
                for prop in PROPS:
                    _v3_reads(w, c, kind, prop)
                    _v3_writes(w, c, kind, prop)
                    _v3_errors(w, c, kind, prop)
                _associations(w, c, kind)
                _merge(w, c, kind)
            _legacy(w, c)
            _forms(w, c, form_id)
        _v3_reads(w, oauth, "contacts", "passport_number")
        for token in (tokens["access_token"], tokens["refresh_token"]):
            for path in ("access-tokens", "refresh-tokens"):
                w.check(oauth, httpx.get(f"{server.url}/oauth/v1/{path}/{token}"), NEVER)
    finally:
        for c in [*callers, oauth]:
            c.http.close()

    # Legacy writes dropped their values: not even the owner reads them back.
    with http_client(server, owner) as http:
        for kind in ("contacts", "companies", "deals"):
            listed = http.get(
                f"/crm/v3/objects/{kind}", params={"properties": ",".join(PROPS), "limit": 100}
            )
            assert listed.status_code == 200, listed.text
            assert leakcheck.scan_text("legacy writes", listed.text, w.dropped) == []

    # The outbox, its deliveries and the audit trail, through the control plane.
    receiver.wait_for(lambda r: any(e.get("propertyValue") == "REDACTED" for e in r.events()))
    admin = Caller("control plane", frozenset(), owner, server.admin)
    delivered = server.admin.get(f"/localspot/v1/webhooks/private-apps/{owner.app_id}/deliveries")
    for response in (
        delivered,
        *(
            server.admin.get(f"/localspot/v1/webhooks/deliveries/{d['id']}")
            for d in delivered.json()["results"][:3]
        ),
        server.admin.get(f"/localspot/v1/webhooks/private-apps/{owner.app_id}/events"),
        server.admin.get("/localspot/v1/audit", params={"hubId": owner.hub_id, "format": "jsonl"}),
        server.admin.get("/localspot/v1/audit", params={"hubId": owner.hub_id}),
        server.admin.get("/localspot/v1/audit", params={"property": "passport_number"}),
        server.admin.get("/localspot/v1/audit/verify"),
        server.admin.get(f"/localspot/v1/accounts/{owner.hub_id}/forms/{form_id}/submissions"),
    ):
        assert response.status_code == 200, (response.request.url, response.text)
        w.check(admin, response, NEVER)
    payloads = b"".join(r.body for r in receiver.requests).decode()
    assert leakcheck.scan_text("webhook payloads", payloads, w.known) == []
    time.sleep(0.3)  # the server's last log lines
    assert leakcheck.scan_everywhere(server, w.known) == []
    assert all(c.checked > 300 for c in callers), [(c.name, c.checked) for c in callers]


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
