"""Statements built once and run on the driver's cursor give SQLAlchemy's own rows."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    select,
)

from localspot.domain.record_store import RecordRow
from localspot.store import driver
from localspot.store.schema import records

_metadata = MetaData()
_things = Table(
    "driver_things",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("size", Integer),
    Column("weight", Float),
)


@pytest.fixture
def conn():  # type: ignore[no-untyped-def]
    url = "sqlite://"
    if os.environ.get("LOCALSPOT_TEST_STORE") == "postgres":
        url = os.environ["LOCALSPOT_TEST_POSTGRES_URL"].replace(
            "postgresql://", "postgresql+psycopg://"
        )
    engine = create_engine(url)
    with engine.connect() as connection, connection.begin() as transaction:
        _metadata.create_all(connection)
        connection.execute(
            _things.insert(),
            [{"id": i, "name": f"n{i % 3}", "size": i * 10, "weight": i / 4} for i in range(1, 7)],
        )
        yield connection
        transaction.rollback()
    engine.dispose()


def test_named_and_built_in_values_bind_in_place(conn) -> None:  # type: ignore[no-untyped-def]
    c = _things.c
    # "name" is used twice and "size" holds a value given when the statement was built.
    statement = (
        select(c.id, c.name)
        .where((c.name == bindparam("name")) | (c.name > bindparam("name")), c.size > 15)
        .order_by(c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    for params in ({"name": "n1", "limit": 2}, {"name": "n2", "limit": 5}):
        expected = [tuple(r) for r in conn.execute(statement, params)]
        assert driver.fetch_built(conn, statement, params) == expected
        assert expected


def test_values_pass_the_dialects_bind_processors(conn) -> None:  # type: ignore[no-untyped-def]
    """A Float bind is converted as SQLAlchemy would (its processor), not handed over as is."""
    c = _things.c
    statement = (
        select(c.id)
        .where(c.weight.between(bindparam("lo", type_=Float), bindparam("hi", type_=Float)))
        .order_by(c.weight.desc())
    )
    params = {"lo": 0.5, "hi": 1}
    assert driver.fetch_built(conn, statement, params) == [(4,), (3,), (2,)]
    assert driver.fetch_built(conn, statement, params) == [
        tuple(r) for r in conn.execute(statement, params)
    ]


def test_a_statement_the_driver_cannot_take_runs_through_sqlalchemy(conn) -> None:  # type: ignore[no-untyped-def]
    c = _things.c
    expanding = select(c.id).where(c.id.in_(bindparam("ids", expanding=True))).order_by(c.id)
    assert driver.fetch_built(conn, expanding, {"ids": [2, 4]}) == [(2,), (4,)]
    assert driver.fetch_built(conn, expanding, {"ids": [5]}) == [(5,)]


def test_a_missing_value_is_an_error_not_a_null(conn) -> None:  # type: ignore[no-untyped-def]
    statement = select(_things.c.id).where(_things.c.name == bindparam("name"))
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whichever it is
        driver.fetch_built(conn, statement, {})


def test_a_records_row_starts_with_the_fields_of_a_record_row() -> None:
    """``record_row`` reads a records row by position (see its docstring)."""
    assert tuple(records.c.keys())[: len(RecordRow._fields)] == RecordRow._fields
