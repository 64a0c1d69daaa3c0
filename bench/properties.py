"""How fast LocalSpot lists and reads property definitions, and how much memory it holds.

    .venv/bin/python bench/properties.py                       # SQLite in a temporary folder
    .venv/bin/python bench/properties.py --database-url postgresql://127.0.0.1:5432/test

Starts a server in a child process, creates 500 custom contact properties in a fresh account
through the batch API, then times listing all of them and reading one, at 1 and 16 concurrent
clients, each case a fixed number of requests. With a PostgreSQL URL the tables live in a
throwaway schema that is dropped at the end, so the database itself is left as it was.

Targets (issue #2): list of 500 p50 < 10 ms, read one p50 < 2 ms, idle memory < 120 MB.
The clients run on the same machine as the server, so figures include their share of the CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import has_wrk, measure_wrk, throwaway_schema  # noqa: E402
from localspot.scopes import all_scopes  # noqa: E402
from localspot.testing import LocalSpotServer  # noqa: E402

TARGETS_MS = {"list": 10.0, "read": 2.0}
TARGET_RSS_MB = 120.0
CLIENT_BOUND = 0.9  # cores
SERVER_BOUND = 0.75  # cores: below this the server had requests to wait for


@dataclass
class Result:
    case: str
    clients: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    @property
    def client_busy(self) -> float:
        """Cores the Python client itself kept busy: near 1, its threads' shared GIL is the
        bottleneck, and latency measures the client rather than the server."""
        return self.client_cpu_seconds / self.seconds

    @property
    def server_busy(self) -> float:
        """Cores the server kept busy: its event loop is one thread, so well under 1 it was
        waiting for requests."""
        return self.server_cpu_seconds / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: unlike latency, barely moved by other load on the machine."""
        return self.server_cpu_seconds * 1000 / self.requests

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def create_properties(client: httpx.Client, count: int) -> None:
    for start in range(0, count, 100):
        inputs = [
            {
                "name": f"bench_property_{i:04d}",
                "label": f"Bench property {i}",
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "description": "A custom property made by the benchmark.",
            }
            for i in range(start, min(start + 100, count))
        ]
        response = client.post("/crm/v3/properties/contacts/batch/create", json={"inputs": inputs})
        if response.status_code != 201:
            raise RuntimeError(f"batch create: {response.status_code} {response.text[:300]}")


def run_case(
    pid: int,
    make_client: Callable[[], httpx.Client],
    case: str,
    path: str,
    clients: int,
    requests: int,
    check: Callable[[httpx.Response], None],
) -> Result:
    per_client = requests // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def work(slot: int) -> None:
        with make_client() as client:
            check(client.get(path))  # connect and warm up outside the timing
            barrier.wait()
            try:
                for _ in range(per_client):
                    started = time.perf_counter()
                    response = client.get(path)
                    latencies[slot].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path}: {response.status_code}")
            except BaseException as exc:  # noqa: BLE001 - reported after the run
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_before = time.perf_counter(), cpu_seconds(pid)
    client_before = time.process_time()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    client_cpu = time.process_time() - client_before
    if errors:
        raise errors[0]
    flat = [ms for slot in latencies for ms in slot]
    return Result(case, clients, len(flat), elapsed, flat, cpu, client_cpu)


