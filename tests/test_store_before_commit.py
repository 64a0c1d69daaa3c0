"""Work a write transaction does as its last statements (``before_commit``): once per key,
inside the transaction, and never carried into the next use of the pooled connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from localspot.store.engine import Store, before_commit


class _Sum:
    def __init__(self) -> None:
        self.total = 0

    def __call__(self, conn: Connection) -> None:
        conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": self.total})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'before.db'}")
    with made.write() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    yield made
    made.dispose()


def _rows(store: Store) -> list[int]:
    with store.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY rowid"))]


def test_the_work_of_a_key_is_made_once_and_runs_at_commit(store: Store) -> None:
    with store.write() as conn:
        before_commit(conn, "sum", _Sum).total += 2
        before_commit(conn, "sum", _Sum).total += 3
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    assert _rows(store) == [5]


def test_a_failed_transaction_runs_none_of_it_and_leaves_none_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as conn:
        before_commit(conn, "sum", _Sum).total += 7
        raise RuntimeError("refused")
    with store.write() as conn:
        before_commit(conn, "sum", _Sum).total += 1
    with store.write():
        pass
    assert _rows(store) == [1]


def test_work_that_fails_rolls_the_transaction_back(store: Store) -> None:
    def failing() -> object:
        def work(conn: Connection) -> None:
            conn.execute(text("INSERT INTO nowhere VALUES (1)"))

        return work

    with pytest.raises(Exception), store.write() as conn:  # noqa: B017, PT011
        conn.execute(text("INSERT INTO t (v) VALUES (9)"))
        before_commit(conn, "bad", failing)
    assert _rows(store) == []
