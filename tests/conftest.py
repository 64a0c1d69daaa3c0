"""One LocalSpot server per test session, on the store that LOCALSPOT_TEST_STORE names.

scripts/test runs the whole suite once on SQLite and once on PostgreSQL. Tests isolate
themselves by working in accounts of their own, made through the control plane.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import hubspot
import hubspot_sdk
import psycopg
import pytest

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer, _free_port

STORE = os.environ.get("LOCALSPOT_TEST_STORE", "sqlite")
POSTGRES_URL = os.environ.get("LOCALSPOT_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def pytest_report_header() -> str:
    return f"LocalSpot store under test: {STORE}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if STORE == "sqlite":
        yield ""
        return
    schema = f"localspot_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[LocalSpotServer]:
    with LocalSpotServer(database_url=database_url) as running:
        yield running


@pytest.fixture
def make_app(server: LocalSpotServer) -> Callable[..., App]:
    """``make_app(scopes, tier=..., hub_id=...)``: a private app, by default in a new account."""
    return server.new_app


@pytest.fixture
def full_app(server: LocalSpotServer) -> App:
    """A private app holding every scope, in a new Enterprise account."""
    return server.new_app(all_scopes())


def http_client(server: LocalSpotServer, app: App) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {app.token}"}, timeout=30
    )


@pytest.fixture
def http(server: LocalSpotServer, full_app: App) -> Iterator[httpx.Client]:
    with http_client(server, full_app) as client:
        yield client


def sdk_client(server: LocalSpotServer, app: App) -> hubspot_sdk.HubSpot:
    """HubSpot's date-versioned SDK, pointed at LocalSpot."""
    return hubspot_sdk.HubSpot(access_token=app.token, base_url=server.url, max_retries=0)


def v3_client(server: LocalSpotServer, app: App) -> hubspot.HubSpot:
    """HubSpot's v3 client (hubspot-api-client), pointed at LocalSpot."""
    return hubspot.HubSpot(access_token=app.token, host=server.url)


@pytest.fixture
def sdk(server: LocalSpotServer, full_app: App) -> hubspot_sdk.HubSpot:
    return sdk_client(server, full_app)


@pytest.fixture
def v3(server: LocalSpotServer, full_app: App) -> hubspot.HubSpot:
    return v3_client(server, full_app)


def clean_env() -> dict[str, str]:
    """The environment without any LOCALSPOT_ setting of the test run."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOCALSPOT_")}


class Serve:
    """``localspot serve`` as a user starts it, reading what it prints."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localspot", "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**clean_env(), **(env or {})},
        )
        self.printed: dict[str, str] = {}

    def read_banner(self, timeout: float = 30) -> dict[str, str]:
        # A thread reads, since select() cannot see lines already in the pipe's buffer.
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
        deadline = time.monotonic() + timeout
        while "admin key" not in self.printed and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            key, sep, value = line.strip().partition(":")
            if sep and key in ("hub id", "access token", "admin key", "store"):
                self.printed[key] = value.strip()
        return self.printed

    def wait_until_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/localspot/v1/clock")
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("localspot serve did not start listening")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