def bench(database_url: str, properties: int, requests: int, concurrency: list[int]) -> int:
    os.environ.setdefault("LOCALSPOT_LOG_LEVEL", "INFO")  # what a user runs, not the test DEBUG
    store = "PostgreSQL" if database_url else "SQLite"
    with LocalSpotServer(database_url=database_url) as server:
        pid = server.pid
        time.sleep(1.0)
        rss_start = rss_mb(pid)
        app = server.new_app(all_scopes())

        def make_client() -> httpx.Client:
            return httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {app.token}"}, timeout=60
            )

        with make_client() as client:
            create_properties(client, properties)
            listed = client.get("/crm/v3/properties/contacts").json()["results"]
        if len(listed) < properties:
            raise RuntimeError(f"listing returned {len(listed)} properties")
        time.sleep(1.0)
        rss_loaded = rss_mb(pid)

        def check_list(response: httpx.Response) -> None:
            assert len(response.json()["results"]) >= properties

        def check_read(response: httpx.Response) -> None:
            assert response.json()["name"] == "bench_property_0250"

        cases = [
            ("list", "/crm/v3/properties/contacts", check_list),
            ("read", "/crm/v3/properties/contacts/bench_property_0250", check_read),
        ]
        results = [
            run_case(pid, make_client, case, path, clients, requests, check)
            for case, path, check in cases
            for clients in concurrency
        ]
        # wrk's C client leaves the cores to the server, so these show what the server does
        # when Python client threads are not competing with it.
        by_wrk = (
            [
                (case, clients, measure_wrk(server, app, path, clients, seconds=5))
                for case, path, _ in cases
                for clients in concurrency
            ]
            if has_wrk()
            else []
        )
        time.sleep(2.0)
        rss_after = rss_mb(pid)

    print(f"\nLocalSpot properties benchmark: {store}, {len(listed)} contact properties listed")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{'case':<20}{'clients':>8}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}"
        f"{'cpu ms/req':>11}{'server':>8}{'client':>8}  target"
    )
    missed = 0
    for r in results:
        target = TARGETS_MS[r.case]
        ok = r.p50 < target
        # Python client threads share one GIL: once they keep a core busy, or while the server
        # they wait on sits idle much of the time, the latency they see is their own queue.
        # wrk, when present, then measures the server instead.
        client_bound = bool(by_wrk) and (
            r.client_busy >= CLIENT_BOUND or r.server_busy < SERVER_BOUND
        )
        verdict = "ok" if ok else ("client-bound, see wrk" if client_bound else "MISSED")
        missed += 0 if ok or client_bound else 1
        label = f"list all ({len(listed)})" if r.case == "list" else "read one"
        print(
            f"{label:<20}{r.clients:>8}{r.requests:>9}{r.p50:>9.2f}{r.p99:>9.2f}{r.rps:>8.0f}"
            f"{r.cpu_ms:>11.2f}{r.server_busy:>8.2f}{r.client_busy:>8.2f}  "
            f"p50 < {target:g} ms {verdict}"
        )
    print(
        "(server, client: cores each kept busy; a Python client near 1, or a server well under"
        " 1, means the client is the bottleneck)"
    )
    if by_wrk:
        print("the same cases with wrk as the client (5 s each):")
    for case, clients, figures in by_wrk:
        label = f"list all ({len(listed)})" if case == "list" else "read one"
        ok = figures["p50_ms"] < TARGETS_MS[case]
        missed += 0 if ok else 1
        print(
            f"{label:<20}{clients:>8}{'wrk':>9}{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}"
            f"{figures['rps']:>8.0f}{figures['cpu_ms']:>11.2f}"
            f"{figures['rps'] * figures['cpu_ms'] / 1000:>8.2f}{'':>8}  "
            f"p50 < {TARGETS_MS[case]:g} ms {'ok' if ok else 'MISSED'}"
        )
    print(f"\nserver resident memory (VmRSS), pid {pid}:")
    print(f"  idle after start            {rss_start:7.1f} MB")
    print(f"  idle with {properties} properties    {rss_loaded:7.1f} MB")
    ok = rss_after < TARGET_RSS_MB
    missed += 0 if ok else 1
    print(
        f"  idle after the run          {rss_after:7.1f} MB"
        f"  target < {TARGET_RSS_MB:g} MB {'ok' if ok else 'MISSED'}"
    )
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--properties", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000, help="per case")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated client counts")
    args = parser.parse_args()
    concurrency = [int(c) for c in args.concurrency.split(",")]
    with throwaway_schema(args.database_url) as url:
        missed = bench(url, args.properties, args.requests, concurrency)
    print(f"\n{missed} target(s) missed" if missed else "\nall targets met")


if __name__ == "__main__":
    main()
