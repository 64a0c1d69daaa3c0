"""Search latency on a large store: HTTP p50/p99 against the same search as raw SQL.

    .venv/bin/python bench/search.py [--data DIR] 100000 [1000000 ...]

Starts a server on SQLite (or LOCALSPOT_DATABASE_URL), seeds N contacts with 20 properties
(2 sensitive) in-process through record_store -- the same sealing, blind indexes, terms and
history as API writes, in large transactions -- then times five searches over HTTP, the same
searches in-process (domain call, no HTTP), the compiled SQL alone, and a hand-written SQL
equivalent of each (page and total), and prints the ratios.

Columns: ``HTTP p50/p99`` is the round trip seen by an httpx client on the same machine (its
own Python costs count too); ``srv CPU`` is the server process's CPU time per request (user
and system, from /proc), the cost of one search with no client or scheduling in it;
``domain`` is search.search called in-process; ``compiled`` is the page and count queries
search runs, alone; ``raw SQL`` is the page and total written by hand the way one would
against the same tables and indexes. The ratios are HTTP p50 / raw, server CPU / raw and
compiled / raw. Where wrk is installed, ``wrk p50/p99`` time one of the bodies again and
again from one wrk connection, and ``wrk/raw`` is that p50 over the hand-written SQL's: the
server's latency without the Python client's own. The last line, the floor, is the same
client reading one property definition: what any request costs before the search itself.

Seeding a million contacts takes many minutes: ``--data DIR`` (SQLite only) serves DIR and
keeps it, seeding only the contacts it does not hold yet, so later runs reuse them. A later
run also migrates DIR to the current schema, as a server upgrade would.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    cpu_seconds,
    has_wrk,
    measure_wrk,
    rss_mb,
    throwaway_schema,
)
from localspot.domain import (
    accounts,
    object_types,
    property_lookup,
    record_store,
    search,
    search_run,
)
from localspot.domain.record_store import Change, Source
from localspot.domain.search_request import parse
from localspot.domain.values import Stored, check
from localspot.policy import is_protected
from localspot.runtime import Runtime
from localspot.scopes import all_scopes
from localspot.settings import Settings
from localspot.store import query_terms
from localspot.testing import LocalSpotServer

BATCH = 5000
RUNS = 60
FIRST = [f"{a}{b}" for a in ("Ana", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal") for b in
         ("", "ra", "lin", "mar", "dy", "son", "va", "ric", "tte", "n", "lo", "mi")]  # fmt: skip
LAST = [f"{a}{b}" for a in ("Smith", "Ruiz", "Lee", "Khan", "Novak", "Berg", "Costa", "Dube")
        for b in ("", "er", "man", "ova", "ini", "sen", "ez", "o", "ski", "ton")]  # fmt: skip
CITIES = ["Lyon", "Porto", "Oslo", "Cork", "Graz", "Turin", "Ghent", "Bern", "Split", "Brno"]
CUSTOM = [
    ("b_score", "number", "number", [], "non_sensitive"),
    ("b_signup", "date", "date", [], "non_sensitive"),
    ("b_seen", "datetime", "date", [], "non_sensitive"),
    ("b_tier", "enumeration", "select", ["free", "pro", "team", "corp"], "non_sensitive"),
    ("b_tags", "enumeration", "checkbox", ["a", "b", "c", "d", "e"], "non_sensitive"),
    ("b_active", "bool", "booleancheckbox", ["true", "false"], "non_sensitive"),
    ("b_notes", "string", "textarea", [], "non_sensitive"),
    ("b_plan", "string", "text", [], "non_sensitive"),
    ("b_ssn", "string", "text", [], "sensitive"),
    ("b_salary", "number", "number", [], "sensitive"),
]
START = date(2020, 1, 1)


def contact(i: int, rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    day = START + timedelta(days=rng.randrange(5 * 365))
    return {
        "email": f"{first.lower()}.{last.lower()}{i}@ex{i % 97}.org",
        "firstname": first,
        "lastname": last,
        "phone": f"+1 555 {i:07d}",
        "company": f"{rng.choice(LAST)} {rng.choice(['Ltd', 'Inc', 'GmbH'])}",
        "city": rng.choice(CITIES),
        "state": rng.choice(["North", "South", "East", "West"]),
        "country": rng.choice(["FR", "PT", "NO", "IE", "AT"]),
        "jobtitle": rng.choice(["Engineer", "Manager", "Nurse", "Chef"]),
        "zip": f"{rng.randrange(10000, 99999)}",
        "b_score": str(rng.randrange(1000)),
        "b_signup": day.isoformat(),
        "b_seen": str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000) + i * 1000),
        "b_tier": rng.choice(["free", "pro", "team", "corp"]),
        "b_tags": ";".join(rng.sample(["a", "b", "c", "d", "e"], 2)),
        "b_active": rng.choice(["true", "false"]),
        "b_notes": f"note {rng.randrange(10**6)} about {rng.choice(CITIES)}",
        "b_plan": rng.choice(["monthly", "yearly"]),
        "b_ssn": f"{i:03d}-{rng.randrange(100):02d}-{rng.randrange(10**4):04d}",
        "b_salary": str(rng.randrange(20_000, 200_000)),
    }


def setup(server: LocalSpotServer) -> tuple[httpx.Client, int]:
    app = server.new_app(all_scopes())
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {app.token}"}, timeout=120
    )
    for name, type_, field, options, level in CUSTOM:
        response = client.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": type_,
                "fieldType": field,
                "groupName": "contactinformation",
                "dataSensitivity": level,
                "options": [{"label": o, "value": o} for o in options],
            },
        )
        assert response.status_code == 201, response.text
    return client, app.hub_id


def seed(rt: Runtime, hub_id: int, first: int, count: int, rng: random.Random) -> None:
    source = Source("IMPORT", None)
    with rt.store.read() as conn:
        contacts = object_types.resolve(conn, hub_id, "contacts")
        defs = property_lookup.definitions_by_name(conn, hub_id, contacts)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        n = min(BATCH, count - start)
        rows = [contact(first + start + k, rng) for k in range(n)]
        with rt.store.write() as conn:
            ids = record_store.new_records(conn, hub_id, contacts, rt.clock.millis(), n, source)
            changes = []
            for record_id, props in zip(ids, rows, strict=True):
                for name, value in props.items():
                    d = defs[name]
                    stored = check(d, value, None, is_protected(d.data_sensitivity))
                    assert isinstance(stored, Stored), (name, value)
                    changes.append(Change(record_id, d, None, stored))
            record_store.write_changes(
                conn, rt.protector, hub_id, contacts, changes, rt.clock.millis(), source
            )
        done = start + n
        if done % 50_000 == 0 or done == count:
            rate = done / (time.perf_counter() - started)
            print(f"  seeded {done:,} contacts ({rate:,.0f}/s)", flush=True)
    with rt.store.write() as conn:
        if rt.store.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def _filter(name: str, op: str, value: str | None = None, high: str | None = None) -> Any:
    f: dict[str, Any] = {"propertyName": name, "operator": op}
    if value is not None:
        f["value"] = value
    if high is not None:
        f["highValue"] = high
    return {"filterGroups": [{"filters": [f]}]}


def cases(rng: random.Random) -> dict[str, Callable[[], dict[str, Any]]]:
    def token() -> dict[str, Any]:
        return _filter("firstname", "CONTAINS_TOKEN", rng.choice(FIRST).lower())

    def range_sort() -> dict[str, Any]:
        low = START + timedelta(days=rng.randrange(5 * 365 - 30))
        body = _filter(
            "b_signup", "BETWEEN", low.isoformat(), (low + timedelta(days=7)).isoformat()
        )
        body["sorts"] = [{"propertyName": "b_signup", "direction": "DESCENDING"}]
        body["limit"] = 100
        return body

    def query() -> dict[str, Any]:
        return {"query": rng.choice(LAST).lower()[:4]}

    # The two equalities take existing values, read from the store in ``measure``.
    return {
        "EQ email": dict,
        "EQ sensitive": dict,
        "CONTAINS_TOKEN name": token,
        "date range+sort, limit 100": range_sort,
        "free-text query": query,
    }


def raw_sql(rt: Runtime, hub_id: int, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A hand-written query for the same page and total, with the same indexes."""
    with rt.store.read() as conn:
        contacts = object_types.resolve(conn, hub_id, "contacts")
        defs = property_lookup.definitions_by_name(conn, hub_id, contacts)
    base = (
        "r.hub_id = :hub AND r.object_type_id = '0-1' AND r.archived = false "
        "AND r.merged_into IS NULL"
    )
    params: dict[str, Any] = {"hub": hub_id}
    if "query" in body:
        # The free-text index: records in id order probed for the word, and a count of each
        # record's first term in the range (what query_terms.prev_term is for).
        params |= {"lo": body["query"], "hi": body["query"] + "\U0010ffff"}
        probe = (
            "EXISTS (SELECT 1 FROM query_terms q WHERE q.record_id = r.id "
            "AND q.term >= :lo AND q.term < :hi)"
        )
        page = f"SELECT r.* FROM records r WHERE {base} AND {probe} ORDER BY r.id LIMIT 10"
        if len(body["query"]) <= query_terms.COUNTED_PREFIX:
            # Short words have their totals counted as records are written.
            total = (
                "SELECT SUM(records) FROM query_prefix_counts WHERE hub_id = :hub "
                "AND object_type_id = '0-1' AND prefix = :lo"
            )
        else:
            total = (
                "SELECT count(*) FROM query_terms WHERE hub_id = :hub AND object_type_id = '0-1' "
                "AND term >= :lo AND term < :hi AND (prev_term IS NULL OR prev_term < :lo)"
            )
        return page + ";" + total, params
    else:
        f = body["filterGroups"][0]["filters"][0]
        d = defs[f["propertyName"]]
        params["p"] = d.id
        if f["operator"] == "CONTAINS_TOKEN":
            # A string's whole-value term is its value_norm, not a record_terms row.
            sub = (
                "SELECT record_id FROM record_terms WHERE property_id = :p AND term = :v "
                "UNION ALL SELECT record_id FROM record_values WHERE property_id = :p "
                "AND value_norm = :v"
            )
            params["v"] = f["value"]
        elif f["propertyName"] == "b_ssn":
            sub = "SELECT record_id FROM record_values WHERE property_id = :p AND value_bidx = :v"
            params["v"] = rt.protector.blind_index(hub_id, "0-1", "b_ssn", f["value"].lower())
        elif f["operator"] == "EQ":
            sub = "SELECT record_id FROM record_values WHERE property_id = :p AND value_norm = :v"
            params["v"] = f["value"].lower()
        else:
            sub = (
                "SELECT record_id FROM record_values WHERE property_id = :p "
                "AND value_num BETWEEN :lo AND :hi"
            )
            params["lo"] = _day_ms(f["value"])
            params["hi"] = _day_ms(f["highValue"])
        order, join, limit = "r.id", "", body.get("limit", 10)
        if "sorts" in body:
            # Every hit has the sorted value: join it and let the range walk its index.
            page = (
                "SELECT r.* FROM record_values s JOIN records r ON r.id = s.record_id "
                f"WHERE s.property_id = :p AND s.value_num BETWEEN :lo AND :hi AND {base} "
                f"ORDER BY s.value_num DESC, r.id LIMIT {limit}"
            )
            total = f"SELECT count(*) FROM records r WHERE r.id IN ({sub}) AND {base}"
            return page + ";" + total, params
    page = (
        f"SELECT r.* FROM records r {join} WHERE r.id IN ({sub}) AND {base} "
        f"ORDER BY {order} LIMIT {limit}"
    )
    total = f"SELECT count(*) FROM records r WHERE r.id IN ({sub}) AND {base}"
    return page + ";" + total, params


