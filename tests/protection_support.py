"""Servers and stores of their own for protection tests, which tamper with or rotate keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine, create_engine

from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.testing import LocalSpotServer
from tests.conftest import POSTGRES_URL, STORE


@contextmanager
def fresh_database_url() -> Iterator[str]:
    """'' for SQLite (the data folder holds the store), else a throwaway PostgreSQL schema."""
    if STORE == "sqlite":
        yield ""
        return
    schema = f"localspot_prot_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def own_server() -> Iterator[LocalSpotServer]:
    with fresh_database_url() as url, LocalSpotServer(database_url=url) as server:
        yield server


def settings_of(server: LocalSpotServer) -> Settings:
    return Settings(data_dir=server.data_dir, database_url=server.database_url)


def runtime_of(server: LocalSpotServer) -> Runtime:
    """Another process's view of the server's store and key file, opened in the test."""
    return Runtime.open(settings_of(server))


def engine_of(server: LocalSpotServer) -> Engine:
    return create_engine(settings_of(server).sqlalchemy_url)
