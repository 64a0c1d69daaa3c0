"""Webhook delivery throughput and delay: 10,000 property changes to a local receiver.

    .venv/bin/python -m bench.webhooks [--events 10000] [--batch 100] [--clients 1]
                                       [--postgres URL]

Starts ``localspot serve`` (with its in-process worker) and changes contacts the way an
integration would: batch/update calls of ``--batch`` contacts' ``firstname`` through the records
API, from ``--clients`` threads, as fast as the server answers. An app subscribed to
``contact.propertyChange`` for ``firstname`` receives one event per change on a local receiver,
which notes when each arrives.

Two runs, each on a fresh server (``--mode`` picks one):

- ``live``: the server's own worker delivers while the changes are made. Prints events
  delivered per second (first request to last arrival) and the delay from commit to arrival
  (p50/p99). A change commits between its request and its response: the delay is given from
  the response (a lower bound) and from the request (an upper bound).
- ``drain``: the server queues the events with its worker off, then one ``localspot worker``
  process delivers them. Prints events delivered per second from the worker's start to the last
  arrival: the worker's own capacity, which the live run cannot show when the records API is
  slower than delivery.

Both print CPU time (server, or the worker process) and write transactions per 100 events (the
worker's are counted from the delivery rows: a claim and the outcomes it records share one
transaction and one timestamp).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select

from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.store.schema import webhook_deliveries

from .common import client, start_server, throwaway_schema


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[tuple[int, str], float] = {}
        self.posts = 0
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.perf_counter()
                with arrivals.lock:
                    arrivals.posts += 1
                    for event in json.loads(body):
                        key = (event["objectId"], event["propertyValue"])
                        arrivals.at.setdefault(key, now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100, help="contacts per batch/update call")
    parser.add_argument("--clients", type=int, default=1, help="threads sending batch calls")
    parser.add_argument("--concurrency", type=int, default=10, help="maxConcurrentRequests")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--mode", choices=("live", "drain", "both"), default="both")
    args = parser.parse_args()
    for mode in ("live", "drain"):
        if args.mode in (mode, "both"):
            args.drain = mode == "drain"
            print(f"-- {mode}")
            one_run(args)


def one_run(args: argparse.Namespace) -> None:
    receiver = Arrivals()
    with throwaway_schema(args.postgres) as database_url:
        run(args, receiver, database_url)


def create_contacts(http: httpx.Client, count: int, batch: int) -> list[int]:
    ids: list[int] = []
    for first in range(0, count, batch):
        inputs = [
            {"properties": {"email": f"c{i}@bench.example"}}
            for i in range(first, min(first + batch, count))
        ]
        response = http.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs})
        response.raise_for_status()
        ids.extend(int(r["id"]) for r in response.json()["results"])
    return ids


def run(args: argparse.Namespace, receiver: Arrivals, database_url: str) -> None:
    os.environ["LOCALSPOT_WEBHOOK_WORKER"] = "false" if args.drain else "true"
    server, app = start_server(database_url)
    worker: subprocess.Popen[bytes] | None = None
    try:
        with client(server, app) as http:
            contacts = create_contacts(http, args.events, args.batch)
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

        chunks = [contacts[i : i + args.batch] for i in range(0, len(contacts), args.batch)]
        # (object id, value) -> when its request was sent and when its response came back.
        sent: dict[tuple[int, str], tuple[float, float]] = {}
        lock = threading.Lock()

        def changer(mine: list[list[int]]) -> None:
            with client(server, app) as http:
                for chunk in mine:
                    value = f"bench {uuid.uuid4().hex[:6]}"
                    inputs = [{"id": str(i), "properties": {"firstname": value}} for i in chunk]
                    before = time.perf_counter()
                    response = http.post(
                        "/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}
                    )
                    after = time.perf_counter()
                    response.raise_for_status()
                    with lock:
                        for i in chunk:
                            sent[(i, value)] = (before, after)

        threads = [
            threading.Thread(target=changer, args=(chunks[n :: args.clients],))
            for n in range(args.clients)
        ]
        cpu_before = cpu_seconds(server.pid)
        load_before = os.getloadavg()[0]
        started = changes_started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        changed = time.perf_counter()
        if args.drain:
            worker = subprocess.Popen(
                [sys.executable, "-m", "localspot", "worker", "--data-dir", str(server.data_dir)],
                env={**os.environ, "LOCALSPOT_DATABASE_URL": server.database_url},
                stderr=subprocess.PIPE,
            )
            assert worker.stderr is not None
            worker.stderr.readline()  # printed once started, just before its first claim
            started = time.perf_counter()
            cpu_before = cpu_seconds(worker.pid)

        deadline = time.monotonic() + 120
        while len(receiver.at) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.005)
        cpu = cpu_seconds(worker.pid if worker else server.pid) - cpu_before
        load_after = os.getloadavg()[0]

        rt = Runtime.open(Settings(data_dir=server.data_dir, database_url=server.database_url))
        try:
            with rt.store.read() as conn:
                d = webhook_deliveries.c
                times = set(conn.scalars(select(d.started_at_ms)))
                times |= {t for t in conn.scalars(select(d.finished_at_ms)) if t is not None}
        finally:
            rt.close()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.close()

    delivered = [key for key in sent if key in receiver.at]
    last = max(receiver.at.values())
    after_response = [(receiver.at[k] - sent[k][1]) * 1000 for k in delivered]
    after_request = [(receiver.at[k] - sent[k][0]) * 1000 for k in delivered]
    calls = len(chunks)
    print(f"store:              {'postgresql' if args.postgres else 'sqlite'}")
    print(f"load average:       {load_before:.2f} before, {load_after:.2f} after")
    print(
        f"events:             {len(delivered)} of {len(sent)} delivered in {receiver.posts} POSTs"
        f" ({len(receiver.at) - len(delivered)} unexpected)"
    )
    print(
        f"changed:            {len(sent) / (changed - changes_started):,.0f} changes/s "
        f"({calls} batch/update calls of {args.batch}, {args.clients} client(s))"
    )
    since = "worker start" if args.drain else "first request"
    print(
        f"delivered:          {len(delivered) / (last - started):,.0f} events/s "
        f"({since} to last arrival)"
    )
    for label, delays in (("after response", after_response), ("after request", after_request)):
        if not args.drain:
            print(
                f"delay {label + ':':<15} p50 {statistics.median(delays):.0f} ms, "
                f"p99 {percentile(delays, 0.99):.0f} ms"
            )
    print(
        f"{'worker' if args.drain else 'server'} CPU:         {cpu:.2f} s "
        f"({cpu * 1000 / max(1, len(delivered)):.3f} ms/event)"
    )
    per_100 = 100 / max(1, len(delivered))
    print(
        f"write transactions: {calls * per_100:.1f} changes + {len(times) * per_100:.1f} worker"
        " per 100 events"
    )


if __name__ == "__main__":
    main()
