"""SQLite's checkpoints (the write-ahead log copied into the database file) on a thread of
their own.

By default the connection whose COMMIT takes the log past a thousand pages copies them there
and syncs the database file before its COMMIT returns: every third batch of a hundred records
waited for that. A commit is durable once its pages are in the log and the log is synced
(``synchronous=FULL``), so the copy can happen beside the requests instead: the server's
connections turn the automatic checkpoint off, and this thread checkpoints once writes have
committed, at most every ``period`` seconds, in PASSIVE mode (it waits for no reader or writer,
and copies what no reader still needs).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, path: str, period: float = 0.5) -> None:
        self._path = path
        self._period = period
        self._due = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localspot-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A write committed: its pages wait in the log."""
        self._due.set()

    def close(self) -> None:
        self._closing.set()
        self._due.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while True:
            self._due.wait()
            # Commits that come meanwhile go into the same checkpoint.
            if self._closing.wait(self._period):
                break
            self._due.clear()
            try:
                if conn is None:
                    conn = sqlite3.connect(self._path, isolation_level=None)
                    # The copy is synced to the database file before the log is reused.
                    conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                # The log keeps the pages: the next commit's checkpoint copies them.
                log.warning("checkpoint failed", extra={"fields": {"error": str(exc)}})
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
