"""The cost of protection: seal/open throughput and key rotation speed, on SQLite.

    .venv/bin/python -m bench.protection [--values 200000] [--api-only]

Values are seeded in-process straight into record_values and record_history through the
Protector (as the Records domain writes them), then a rotation re-encrypts them all. The API
ratios of issue #9 (GET and batch create with 2 sensitive properties versus 2 plain ones,
sensitive EQ search versus plain EQ when search is present) run over HTTP against a server.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, insert, select

from bench import common
from localspot import scopes as sc
from localspot.domain import admin, keys, properties
from localspot.policy import Caller
from localspot.protection import ValueRef
from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.store.schema import record_history, record_values, records

TARGET_ROTATION_PER_SECOND = 20_000
CONTACTS = "0-1"


@dataclass
class Seeded:
    hub_id: int
    property_ids: dict[str, int]
    record_ids: list[int]
    # (record id, property name) -> current plaintext, for checks after a rotation.
    expected: dict[tuple[int, str], str]


def sensitive_properties(rt: Runtime, hub_id: int, names: list[str]) -> dict[str, int]:
    """Creates sensitive string properties on contacts through the domain; name -> id."""
    caller = Caller(hub_id, "enterprise", sc.canonical_set(sc.all_scopes()))
    made = {}
    for name in names:
        body = properties.PropertyCreate.model_validate(
            {
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "dataSensitivity": "sensitive",
            }
        )
        made[name] = properties.create_property(rt, caller, "contacts", body).id
    return made


def seed(
    rt: Runtime,
    hub_id: int,
    property_ids: dict[str, int],
    n_records: int,
    history: bool = True,
    value: str | None = None,
    batch: int = 5000,
) -> Seeded:
    """Records with a sealed value (and history entry) per property, written as Records would."""
    now = rt.clock.millis()
    protector = rt.protector
    seeded = Seeded(hub_id, property_ids, [], {})
    with rt.store.write() as conn:
        first = (conn.scalar(select(func.max(records.c.id))) or 0) + 1
    for start in range(first, first + n_records, batch):
        ids = list(range(start, min(start + batch, first + n_records)))
        rows, vals, hist = [], [], []
        for record_id in ids:
            rows.append(
                {
                    "id": record_id,
                    "hub_id": hub_id,
                    "object_type_id": CONTACTS,
                    "created_ms": now,
                    "updated_ms": now,
                    "archived": False,
                }
            )
            for name, property_id in property_ids.items():
                plain = value if value is not None else f"P{record_id}-{secrets.token_hex(6)}"
                ref = ValueRef(hub_id, CONTACTS, record_id, name)
                sealed = protector.seal(ref, plain)
                bidx = protector.blind_index(hub_id, CONTACTS, name, plain.lower())
                vals.append(
                    {
                        "record_id": record_id,
                        "property_id": property_id,
                        "value_ct": sealed,
                        "value_bidx": bidx,
                        "updated_ms": now,
                    }
                )
                if history:
                    hist.append(
                        {
                            "record_id": record_id,
                            "property_id": property_id,
                            "value_ct": protector.seal(ref, plain),
                            "timestamp_ms": now,
                            "source_type": "API",
                        }
                    )
                if len(seeded.expected) < 50_000:
                    seeded.expected[(record_id, name)] = plain
        with rt.store.write() as conn:
            conn.execute(insert(records), rows)
            conn.execute(insert(record_values), vals)
            if hist:
                conn.execute(insert(record_history), hist)
        seeded.record_ids += ids
    return seeded


def open_runtime(data_dir: Path) -> tuple[Runtime, int]:
    # One process: nothing else seals under the old key, so no settling time is needed.
    rt = Runtime.open(Settings(data_dir=data_dir, database_url="", rotation_settle_seconds=0))
    made = admin.bootstrap_if_empty(rt)
    assert made is not None
    return rt, made.hub_id


def bench_seal_open(rt: Runtime, n: int = 50_000) -> tuple[float, float]:
    protector = rt.protector
    refs = [ValueRef(1, CONTACTS, i, "passport_number") for i in range(n)]
    started = time.perf_counter()
    sealed = [protector.seal(ref, "X1234567-passport") for ref in refs]
    seal_rate = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for ref, envelope in zip(refs, sealed, strict=True):
        protector.open(ref, envelope)
    return seal_rate, n / (time.perf_counter() - started)


def bench_rotation(rt: Runtime, hub_id: int, n_values: int) -> tuple[int, float]:
    names = ["passport_number", "health_note"]
    ids = sensitive_properties(rt, hub_id, names)
    # Each record holds one value per property and one history entry per value.
    per_record = 2 * len(names)
    started = time.perf_counter()
    seed(rt, hub_id, ids, n_values // per_record)
    print(f"seeded {n_values} sealed values in {time.perf_counter() - started:.1f} s")
    keys.rotate(rt)
    started = time.perf_counter()
    progress = keys.run(rt)
    seconds = time.perf_counter() - started
    assert progress.done, progress
    assert keys.status(rt)["valuesUnderOldKeys"] == 0
    return progress.resealed, seconds


TARGET_RATIO = 1.3
# Ten properties per contact: eight plain defaults, then two that are sensitive or not.
_COMMON = ("email", "firstname", "lastname", "phone", "city", "country", "jobtitle", "company")
_SENSITIVE = ("bench_sensitive_a", "bench_sensitive_b")
_PLAIN = ("bench_plain_a", "bench_plain_b")


def _contacts(start: int, count: int, extra: tuple[str, ...]) -> list[dict[str, object]]:
    inputs = []
    for i in range(start, start + count):
        props = {name: f"{name}-{i}" for name in _COMMON}
        props["email"] = f"c{i}@ratio.example"
        props.update({name: f"X{i:09d}" for name in extra})
        inputs.append({"properties": props})
    return inputs


def _ratio_line(label: str, sensitive: float, plain: float, unit: str) -> str:
    ratio = sensitive / plain
    verdict = "OK" if ratio < TARGET_RATIO else "OVER TARGET"
    return (
        f"{label:<34} sensitive {sensitive:8.3f} {unit}  plain {plain:8.3f} {unit}  "
        f"ratio {ratio:5.2f} ({verdict})"
    )


def api_ratios(rounds: int = 5) -> None:
    """GET / batch create / EQ search with sensitive properties versus plain ones, over HTTP.

    Each pair runs in alternating rounds and keeps each side's best, so a burst of load from
    other processes skews one round, not the ratio. Server CPU per request (from /proc) is
    the figure least disturbed by a shared machine; wall-clock figures come with it.
    """
    from localspot.app import _routes

    paths = {getattr(r, "path", "") for r in _routes()}
    if "/crm/v3/objects/{objectType}" not in paths:
        print("API ratios: skipped: records API not present")
        return
    has_search = "/crm/v3/objects/{objectType}/search" in paths
    server, app = common.start_server()
    print(f"API ratios over HTTP on SQLite (load average {common.load_average()})")
    try:
        with common.client(server, app) as http:
            for name in (*_SENSITIVE, *_PLAIN):
                response = http.post(
                    "/crm/v3/properties/contacts",
                    json={
                        "name": name,
                        "label": name,
                        "type": "string",
                        "fieldType": "text",
                        "groupName": "contactinformation",
                        "dataSensitivity": "sensitive" if name in _SENSITIVE else "non_sensitive",
                    },
                )
                assert response.status_code == 201, response.text[:300]
            _batch_ratio(server, http, rounds)
            response = http.post(
                "/crm/v3/objects/contacts",
                json={
                    "properties": _contacts(10_000_000, 1, (*_SENSITIVE, *_PLAIN))[0]["properties"]
                },
            )
            assert response.status_code == 201, response.text[:300]
            record_id = response.json()["id"]
        if not common.has_wrk():
            print("GET ratio: skipped: needs wrk on PATH")
        else:
            _get_ratio(server, app, record_id, rounds)
            if has_search:
                _search_ratio(server, app, rounds)
        if not has_search:
            print("EQ search ratio: skipped: POST /crm/v3/objects/{objectType}/search not present")
    finally:
        server.close()


def _batch_ratio(server: Any, http: Any, rounds: int, batches: int = 5) -> None:
    best: dict[str, float] = {"sensitive": float("inf"), "plain": float("inf")}
    cpu: dict[str, list[float]] = {"sensitive": [], "plain": []}
    next_id = 0
    for _ in range(rounds):
        for side, extra in (("sensitive", _SENSITIVE), ("plain", _PLAIN)):
            started, cpu_before = time.perf_counter(), common.cpu_seconds(server.pid)
            for _ in range(batches):
                response = http.post(
                    "/crm/v3/objects/contacts/batch/create",
                    json={"inputs": _contacts(next_id, 100, extra)},
                )
                assert response.status_code == 201, response.text[:300]
                next_id += 100
            records = batches * 100
            best[side] = min(best[side], (time.perf_counter() - started) * 1000 / records)
            cpu[side].append((common.cpu_seconds(server.pid) - cpu_before) * 1000 / records)
    label = "batch create, ms per record"
    print(_ratio_line(f"{label} (wall)", best["sensitive"], best["plain"], "ms"))
    print(_ratio_line(f"{label} (server CPU)", min(cpu["sensitive"]), min(cpu["plain"]), "ms"))


def _wrk_pair(
    server: Any, app: Any, label: str, sides: dict[str, tuple[str, str | None]], rounds: int
) -> None:
    """Runs wrk on each side's (path, body) in alternating rounds; prints wall and CPU ratios."""
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, (path, body) in sides.items():
            runs[side].append(common.measure_wrk(server, app, path, 4, seconds=3, body=body))
    wall = {side: 1000 / max(r["rps"] for r in rs) for side, rs in runs.items()}
    cpu = {side: min(r["cpu_ms"] for r in rs) for side, rs in runs.items()}
    print(_ratio_line(f"{label} (wall)", wall["sensitive"], wall["plain"], "ms"))
    print(_ratio_line(f"{label} (server CPU)", cpu["sensitive"], cpu["plain"], "ms"))


