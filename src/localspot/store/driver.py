"""Hot statements on the driver's own cursor, inside a SQLAlchemy connection's transaction:
plain SQL written with ``?`` markers, on either store (see ``fetch``)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

_DRIVER_SQL: dict[tuple[str, str], str] = {}


def driver_sql(conn: Connection, sql: str) -> str:
    """``sql`` written with ``?`` markers, in the paramstyle of ``conn``'s driver."""
    key = (conn.dialect.paramstyle, sql)
    found = _DRIVER_SQL.get(key)
    if found is None:
        found = sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")
        _DRIVER_SQL[key] = found
    return found


def fetch(conn: Connection, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a hot, prebuilt query, run on the driver's cursor inside ``conn``'s transaction.

    A SQLAlchemy execution costs ~0.1-0.2 ms of Python; the driver's cursor a few microseconds.
    Only for plain SQL whose columns need no type conversion (the caller converts booleans
    and JSON, which the two drivers return differently).
    """
    cursor = conn.connection.cursor()
    try:
        cursor.execute(driver_sql(conn, sql), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> int:
    """``executemany`` on the driver's cursor inside ``conn``'s transaction (see ``fetch``);
    the rows it changed, summed over ``rows`` (both drivers sum them)."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(driver_sql(conn, sql), rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


# 100 rows of up to 9 columns stay under SQLite's historical limit of 999 parameters.
ROWS_PER_INSERT = 100
_INSERT_SQL: dict[tuple[str, str, tuple[str, ...], int], str] = {}


def insert_rows(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Inserts ``rows`` with multi-row ``INSERT ... VALUES`` statements inside ``conn``'s
    transaction (see ``fetch``), ``ROWS_PER_INSERT`` rows to a statement.

    SQLite runs one statement of a hundred rows in about two thirds of the time of
    executemany's hundred single-row steps; every full chunk has the same text, so the driver
    prepares it once. On PostgreSQL the rows go in by COPY: psycopg parses a long statement's
    text on every execution (a few milliseconds for a hundred rows), and even its pipelined
    executemany costs some 20 microseconds of Python a row.
    """
    if conn.dialect.name != "sqlite":
        driver = conn.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(  # type: ignore[union-attr]
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            cursor.execute(
                _insert_sql(conn, table, columns, len(chunk)), list(chain.from_iterable(chunk))
            )
    finally:
        cursor.close()


def _insert_sql(conn: Connection, table: str, columns: tuple[str, ...], count: int) -> str:
    key = (conn.dialect.paramstyle, table, columns, count)
    found = _INSERT_SQL.get(key)
    if found is None:
        row = f"({', '.join('?' * len(columns))})"
        found = _INSERT_SQL[key] = driver_sql(
            conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)}"
        )
    return found
