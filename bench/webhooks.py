"""Webhook delivery throughput and delay: 10,000 property changes to a local receiver.

    .venv/bin/python -m bench.webhooks [--events 10000] [--per-commit 20] [--postgres URL]

Starts ``localspot serve`` (with its in-process worker), opens the same store here, and emits
change events the way the records domain does, ``--per-commit`` per write transaction. The
receiver notes when each event arrives. Prints events delivered per second (first commit to
last arrival) and the delay from commit to arrival (p50/p99).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg

from localspot.domain.webhooks.events import ChangeEvent, emit
from localspot.runtime import Runtime
from localspot.scopes import all_scopes
from localspot.settings import Settings
from localspot.testing import LocalSpotServer


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.posts = 0
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.time()
                with arrivals.lock:
                    arrivals.posts += 1
                    for event in json.loads(body):
                        arrivals.at.setdefault(event["objectId"], now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--per-commit", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=10, help="maxConcurrentRequests")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()

    receiver = Arrivals()
    schema = f"localspot_bench_{uuid.uuid4().hex[:8]}" if args.postgres else ""
    if schema:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    database_url = f"{args.postgres}?options=-csearch_path%3D{schema}" if schema else ""
    try:
        run(args, receiver, database_url)
    finally:
        if schema:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(args: argparse.Namespace, receiver: Arrivals, database_url: str) -> None:
    with LocalSpotServer(database_url=database_url) as server:
        app = server.new_app(all_scopes())
        headers = {"Authorization": f"Bearer {app.token}"}
        with httpx.Client(base_url=server.url, headers=headers) as http:
            http.put(
                f"/webhooks/v3/{app.app_id}/settings",
                json={
                    "targetUrl": receiver.url,
                    "throttling": {"maxConcurrentRequests": args.concurrency},
                },
            ).raise_for_status()
            http.post(
                f"/webhooks/v3/{app.app_id}/subscriptions",
                json={
                    "eventType": "contact.propertyChange",
                    "propertyName": "firstname",
                    "active": True,
                },
            ).raise_for_status()

        rt = Runtime.open(Settings(data_dir=server.data_dir, database_url=server.database_url))
        committed: dict[int, float] = {}
        started = time.time()
        for first in range(0, args.events, args.per_commit):
            ids = range(first, min(first + args.per_commit, args.events))
            now_ms = rt.clock.millis()
            with rt.store.write() as conn:
                emit(
                    conn,
                    [
                        ChangeEvent(
                            app.hub_id,
                            "0-1",
                            i,
                            "propertyChange",
                            now_ms,
                            "API",
                            str(app.app_id),
                            "firstname",
                            f"name {i}",
                        )
                        for i in ids
                    ],
                )
            done = time.time()
            for i in ids:
                committed[i] = done
        emitted = time.time()

        deadline = time.monotonic() + 120
        while len(receiver.at) < args.events and time.monotonic() < deadline:
            time.sleep(0.01)
        rt.close()

    delivered = len(receiver.at)
    last = max(receiver.at.values())
    delays = [(receiver.at[i] - committed[i]) * 1000 for i in receiver.at]
    print(f"store:              {'postgresql' if args.postgres else 'sqlite'}")
    print(f"events:             {delivered} of {args.events} delivered in {receiver.posts} POSTs")
    print(
        f"emitted:            {args.events / (emitted - started):,.0f} events/s "
        f"({args.per_commit} per commit)"
    )
    print(
        f"delivered:          {delivered / (last - started):,.0f} events/s "
        "(first commit to last arrival)"
    )
    print(
        f"commit-to-delivery: p50 {statistics.median(delays):.0f} ms, "
        f"p99 {percentile(delays, 0.99):.0f} ms"
    )


if __name__ == "__main__":
    main()
