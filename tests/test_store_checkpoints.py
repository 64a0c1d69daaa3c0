"""SQLite checkpoints run beside the writes (store/checkpoints.py), never inside a COMMIT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from localspot.store.engine import Store
from tests.conftest import STORE

pytestmark = pytest.mark.skipif(STORE != "sqlite", reason="PostgreSQL has no WAL to copy")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    opened.migrate()
    with opened.write() as conn:
        conn.execute(text("CREATE TABLE filler (body TEXT)"))
    yield opened
    opened.dispose()


def _until(check: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_commit_leaves_its_pages_in_the_log_and_the_thread_copies_them(
    store: Store, tmp_path: Path
) -> None:
    database = tmp_path / "store.db"
    time.sleep(1)  # the migration's own checkpoint
    before = database.stat().st_size
    # Some 8 MB: past SQLite's automatic checkpoint (1,000 pages), which would copy them.
    for _ in range(4):
        with store.write() as conn:
            conn.execute(
                text("INSERT INTO filler (body) VALUES (:body)"),
                [{"body": "x" * 1000} for _ in range(2000)],
            )
    assert database.stat().st_size == before
    assert _until(lambda: database.stat().st_size > before + 7_000_000)
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM filler")).scalar_one() == 8000


def test_closing_the_store_stops_the_thread(tmp_path: Path) -> None:
    opened = Store(f"sqlite:///{tmp_path / 'other.db'}")
    opened.migrate()
    thread = opened._checkpoints._thread  # type: ignore[union-attr]
    assert thread.is_alive()
    opened.dispose()
    assert not thread.is_alive()
