"""Leak-test harness: plant canary values, then look for them where no value may be.

A canary is a random string that can only appear somewhere if a value was copied there. The
scanners look in the server's log, in the raw SQLite files (database, WAL and shared memory),
and on PostgreSQL in every text, JSON and bytea column of every table of the test schema.
Ciphertext and blind indexes never contain a canary, so any hit is a leak.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from localspot.testing import LocalSpotServer

SQLITE_FILES = ("localspot.db", "localspot.db-wal", "localspot.db-shm")


def canary(label: str = "") -> str:
    """A value that cannot appear anywhere by chance."""
    return f"CANARY{label}{secrets.token_hex(10)}"


def canaries(n: int, label: str = "") -> list[str]:
    return [canary(label) for _ in range(n)]


@dataclass(frozen=True)
class Leak:
    where: str
    canary: str


def scan_text(where: str, text: str, planted: Iterable[str]) -> list[Leak]:
    return [Leak(where, c) for c in planted if c in text]


def scan_bytes(where: str, data: bytes, planted: Iterable[str]) -> list[Leak]:
    found = []
    for c in planted:
        # UTF-8 as written by the server, UTF-16 in case a driver or page stores it so.
        if c.encode() in data or c.encode("utf-16-le") in data:
            found.append(Leak(where, c))
    return found


def scan_log(server: LocalSpotServer, planted: Iterable[str]) -> list[Leak]:
    return scan_text("server log", server.log_text(), planted)


def scan_sqlite(data_dir: Path, planted: Iterable[str]) -> list[Leak]:
    planted = list(planted)
    found = []
    for name in SQLITE_FILES:
        path = data_dir / name
        if path.exists():
            found += scan_bytes(f"sqlite file {name}", path.read_bytes(), planted)
    return found


def scan_postgres(database_url: str, planted: Iterable[str]) -> list[Leak]:
    """Every text-like and bytea column of every table in the URL's schema (search_path)."""
    planted = list(planted)
    found = []
    with psycopg.connect(database_url) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')",
            (schema,),
        ).fetchall()
        for table, column, data_type in columns:
            rows = conn.execute(f'SELECT "{column}" FROM "{schema}"."{table}"').fetchall()
            for (value,) in rows:
                if value is None:
                    continue
                data = bytes(value) if data_type == "bytea" else str(value).encode()
                for leak in scan_bytes(f"postgres {table}.{column}", data, planted):
                    if leak not in found:
                        found.append(leak)
    return found


def scan_store(server: LocalSpotServer, planted: Iterable[str]) -> list[Leak]:
    if server.database_url:
        return scan_postgres(server.database_url, planted)
    return scan_sqlite(server.data_dir, planted)


def scan_everywhere(server: LocalSpotServer, planted: Iterable[str]) -> list[Leak]:
    """The log and the store; what a leak test asserts is empty."""
    planted = list(planted)
    return scan_log(server, planted) + scan_store(server, planted)
