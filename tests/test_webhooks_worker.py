"""Standalone ``localspot worker`` processes: at-least-once across a killed worker, and several
workers never sending the same events at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest

from localspot.domain.webhooks.events import ChangeEvent
from localspot.runtime import Runtime
from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import POSTGRES_URL, STORE
from tests.webhook_helpers import emit_now, open_runtime, wire
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def quiet_server() -> Iterator[LocalSpotServer]:
    """A server of its own whose in-process worker is off, so only our workers deliver."""
    schema = None
    url = ""
    if STORE == "postgres":
        schema = f"localspot_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    os.environ["LOCALSPOT_WEBHOOK_WORKER"] = "false"
    try:
        server = LocalSpotServer(database_url=url).start()
    finally:
        del os.environ["LOCALSPOT_WEBHOOK_WORKER"]
    try:
        yield server
    finally:
        server.close()
        if schema is not None:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def rt(quiet_server: LocalSpotServer) -> Iterator[Runtime]:
    runtime = open_runtime(quiet_server)
    yield runtime
    runtime.close()


def _start_worker(server: LocalSpotServer, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOCALSPOT_DATABASE_URL": server.database_url}
    log = open(server.data_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(
        [sys.executable, "-m", "localspot", "worker", "--data-dir", str(server.data_dir)],
        env=env,
        stdout=log,
        stderr=log,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _creations(rt: Runtime, hub_id: int, first: int, count: int) -> list[ChangeEvent]:
    now = rt.clock.millis()
    return [
        ChangeEvent(hub_id, "0-1", first + i, "creation", now, "API", None) for i in range(count)
    ]


def test_killed_worker_loses_no_event(quiet_server: LocalSpotServer, rt: Runtime) -> None:
    first_arrived = threading.Event()
    release = threading.Event()

    def respond(n: int) -> int:
        if n == 0:
            first_arrived.set()
            release.wait(30)  # held in flight until the worker is dead
        return 200

    receiver = Receiver(respond)
    worker = _start_worker(quiet_server, "worker-a")
    try:
        app = quiet_server.new_app(all_scopes())
        wire(quiet_server, app, receiver.url, [{"eventType": "contact.creation"}])
        emit_now(rt, _creations(rt, app.hub_id, 1, 50))

        assert first_arrived.wait(30), "the worker never delivered"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        release.set()
        pending = quiet_server.control(
            "GET", f"/webhooks/private-apps/{app.app_id}/events?status=pending"
        )["results"]
        assert len(pending) == 50  # nobody recorded the delivery: all still owed

        worker = _start_worker(quiet_server, "worker-b")
        # The dead worker's lease runs out on the server clock, not the wall clock.
        quiet_server.advance_clock(seconds=120)
        receiver.wait_for(lambda r: len(r.requests) >= 2 and _delivered(quiet_server, app.app_id))
        redelivered = {e["objectId"] for r in receiver.requests[1:] for e in r.events}
        assert redelivered == set(range(1, 51))
    finally:
        release.set()
        _stop(worker)
        receiver.close()


def _delivered(server: LocalSpotServer, app_id: int) -> bool:
    path = f"/webhooks/private-apps/{app_id}/events?status=pending"
    return server.control("GET", path)["results"] == []


def test_several_workers_never_send_an_event_twice(
    quiet_server: LocalSpotServer, rt: Runtime
) -> None:
    receiver = Receiver()
    workers = [_start_worker(quiet_server, f"worker-{i}") for i in range(3)]
    try:
        app = quiet_server.new_app(all_scopes())
        wire(quiet_server, app, receiver.url, [{"eventType": "contact.creation"}], 20)
        for chunk in range(20):
            emit_now(rt, _creations(rt, app.hub_id, 1000 + chunk * 50, 50))
        events = receiver.wait_events(1000, timeout=60)
        counts = Counter(e["eventId"] for e in events)
        assert len(counts) == 1000
        assert max(counts.values()) == 1
    finally:
        for worker in workers:
            _stop(worker)
        receiver.close()
