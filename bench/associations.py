"""Associations figures: reading a contact's 1,000 deals, and batch association creation.

    .venv/bin/python bench/associations.py [--database-url URL] [--deals 1000] [--pairs 20000]

Prints reads per second of one contact's associations with ``--deals`` associated deals (each
read pages through all of them with the v4 GET at the 500 maximum), and associations created
per second through ``/crm/v4/associations/deals/contacts/batch/create`` (inputs of 2,000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import client, measure, row, start_server, throwaway_schema  # noqa: E402

BATCH = 2_000


def _create(http: httpx.Client, object_type: str, count: int, **props: str) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 100):
        inputs = [
            {"properties": {k: f"{v}{i}" for k, v in props.items()}}
            for i in range(start, min(start + 100, count))
        ]
        response = http.post(f"/crm/v3/objects/{object_type}/batch/create", json={"inputs": inputs})
        response.raise_for_status()
        ids += [r["id"] for r in response.json()["results"]]
    return ids


def _read_all(http: httpx.Client, contact: str, expected: int) -> None:
    seen, after = 0, None
    while True:
        params = {"limit": 500, **({"after": after} if after else {})}
        response = http.get(f"/crm/v4/objects/contacts/{contact}/associations/deals", params=params)
        response.raise_for_status()
        body = response.json()
        seen += len(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert seen == expected, (seen, expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--deals", type=int, default=1_000)
    parser.add_argument("--pairs", type=int, default=20_000, help="associations to batch-create")
    args = parser.parse_args()
    with throwaway_schema(args.database_url) as args.database_url:
        run(args)


def run(args: argparse.Namespace) -> None:
    server, app = start_server(args.database_url)
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"LocalSpot associations benchmark on {store}")
    try:
        with client(server, app) as http:
            [contact] = _create(http, "contacts", 1, email="reader@bench.example")
            deals = _create(http, "deals", args.deals, dealname="Deal ")
            for start in range(0, len(deals), BATCH):
                inputs = [
                    {"from": {"id": contact}, "to": {"id": d}} for d in deals[start : start + BATCH]
                ]
                http.post(
                    "/crm/v4/associations/contacts/deals/batch/associate/default",
                    json={"inputs": inputs},
                ).raise_for_status()

            for clients in (1, 4):
                figures = measure(
                    server, app, lambda h: _read_all(h, contact, len(deals)), clients, 50
                )
                label = f"read {len(deals)} deals of a contact, {clients} client(s)"
                print(row(label, figures))

            targets = _create(http, "contacts", 200, email="t@bench.example", firstname="T")
            sources = _create(http, "deals", args.pairs // len(targets) + 1, dealname="Src ")
            pairs = [(s, t) for s in sources for t in targets][: args.pairs]
            started = time.perf_counter()
            for start in range(0, len(pairs), BATCH):
                inputs = [
                    {
                        "from": {"id": s},
                        "to": {"id": t},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}
                        ],
                    }
                    for s, t in pairs[start : start + BATCH]
                ]
                response = http.post(
                    "/crm/v4/associations/deals/contacts/batch/create", json={"inputs": inputs}
                )
                assert response.status_code == 201, response.text[:500]
            elapsed = time.perf_counter() - started
            print(
                f"batch create {len(pairs)} associations in inputs of {BATCH}: "
                f"{len(pairs) / elapsed:,.0f} associations/s"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
