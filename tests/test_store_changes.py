"""What a PostgreSQL store remembers, and when it stops: the listener that hears every commit
(store/changes.py), and reads that cost one round trip (store/engine.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from localspot.settings import Settings
from localspot.store import changes
from localspot.store.changes import CHANNEL
from localspot.store.engine import Store
from localspot.testing import App
from tests.conftest import STORE

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="SQLite has its own data_version")


def until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Polls ``check`` for a bounded time: the listener hears other connections' commits a
    moment after they return."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A store of its own (a process, as far as PostgreSQL can tell) over the test schema."""
    opened = Store(Settings(database_url=database_url).sqlalchemy_url)
    opened.migrate()
    assert until(lambda: opened.generation() is not None)
    yield opened
    opened.dispose()


@pytest.fixture
def other(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another process's connection: commits the listener knows nothing of in advance."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def test_nothing_is_remembered_until_the_listener_is_connected(database_url: str) -> None:
    opened = Store(Settings(database_url=database_url).sqlalchemy_url)
    gate = threading.Event()
    connect = opened._changes._connect  # type: ignore[union-attr]
    opened._changes._connect = lambda: gate.wait() and connect()  # type: ignore[union-attr]
    try:
        assert opened.remembers
        loads: list[int] = []
        load = lambda conn: loads.append(1) or len(loads)  # noqa: E731
        assert [opened.remembered("key", load) for _ in range(3)] == [1, 2, 3]
        assert opened.generation() is None
        gate.set()
        assert until(lambda: opened.generation() is not None)
        assert [opened.remembered("key", load) for _ in range(3)] == [4, 4, 4]
    finally:
        gate.set()
        opened.dispose()


def test_a_commit_elsewhere_to_a_watched_table_moves_the_generation(
    store: Store, other: psycopg.Connection[Any]
) -> None:
    before = store.generation()
    other.execute("UPDATE accounts SET name = name WHERE false")
    assert until(lambda: store.generation() != before)

    # A table no remembered value is read from says nothing; neither does a rolled-back write.
    settled = store.generation()
    other.execute("UPDATE server_state SET value = value WHERE false")
    with other.transaction(force_rollback=True):
        other.execute("UPDATE private_apps SET name = name WHERE false")
    other.execute("SELECT pg_sleep(0.2)")
    assert store.generation() == settled


def test_another_schemas_commits_are_not_ours(store: Store, other: psycopg.Connection[Any]) -> None:
    schema = other.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
    before = store.generation()
    other.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"not_{schema}"))
    other.execute("SELECT pg_sleep(0.2)")
    assert store.generation() == before
    other.execute("SELECT pg_notify(%s, %s)", (CHANNEL, schema))
    assert until(lambda: store.generation() != before)


def test_a_definition_committed_elsewhere_is_read_next(
    store: Store, other: psycopg.Connection[Any], full_app: App
) -> None:
    """What the process keeps about definitions ends with another process's commit."""
    where = "hub_id = %s AND object_type_id = '0-1' AND name = 'email'"
    sql = text(
        "SELECT label FROM property_definitions"
        " WHERE hub_id = :hub AND object_type_id = '0-1' AND name = 'email'"
    )

    def label(conn: Any) -> str:
        return str(conn.execute(sql, {"hub": full_app.hub_id}).scalar_one())

    key = ("email label", full_app.hub_id)
    first = store.remembered(key, label)

    def asked(conn: Any) -> str:
        raise LookupError("not kept")

    def kept() -> bool:
        # Polled: the notification of the fixture's commits (the account) may land meanwhile.
        store.remembered(key, label)
        try:
            return store.remembered(key, asked) == first
        except LookupError:
            return False

    assert until(kept)
    other.execute(
        f"UPDATE property_definitions SET label = 'Changed' WHERE {where}", (full_app.hub_id,)
    )
    assert until(lambda: store.remembered(key, label) == "Changed")


def test_our_own_commit_moves_the_generation_before_it_returns(store: Store) -> None:
    for _ in range(20):
        before = store.generation()
        with store.write() as conn:
            conn.execute(text("UPDATE server_state SET value = value WHERE false"))
        assert store.generation() != before


def test_a_dropped_listener_remembers_nothing_until_it_reconnects(
    store: Store, other: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "RETRY_SECONDS", 1.0)  # time to look while it is away
    before = store.generation()
    assert before is not None
    pid = store._changes.backend_pid  # type: ignore[union-attr]
    other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert until(lambda: store.generation() is None)
    loads: list[int] = []
    store.remembered("dropped", lambda conn: loads.append(1))
    store.remembered("dropped", lambda conn: loads.append(1))
    assert len(loads) == 2
    # Back under a new number: anything committed while it was away may have gone unheard.
    assert until(lambda: store.generation() is not None)
    assert store.generation() > before  # type: ignore[operator]
    assert store._changes.backend_pid != pid  # type: ignore[union-attr]


def test_a_listener_that_stops_hearing_from_the_server_is_not_trusted(store: Store) -> None:
    store._changes._alive_until = 0.0  # type: ignore[union-attr]  # as if its probes stalled
    assert store.generation() is None
    assert until(lambda: store.generation() is not None)  # the next probe vouches again


def test_a_deaf_listener_is_not_trusted_and_listens_afresh(store: Store) -> None:
    """A connection that is alive but hears nothing (as behind a pooler in transaction mode)
    must not pass for a listening one."""
    before = store.generation()
    pid = store._changes.backend_pid  # type: ignore[union-attr]
    store._changes.conn.execute("UNLISTEN *")  # type: ignore[union-attr]
    assert until(lambda: store.generation() is None, changes.STALE_SECONDS + 3)
    assert until(lambda: store.generation() is not None)
    assert store.generation() > before  # type: ignore[operator]
    assert store._changes.backend_pid != pid  # type: ignore[union-attr]


def test_a_plain_read_is_one_round_trip(store: Store, tmp_path: Path) -> None:
    """No ping at checkout and no BEGIN or COMMIT around a READ COMMITTED read."""
    with store.read() as conn:
        traced = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    log = tmp_path / "trace"
    with log.open("w") as out:
        traced.trace(out.fileno())
        try:
            with store.shared_reads():
                for _ in range(2):
                    with store.read() as conn:
                        assert conn.connection.driver_connection.pgconn is traced  # type: ignore[union-attr]
                        conn.execute(text("SELECT 1 AS probe")).all()
        finally:
            traced.untrace()
    sent = [line.split("\t")[3:5] for line in log.read_text().splitlines() if "\tF\t" in line]
    assert [kind for kind, _ in sent] == ["Query", "Query"], sent


def test_pooled_connections_the_server_closed_are_replaced_unseen(
    store: Store, other: psycopg.Connection[Any]
) -> None:
    """What a PostgreSQL restart does to the pool, without a ping on every checkout."""
    with store.read() as a, store.read() as b:
        pids = [c.connection.driver_connection.info.backend_pid for c in (a, b)]  # type: ignore[union-attr]
    for pid in pids:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)  # the server's goodbye reaches the pooled sockets
    with store.read() as a, store.read() as b:
        for conn in (a, b):
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.connection.driver_connection.info.backend_pid not in pids  # type: ignore[union-attr]
