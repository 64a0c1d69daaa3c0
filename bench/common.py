"""What the benchmarks share: a server to measure, timed request loops, and figures."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer


@contextlib.contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    """A PostgreSQL URL into a schema of our own, dropped afterwards, so that a benchmark leaves
    the database as it was. An empty URL (SQLite) passes through."""
    if not url:
        yield ""
        return
    import psycopg

    schema = f"localspot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def start_server(database_url: str = "") -> tuple[LocalSpotServer, App]:
    """A server logging warnings only (request lines cost time), and a full-scope app."""
    os.environ["LOCALSPOT_LOG_LEVEL"] = "WARNING"
    server = LocalSpotServer(database_url=database_url).start()
    return server, server.new_app(all_scopes())


def client(server: LocalSpotServer, app: App) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {app.token}"}
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(
    server: LocalSpotServer,
    app: App,
    call: Callable[[httpx.Client], None],
    clients: int,
    requests_per_client: int,
) -> dict[str, float]:
    """p50/p99 latency (ms) and requests/s for ``call`` from ``clients`` threads."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = []
        with client(server, app) as http:
            call(http)  # warm the connection
            for _ in range(requests_per_client):
                started = time.perf_counter()
                call(http)
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "rps": len(latencies) / elapsed,
    }


def row(label: str, figures: dict[str, float]) -> str:
    return (
        f"{label:<48} p50 {figures['p50_ms']:8.2f} ms   p99 {figures['p99_ms']:8.2f} ms   "
        f"{figures['rps']:8.0f} req/s"
    )


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def measure_wrk(
    server: LocalSpotServer,
    app: App,
    path: str,
    clients: int,
    seconds: int = 10,
    body: str | None = None,
) -> dict[str, float]:
    """p50/p99 latency (ms), requests/s and server CPU ms per request from ``wrk``.

    GET ``path``, or POST ``body`` (JSON) to it. wrk (C, one thread) costs far less CPU than
    Python client threads, which share the machine's cores with the server being measured.
    """
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {app.token}",
    ]
    with tempfile.TemporaryDirectory(prefix="localspot-wrk-") as scratch:
        if body is not None:
            script = Path(scratch) / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = [==[{body}]==]\n"
            )
            command += ["-s", str(script)]
        cpu_before = cpu_seconds(server.pid)
        out = subprocess.run(
            [*command, server.url + path], capture_output=True, text=True, check=True
        ).stdout
        cpu = cpu_seconds(server.pid) - cpu_before
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([0-9.]+)(us|ms|s|m)\s*$", out, re.M)
        if found is None:
            raise RuntimeError(f"no {percent}% latency in wrk output:\n{out}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    done = re.search(r"^\s*(\d+) requests in", out, re.M)
    assert rps is not None and done is not None, out
    return {
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "rps": float(rps.group(1)),
        "cpu_ms": cpu * 1000 / max(1, int(done.group(1))),
    }
