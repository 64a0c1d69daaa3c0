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
_INSERT_SQL: dict[tuple[str, tuple[str, ...], tuple[str, ...], int], str] = {}


def insert_rows(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    fixed: dict[str, Any] | None = None,
) -> None:
    """Inserts ``rows`` with multi-row ``INSERT ... VALUES`` statements inside ``conn``'s
    transaction (see ``fetch``), ``ROWS_PER_INSERT`` rows to a statement; ``fixed`` gives
    columns whose value is the same in every row.

    SQLite runs one statement of a hundred rows in about two thirds of the time of
    executemany's hundred single-row steps; every full chunk has the same text, so the driver
    prepares it once. Each bound parameter costs SQLite and the driver a few tenths of a
    microsecond, about what the rest of a short row's insert does: a fixed value is bound once
    a statement (a numbered parameter every row names), and callers leave out columns that
    their rows leave NULL. On PostgreSQL the rows go in by COPY: psycopg parses a long
    statement's text on every execution (a few milliseconds for a hundred rows), and even its
    pipelined executemany costs some 20 microseconds of Python a row.
    """
    fixed = fixed or {}
    if conn.dialect.name != "sqlite":
        driver = conn.connection.driver_connection
        names = (*columns, *fixed)
        tail = tuple(fixed.values())
        with (
            driver.cursor() as cursor,
            cursor.copy(  # type: ignore[union-attr]
                f"COPY {table} ({', '.join(names)}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row + tail if tail else row)
        return
    tail_values = list(fixed.values())
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            params = list(chain.from_iterable(chunk))
            params += tail_values
            cursor.execute(_insert_sql(table, columns, tuple(fixed), len(chunk)), params)
    finally:
        cursor.close()


def _insert_sql(table: str, columns: tuple[str, ...], fixed: tuple[str, ...], count: int) -> str:
    """SQLite's multi-row INSERT, its parameters numbered: ?1.. the rows', then the fixed."""
    key = (table, columns, fixed, count)
    found = _INSERT_SQL.get(key)
    if found is None:
        width = len(columns)
        first_fixed = width * count + 1
        tail = [f"?{first_fixed + k}" for k in range(len(fixed))]
        rows = (
            "(" + ", ".join([*(f"?{i * width + j + 1}" for j in range(width)), *tail]) + ")"
            for i in range(count)
        )
        found = _INSERT_SQL[key] = (
            f"INSERT INTO {table} ({', '.join((*columns, *fixed))}) VALUES {', '.join(rows)}"
        )
    return found
