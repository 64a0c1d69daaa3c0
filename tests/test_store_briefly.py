"""Reads tried on the event loop (Store.briefly): bounded, never half-kept, never writing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from localspot.store import engine
from localspot.store.engine import Store, WouldWait, when_kept

# A query that runs for seconds in SQLite's virtual machine, with no I/O to wait on.
SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
    "SELECT count(*) FROM n"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'briefly.db'}")
    with made.write() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    yield made
    made.dispose()


def test_a_short_read_runs_and_its_kept_work_runs_once(store: Store) -> None:
    kept: list[str] = []
    with store.briefly(1.0), store.read() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42
        when_kept(lambda: kept.append("audit row"))
        assert kept == []
    assert kept == ["audit row"]


def test_a_long_read_is_interrupted_and_its_kept_work_dropped(store: Store) -> None:
    kept: list[str] = []
    with pytest.raises(WouldWait), store.briefly(0.02):
        when_kept(lambda: kept.append("audit row"))
        try:
            with store.read() as conn:
                conn.execute(text(SLOW)).scalar_one()
        except Exception:  # noqa: BLE001 - whatever a handler makes of it, WouldWait wins
            pass
    assert kept == []
    # The pooled connection was freed of its handler: the same query runs to the end outside.
    with store.read() as conn:
        assert conn.execute(text(SLOW.replace("100000000", "300000"))).scalar_one() == 300000


def test_a_write_refuses_before_it_starts(store: Store) -> None:
    with pytest.raises(WouldWait), store.briefly(1.0), store.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_an_error_answer_stands_with_its_kept_work(store: Store) -> None:
    kept: list[str] = []
    with pytest.raises(LookupError), store.briefly(1.0):
        when_kept(lambda: kept.append("audit row"))
        raise LookupError("404, say")
    assert kept == ["audit row"]


def test_outside_briefly_kept_work_runs_at_once() -> None:
    kept: list[str] = []
    when_kept(lambda: kept.append("now"))
    assert kept == ["now"]


def test_a_read_never_waits_for_a_pooled_connection(store: Store) -> None:
    """Regression: with every pooled connection taken by worker threads, a read on the event
    loop waited up to the pool timeout for one, stalling every other request."""
    held = []
    try:
        while store.engine.pool.checkedout() < sum(engine._SQLITE_POOL):  # type: ignore[attr-defined]
            held.append(store.engine.connect())
        with pytest.raises(WouldWait), store.briefly(1.0), store.read():
            pass
    finally:
        for conn in held:
            conn.close()
    with store.briefly(1.0), store.read() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
