"""One LocalSpot server per test session, on the store that LOCALSPOT_TEST_STORE names.

scripts/test runs the whole suite once on SQLite and once on PostgreSQL. Tests isolate
themselves by working in accounts of their own, made through the control plane.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import httpx
import hubspot
import hubspot_sdk
import psycopg
import pytest

from localspot.scopes import all_scopes
from localspot.testing import App, LocalSpotServer

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
