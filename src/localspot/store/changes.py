"""Commits to a PostgreSQL store, as one number per process: what ``Store.remembered`` keys on.

Triggers (migration b06d02398c29) NOTIFY on every commit to the tables that remembered values
are read from, whichever process or tool commits. One connection per process LISTENs, on a
thread of its own. The generation moves with every notification for our schema, with every
commit made through this process's store (before that commit returns, so a request right after
a write sees it) and with every connection of the listener (notifications may have been
missed while it had none). While the listener has no connection, or has not heard from the
server lately, there is no generation, and nothing is remembered.

Another process's commit reaches us within the notification delay: the time PostgreSQL takes
to wake our listener's backend and our thread takes to read the message, well under a
millisecond on an idle machine, more under load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "localspot_changes"
# The listener notifies itself this often, and its own notification coming back proves that
# every commit notified before it has been heard: the connection is alive and really listening
# (a pooler in transaction mode would take the LISTEN and deliver nothing). Past STALE_SECONDS
# without that proof (a connection gone without a word, a deaf one, a thread starved of the
# CPU) the generation is withheld and the listener connects afresh, so that no such failure
# keeps stale values in use for longer.
PING_SECONDS = 1.0
STALE_SECONDS = 3.0
RETRY_SECONDS = 0.5


class _Deaf(Exception):
    """The listener's own notifications stopped coming back."""


class Changes:
    """The generation of one PostgreSQL store in this process; started by the first ask."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._counter = 0
        # One attribute, so that a reader on another thread sees a whole state: None while
        # the listener is not connected.
        self._current: int | None = None
        self._alive_until = 0.0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # The listener's connection and its server process, for tests that cut it off.
        self.conn: Any = None
        self.backend_pid: int | None = None

    def generation(self) -> int | None:
        if self._thread is None:
            self._start()
        current = self._current
        if current is None or time.monotonic() > self._alive_until:
            return None
        return current

    def bump(self) -> None:
        """Something committed: values remembered under the current generation are spent."""
        with self._lock:
            self._counter += 1
            if self._current is not None:
                self._current = self._counter

    def close(self) -> None:
        """Stops listening; the thread closes its connection within ``PING_SECONDS``."""
        self._stopping.set()
        self._disconnected()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="localspot-changes", daemon=True)
            self._thread.start()

    def _connected(self) -> None:
        with self._lock:
            self._counter += 1
            self._current = self._counter
            self._alive_until = time.monotonic() + STALE_SECONDS

    def _disconnected(self) -> None:
        with self._lock:
            self._current = None

    def _run(self) -> None:
        was_connected = False
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    self.conn = conn
                    was_connected = True
                    self._listen(conn)
            except Exception as exc:  # noqa: BLE001 - any failure means "connect afresh"
                self._disconnected()
                # Once per outage, not once per attempt to reconnect.
                if was_connected and not self._stopping.is_set():
                    log.warning(
                        "change listener lost its connection; nothing is remembered until it "
                        "reconnects",
                        extra={"fields": {"error": type(exc).__name__}},
                    )
                was_connected = False
            self._stopping.wait(RETRY_SECONDS)

    def _listen(self, conn: Any) -> None:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(f"LISTEN {CHANNEL}")
        self.backend_pid = conn.info.backend_pid
        probe = f"{schema} probe {self.backend_pid}"  # what no trigger sends
        # Only now: a commit from here on is heard, and what came before is not remembered.
        self._connected()
        while not self._stopping.is_set():
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, probe))
            for notify in conn.notifies(timeout=PING_SECONDS):
                if notify.payload == schema:
                    self.bump()
                elif notify.payload == probe:
                    self._alive_until = time.monotonic() + STALE_SECONDS
            if time.monotonic() > self._alive_until:
                raise _Deaf
        self._disconnected()
