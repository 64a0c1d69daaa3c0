"""Objects API figures: batch create, GET with sensitive values, list paging, memory.

    .venv/bin/python bench/objects.py [--database-url URL] [--records 100000] [--million]

Targets on SQLite (issue #3): batch create >= 5,000 records/s; GET >= 800 req/s with
p99 < 50 ms at 16 clients; server memory < 250 MB whatever the store holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    client,
    has_wrk,
    measure,
    measure_wrk,
    row,
    rss_mb,
    start_server,
)

PROPERTIES = 10  # per contact, 2 of them sensitive


def _inputs(start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "properties": {
                "email": f"c{i}@bench.example",
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "phone": f"+1555{i:07d}",
                "city": "Lisbon",
                "country": "Portugal",
                "jobtitle": "Engineer",
                "company": "Bench Co",
                "passport_number": f"P{i:09d}",
                "tax_id": f"T{i:09d}",
            }
        }
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--records", type=int, default=100_000, help="contacts for list paging")
    parser.add_argument("--million", action="store_true", help="also fill to 1,000,000 for memory")
    args = parser.parse_args()

    server, app = start_server(args.database_url)
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"LocalSpot objects benchmark on {store}; idle RSS {rss_mb(server.pid):.0f} MB")
    try:
        with client(server, app) as http:
            for name in ("passport_number", "tax_id"):
                http.post(
                    "/crm/v3/properties/contacts",
                    json={
                        "name": name,
                        "label": name,
                        "type": "string",
                        "fieldType": "text",
                        "groupName": "contactinformation",
                        "dataSensitivity": "sensitive",
                    },
                )

            batches = 20
            started = time.perf_counter()
            for b in range(batches):
                response = http.post(
                    "/crm/v3/objects/contacts/batch/create", json={"inputs": _inputs(b * 100, 100)}
                )
                assert response.status_code == 201, response.text[:300]
            elapsed = time.perf_counter() - started
            print(
                f"batch create (100 contacts x {PROPERTIES} properties, 2 sensitive): "
                f"{batches * 100 / elapsed:8.0f} records/s"
            )

            first_id = http.get("/crm/v3/objects/contacts", params={"limit": 1}).json()["results"][
                0
            ]["id"]

        path = f"/crm/v3/objects/contacts/{first_id}?properties=email,passport_number,tax_id"

        def get_one(h):  # type: ignore[no-untyped-def]
            r = h.get(path)
            assert r.status_code == 200

        if has_wrk():
            print("GET load from wrk")
            for clients in (1, 16):
                label = f"GET one record, 2 sensitive, {clients} client{'s' * (clients > 1)}"
                print(row(label, measure_wrk(server, app, path, clients)))
        else:
            print("GET load from Python threads (install wrk for figures less bound by the client)")
            for clients, count in ((1, 500), (16, 200)):
                label = f"GET one record, 2 sensitive, {clients} client{'s' * (clients > 1)}"
                print(row(label, measure(server, app, get_one, clients, count)))

        with client(server, app) as http:
            have = batches * 100
            started = time.perf_counter()
            while have < args.records:
                count = min(100, args.records - have)
                http.post(
                    "/crm/v3/objects/contacts/batch/create", json={"inputs": _inputs(have, count)}
                )
                have += count
            print(f"seeded {have} contacts in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            pages, after, seen = 0, None, 0
            while True:
                params = {"limit": 100, **({"after": after} if after else {})}
                page = http.get("/crm/v3/objects/contacts", params=params).json()
                pages += 1
                seen += len(page["results"])
                if "paging" not in page:
                    break
                after = page["paging"]["next"]["after"]
            elapsed = time.perf_counter() - started
            print(
                f"list paging through {seen} contacts: {pages} pages in {elapsed:.1f} s "
                f"({elapsed / pages * 1000:.1f} ms/page)"
            )
            print(f"server RSS with {have} contacts stored: {rss_mb(server.pid):.0f} MB")

            if args.million:
                while have < 1_000_000:
                    http.post(
                        "/crm/v3/objects/contacts/batch/create", json={"inputs": _inputs(have, 100)}
                    )
                    have += 100
                http.get("/crm/v3/objects/contacts", params={"limit": 100})
                print(f"server RSS with {have} contacts stored: {rss_mb(server.pid):.0f} MB")
    finally:
        server.close()


if __name__ == "__main__":
    main()