def _get_ratio(server: Any, app: Any, record_id: str, rounds: int) -> None:
    base = f"/crm/v3/objects/contacts/{record_id}?properties="
    sides = {
        "sensitive": (base + ",".join(_SENSITIVE), None),
        "plain": (base + ",".join(_PLAIN), None),
    }
    _wrk_pair(server, app, "GET, ms per request", sides, rounds)


def _search_ratio(server: Any, app: Any, rounds: int) -> None:
    def body(name: str) -> str:
        return orjson.dumps(
            {
                "filterGroups": [
                    {"filters": [{"propertyName": name, "operator": "EQ", "value": "X000000042"}]}
                ],
                "properties": ["email", name],
                "limit": 10,
            }
        ).decode()

    path = "/crm/v3/objects/contacts/search"
    sides = {"sensitive": (path, body(_SENSITIVE[0])), "plain": (path, body(_PLAIN[0]))}
    _wrk_pair(server, app, "EQ search, ms per request", sides, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--api-only", action="store_true", help="only the API ratios")
    args = parser.parse_args()
    if not args.api_only:
        with tempfile.TemporaryDirectory(prefix="localspot-bench-") as scratch:
            rt, hub_id = open_runtime(Path(scratch))
            try:
                seal_rate, open_rate = bench_seal_open(rt)
                print(f"seal: {seal_rate:,.0f} values/s  open: {open_rate:,.0f} values/s")
                resealed, seconds = bench_rotation(rt, hub_id, args.values)
                rate = resealed / seconds
                verdict = "OK" if rate >= TARGET_ROTATION_PER_SECOND else "BELOW TARGET"
                print(
                    f"rotation: {resealed} values in {seconds:.2f} s = {rate:,.0f} values/s "
                    f"(target {TARGET_ROTATION_PER_SECOND:,}: {verdict})"
                )
            finally:
                rt.close()
    api_ratios()


if __name__ == "__main__":
    main()
