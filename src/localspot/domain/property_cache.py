"""Rendered property definitions kept between requests, checked against the store each time.

Listing an object's definitions is the most frequent call of the Properties API, and its rows
change rarely. Every write to an object's definitions replaces a random marker in the same
transaction; a read fetches the marker first (one primary-key lookup) and reuses what it
rendered before while the marker is unchanged. The marker lives in the store, so several server
processes over one database stay correct; each keeps its own bounded copy.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from localspot.store.driver import fetch
from localspot.store.schema import property_definition_versions as versions

# Bounded by definitions held, not entries: 20,000 rendered definitions are some 30 MB.
MAX_CACHED_DEFINITIONS = 20_000

Rendered = dict[str, Any]
Key = tuple[int, str, bool]


class _Entry:
    __slots__ = ("by_name", "by_level", "size", "version")

    def __init__(self, version: str, rendered: list[Rendered]) -> None:
        self.version = version
        self.by_name = {p["name"]: p for p in rendered}
        self.by_level: dict[str, list[Rendered]] = {}
        for p in rendered:
            self.by_level.setdefault(p["dataSensitivity"], []).append(p)
        self.size = max(1, len(rendered))


_entries: OrderedDict[Key, _Entry] = OrderedDict()
_held = 0
_lock = threading.Lock()


def touch(conn: Connection, hub_id: int, object_type_ids: Iterable[str]) -> None:
    """Marks definitions of these objects as changed; call in the writing transaction."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for object_type_id in set(object_type_ids):
        statement = dialect.insert(versions).values(
            hub_id=hub_id, object_type_id=object_type_id, version=uuid.uuid4().hex
        )
        statement = statement.on_conflict_do_update(
            index_elements=[versions.c.hub_id, versions.c.object_type_id],
            set_={"version": statement.excluded.version},
        )
        conn.execute(statement)


_VERSION_SQL = (
    "SELECT version FROM property_definition_versions WHERE hub_id = ? AND object_type_id = ?"
)


def _version(conn: Connection, hub_id: int, object_type_id: str) -> str | None:
    found = fetch(conn, _VERSION_SQL, (hub_id, object_type_id))
    return found[0][0] if found else None


def _fresh(key: Key, version: str | None) -> _Entry | None:
    if version is None:
        return None
    with _lock:
        entry = _entries.get(key)
        if entry is None or entry.version != version:
            return None
        _entries.move_to_end(key)
        return entry


def _keep(key: Key, entry: _Entry) -> None:
    global _held
    with _lock:
        old = _entries.pop(key, None)
        _held -= old.size if old else 0
        _entries[key] = entry
        _held += entry.size
        while _held > MAX_CACHED_DEFINITIONS and len(_entries) > 1:
            _, evicted = _entries.popitem(last=False)
            _held -= evicted.size


def by_level(
    conn: Connection,
    hub_id: int,
    object_type_id: str,
    archived: bool,
    level: str,
    load: Callable[[], list[Rendered]],
) -> list[Rendered]:
    """The rendered definitions of one sensitivity level; ``load`` renders all levels.

    The marker is read before the rows: a write committed in between then leaves newer rows
    under the older marker, which the next read replaces, and never the reverse.
    """
    key = (hub_id, object_type_id, archived)
    version = _version(conn, hub_id, object_type_id)
    entry = _fresh(key, version)
    if entry is None:
        entry = _Entry(version or "", load())
        if version is not None:
            _keep(key, entry)
    return entry.by_level.get(level, [])


def one(
    conn: Connection, hub_id: int, object_type_id: str, archived: bool, name: str
) -> Rendered | None:
    """A rendered definition if a fresh copy is at hand; None means "ask the store"."""
    entry = _fresh((hub_id, object_type_id, archived), _version(conn, hub_id, object_type_id))
    return entry.by_name.get(name) if entry is not None else None


# Every active definition of an object as the domains check writes against (not rendered), by
# (hub id, object type id): a write transaction reads the marker instead of every row.
_active: OrderedDict[tuple[int, str], tuple[str, dict[str, Any]]] = OrderedDict()
_active_held = 0


def active(
    conn: Connection, hub_id: int, object_type_id: str, load: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``load()``'s definitions by name, or a copy of them kept while the marker is unchanged.

    Safe inside a write transaction: one that changed the definitions changed the marker to a
    new random value too, which no kept copy carries (nor any store, should it roll back).
    """
    global _active_held
    key = (hub_id, object_type_id)
    version = _version(conn, hub_id, object_type_id)
    if version is not None:
        with _lock:
            found = _active.get(key)
            if found is not None and found[0] == version:
                _active.move_to_end(key)
                return dict(found[1])
    loaded = load()
    if version is not None:
        with _lock:
            old = _active.pop(key, None)
            _active_held -= len(old[1]) if old else 0
            _active[key] = (version, dict(loaded))
            _active_held += len(loaded)
            while _active_held > MAX_CACHED_DEFINITIONS and len(_active) > 1:
                _, (_, evicted) = _active.popitem(last=False)
                _active_held -= len(evicted)
    return loaded
