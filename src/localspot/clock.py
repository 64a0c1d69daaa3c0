"""The one clock of the server.

Expiry, retries and purges read time only from here, so that tests and the control plane can
move it forward. The offset lives in the store, so that every process of one deployment agrees;
each process re-reads it at most once a second and at once after changing it itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

_REFRESH_SECONDS = 1.0


class Clock:
    def __init__(self, load_offset: Callable[[], float] | None = None) -> None:
        self._load_offset = load_offset
        self._offset = 0.0
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _current_offset(self) -> float:
        if self._load_offset is None:
            return self._offset
        mono = time.monotonic()
        if mono - self._loaded_at > _REFRESH_SECONDS:
            with self._lock:
                if mono - self._loaded_at > _REFRESH_SECONDS:
                    self._offset = self._load_offset()
                    self._loaded_at = mono
        return self._offset

    def time(self) -> float:
        """Seconds since the epoch, as the server sees them."""
        return time.time() + self._current_offset()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def millis(self) -> int:
        return int(self.time() * 1000)

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._offset = offset
            self._loaded_at = time.monotonic()

    @property
    def offset(self) -> float:
        return self._current_offset()


def iso(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601 in UTC, milliseconds, ``Z``."""
    # isoformat is several times faster than strftime, which shows when listing hundreds of
    # properties; its first 23 characters are the date, time and milliseconds.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"
