"""Hot statements on the driver's own cursor, inside a SQLAlchemy connection's transaction:
plain SQL written with ``?`` markers, on either store (see ``fetch``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

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


class _Built(NamedTuple):
    sql: str
    names: tuple[str, ...] | None  # bind order for positional paramstyles; None: by name
    defaults: dict[str, Any]  # values bound into the statement when it was built
    processors: dict[str, Callable[[Any], Any]]  # what the dialect does to a value first


# Statements built once and run again and again (search's prepared shapes), with what their
# compilation for each driver gives. Each key holds its statement, so that an id is never
# reused for another while its entry lives.
_BUILT: OrderedDict[tuple[Executable, str], _Built | None] = OrderedDict()
_BUILT_MAX = 1024
_built_lock = threading.Lock()


def fetch_built(
    conn: Connection, statement: Executable, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` with ``params``, on the driver's cursor (see ``fetch``).

    For statements built once and kept: a SQLAlchemy execution of one costs some 20 to 30
    microseconds of Python before the driver sees it, several times what SQLite then takes
    for an indexed read. Values pass through the dialect's bind processors (floats, say), as
    SQLAlchemy's would; rows are the driver's tuples, with no result processing (a boolean
    column reads 0 or 1 on SQLite). A statement the driver cannot be given as compiled
    (expanding IN lists, escaped names) runs through SQLAlchemy, with the same rows.
    """
    key = (statement, conn.dialect.name)
    with _built_lock:
        built = _BUILT.get(key, _UNBUILT)
        if built is not _UNBUILT:
            _BUILT.move_to_end(key)
    if built is _UNBUILT:
        built = _build(conn, statement)
        with _built_lock:
            _BUILT[key] = built
            while len(_BUILT) > _BUILT_MAX:
                _BUILT.popitem(last=False)
    if built is None:
        return [tuple(row) for row in conn.execute(statement, params).all()]
    bound = {**built.defaults, **params}
    for name, process in built.processors.items():
        bound[name] = process(bound[name])
    cursor = conn.connection.cursor()
    try:
        if built.names is None:
            cursor.execute(built.sql, bound)
        else:
            cursor.execute(built.sql, [bound[name] for name in built.names])
        return cursor.fetchall()
    finally:
        cursor.close()


_UNBUILT: Any = object()


def _build(conn: Connection, statement: Executable) -> _Built | None:
    compiled: Any = statement.compile(dialect=conn.dialect)
    if (
        "POSTCOMPILE" in compiled.string
        or getattr(compiled, "escaped_bind_names", None)
        or conn.dialect.paramstyle not in ("qmark", "pyformat")
    ):
        return None
    binds = compiled.bind_names
    if any(bind.callable is not None for bind in binds):
        return None
    # A value the statement was built with; the others must come with each run.
    defaults = {name: bind.value for bind, name in binds.items() if not bind.required}
    names = tuple(compiled.positiontup) if conn.dialect.paramstyle == "qmark" else None
    return _Built(compiled.string, names, defaults, dict(compiled._bind_processors))