def _day_ms(iso: str) -> float:
    day = date.fromisoformat(iso)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000


def _pct(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(
    rt: Runtime,
    client: httpx.Client,
    server: LocalSpotServer,
    hub_id: int,
    count: int,
    caller: Any,
) -> None:
    server_pid = server.pid
    rng = random.Random(7)
    sqlite = rt.store.is_sqlite
    print(f"\n{count:,} contacts ({'SQLite' if sqlite else 'PostgreSQL'}), {RUNS} runs each, ms:")
    print(
        "(srv CPU: the server's CPU per request; ratios: HTTP p50, server CPU and compiled SQL, "
        "each over the hand-written SQL's time; issue #4 wants each under 3)"
    )
    print(
        f"{'search':28} {'HTTP p50':>9} {'HTTP p99':>9} {'srv CPU':>8} {'domain':>8} "
        f"{'compiled':>9} {'raw SQL':>8} {'HTTP/raw':>9} {'CPU/raw':>8} {'SQL/raw':>8}"
        + (f" {'wrk p50':>8} {'wrk p99':>8} {'wrk/raw':>8}" if has_wrk() else "")
    )
    for label, make in cases(rng).items():
        bodies = [make() for _ in range(RUNS)]
        if label == "EQ email":
            bodies = [_filter("email", "EQ", _email_of(rt, hub_id, rng)) for _ in range(RUNS)]
        if label == "EQ sensitive":
            bodies = [_filter("b_ssn", "EQ", _ssn_of(rt, hub_id, rng)) for _ in range(RUNS)]
        http_ms, cpu_ms, domain_ms, compiled_ms, raw_ms = [], [], [], [], []
        totals = []
        for body in bodies:
            cpu = cpu_seconds(server_pid)
            t = time.perf_counter()
            response = client.post("/crm/v3/objects/contacts/search", json=body)
            http_ms.append((time.perf_counter() - t) * 1000)
            cpu_ms.append((cpu_seconds(server_pid) - cpu) * 1000)
            assert response.status_code == 200, response.text
            totals.append(response.json()["total"])
            t = time.perf_counter()
            search.search(rt, caller, "contacts", body)
            domain_ms.append((time.perf_counter() - t) * 1000)
            compiled_ms.append(_compiled(rt, caller, body))
            statements, params = raw_sql(rt, hub_id, body)
            t = time.perf_counter()
            with rt.store.read() as conn:
                for statement in statements.split(";"):
                    conn.execute(text(statement), params).all()
            raw_ms.append((time.perf_counter() - t) * 1000)
        p50, p99 = _pct(http_ms)
        raw = statistics.median(raw_ms)
        compiled = statistics.median(compiled_ms)
        # /proc counts 10 ms ticks: the mean over the runs, not a median of mostly zeros.
        cpu = statistics.fmean(cpu_ms)
        line = (
            f"{label:28} {p50:9.2f} {p99:9.2f} {cpu:8.2f} {statistics.median(domain_ms):8.2f} "
            f"{compiled:9.2f} {raw:8.2f} {p50 / raw:9.1f} {cpu / raw:8.1f} {compiled / raw:8.2f}"
        )
        if has_wrk():
            # One client, one body again and again: the server's latency without the Python
            # client's own (about 0.3 ms a request), which HTTP p50 includes.
            token = client.headers["authorization"].split()[1]
            caller_app = SimpleNamespace(token=token)
            body = json.dumps(bodies[0])
            w = measure_wrk(server, caller_app, "/crm/v3/objects/contacts/search", 1, 3, body)
            line += f" {w['p50_ms']:8.2f} {w['p99_ms']:8.2f} {w['p50_ms'] / raw:8.1f}"
        print(line + f"   (median total {int(statistics.median(totals)):,})")
    # What any request costs this client and the HTTP stack: the floor under HTTP p50.
    floor = []
    for _ in range(RUNS * 5):
        t = time.perf_counter()
        client.get("/crm/v3/properties/contacts/email")
        floor.append((time.perf_counter() - t) * 1000)
    print(
        f"floor: reading one property definition (no search) over HTTP, p50 "
        f"{statistics.median(floor):.2f} ms"
    )
    print(f"server RSS with {count:,} contacts stored: {rss_mb(server_pid):.0f} MB")


def _compiled(rt: Runtime, caller: Any, body: dict[str, Any]) -> float:
    """The page and count statements alone, run as search runs them (``search_run``)."""
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        request = parse(body, rt.settings)
        definitions = property_lookup.definitions_by_name(conn, caller.hub_id, object_type)
        compiled = search._compile(rt, caller, object_type, request, definitions)
        plan = search._with_query(conn, caller, object_type, request, compiled.plan)
        t = time.perf_counter()
        search_run.in_store(rt, conn, plan, 0, request.limit)
        return (time.perf_counter() - t) * 1000


def _one_value(rt: Runtime, hub_id: int, name: str, rng: random.Random) -> tuple[int, Any]:
    with rt.store.read() as conn:
        top = conn.execute(
            text("SELECT max(id) FROM records WHERE hub_id = :h"), {"h": hub_id}
        ).scalar_one()
        low = conn.execute(
            text("SELECT min(id) FROM records WHERE hub_id = :h"), {"h": hub_id}
        ).scalar_one()
        record_id = rng.randint(low, top)
        contacts = object_types.resolve(conn, hub_id, "contacts")
        d = property_lookup.definitions_by_name(conn, hub_id, contacts, [name])[name]
        values = record_store.load_values(conn, rt.protector, hub_id, contacts, [record_id], [d])
        return record_id, values[record_id][name]


def _email_of(rt: Runtime, hub_id: int, rng: random.Random) -> str:
    return str(_one_value(rt, hub_id, "email", rng)[1])


def _ssn_of(rt: Runtime, hub_id: int, rng: random.Random) -> str:
    return str(_one_value(rt, hub_id, "b_ssn", rng)[1])


def main(sizes: list[int], data_dir: Path | None) -> None:
    # Request log lines cost time that is not search's.
    os.environ.setdefault("LOCALSPOT_LOG_LEVEL", "WARNING")
    database_url = os.environ.get("LOCALSPOT_DATABASE_URL", "")
    if data_dir is not None:
        if database_url:
            sys.exit("--data keeps an SQLite folder; unset LOCALSPOT_DATABASE_URL")
        data_dir.mkdir(parents=True, exist_ok=True)
    state_path = data_dir / "bench-search.json" if data_dir is not None else None
    state = json.loads(state_path.read_text()) if state_path and state_path.exists() else None
    with (
        throwaway_schema(database_url) as database_url,
        LocalSpotServer(database_url, startup_timeout=600, data_dir=data_dir) as server,
    ):
        if state is None:
            client, hub_id = setup(server)
            token = client.headers["authorization"].split()[1]
            state = {"hub_id": hub_id, "token": token, "seeded": 0}
        else:
            hub_id, token = state["hub_id"], state["token"]
            client = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
            )
        rt = Runtime.open(Settings(data_dir=server.data_dir, database_url=database_url))
        with rt.store.read() as conn:
            caller = accounts.authenticate(conn, token, rt.clock)
        rng = random.Random(1 + state["seeded"])
        for size in sorted(sizes):
            if size > state["seeded"]:
                print(f"seeding up to {size:,} contacts", flush=True)
                seed(rt, hub_id, state["seeded"], size - state["seeded"], rng)
                state["seeded"] = size
                if state_path is not None:
                    state_path.write_text(json.dumps(state))
            elif size < state["seeded"]:
                print(f"the data folder holds {state['seeded']:,} contacts, not {size:,}")
            measure(rt, client, server, hub_id, max(size, state["seeded"]), caller)
        rt.close()


def _arguments(argv: list[str]) -> tuple[list[int], Path | None]:
    data_dir = None
    if "--data" in argv:
        at = argv.index("--data")
        data_dir = Path(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    return [int(a) for a in argv] or [100_000], data_dir


if __name__ == "__main__":
    main(*_arguments(sys.argv[1:]))
