"""Values read from the store, kept for as long as nothing has committed to the database.

The hottest reads (who a token stands for, the definitions of an object's properties) change
rarely but are wanted on almost every request, and reading them again costs more than the rest
of the request. SQLite tells in microseconds whether any connection, of any process, has
committed since it last looked (``PRAGMA data_version``); a PostgreSQL store hears of commits
as notifications (``changes``). A value loaded under one such generation is exact while the
generation stands (on PostgreSQL, up to the notification delay for other processes' commits).
The store decides where that holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# Entries, not bytes: the large values (definition lists) are shared with the property cache.
MAX_ENTRIES = 4096


class Memo:
    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int, load: Callable[[], T]) -> T:
        """The value kept for ``key`` under ``generation``, or ``load()``'s, kept under it.

        ``generation`` must be read before ``load`` starts its transaction, so that a value is
        never older than the generation it is kept under.
        """
        with self._lock:
            held = self._entries.get(key)
            if held is not None and held[0] == generation:
                self._entries.move_to_end(key)
                return held[1]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return value
