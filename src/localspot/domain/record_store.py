"""Records in the store: finding them, loading and writing their values and history.

Everything here runs inside a transaction the caller opened. Sensitive values are sealed on
the way in and opened on the way out through the Protector; they never touch a plaintext
column. Access decisions are made before these functions are called. Which record holds each
unique value is kept in ``record_uniques``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from localspot import policy
from localspot.domain import query_index
from localspot.domain.object_types import ObjectType
from localspot.domain.search_terms import TOKENIZED_TYPES, stored_tokenizer
from localspot.domain.values import Stored, ms_to_iso
from localspot.errors import unreadable_sealed_value
from localspot.protection import KeyringError, Protector, ValueRef
from localspot.store.driver import execute_many, fetch, insert_rows
from localspot.store.schema import (
    record_history,
    record_terms,
    record_values,
    records,
)

# Default properties HubSpot derives from the record itself rather than storing.
VIRTUAL = frozenset(
    {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_ticket_id"}
)
MAX_MERGE_DEPTH = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """Who made a change, as property history and webhooks report it (SPEC Part B16)."""

    type: str  # API, FORM, CRM_UI, IMPORT, INTEGRATION, MERGE
    id: str | None
    user_id: int | None = None
    label: str | None = None


class RecordRow(NamedTuple):
    """A records row as the hot read path returns it."""

    id: int
    hub_id: int
    object_type_id: str
    created_ms: int
    updated_ms: int
    archived: bool
    archived_ms: int | None
    merged_into: int | None


_FIND_SQL = (
    "SELECT id, hub_id, object_type_id, created_ms, updated_ms, archived, archived_ms, "
    "merged_into FROM records WHERE id = ? AND hub_id = ? AND object_type_id = ?"
)


def record_row(row: tuple[Any, ...]) -> RecordRow:
    """A records row read on the driver's cursor, its columns in the table's order (the first
    are ``RecordRow``'s; the rest, who created it, only history reads): SQLite gives
    ``archived`` as 0 or 1."""
    return RecordRow(*row[:5], bool(row[5]), row[6], row[7])


def find(conn: Connection, hub_id: int, object_type: ObjectType, record_id: int) -> Any | None:
    """A record row by id, following merges to the surviving record."""
    for _ in range(MAX_MERGE_DEPTH):
        found = fetch(conn, _FIND_SQL, (record_id, hub_id, object_type.id))
        if not found:
            return None
        row = found[0]
        if row[7] is None:
            return record_row(row)
        record_id = row[7]
    return None


# Ids looked up together go this many to a query: one IN list may not pass the 65,535
# parameters PostgreSQL takes in a statement (a batch may name far more records).
IDS_PER_QUERY = 1000


def find_many(
    conn: Connection, hub_id: int, object_type: ObjectType, ids: list[int]
) -> dict[int, Any]:
    """Record rows by id (merged ids resolve to their survivor), keyed by the asked id."""
    if len(ids) == 1:
        # A batch write asks for one record at a time: the driver's cursor is a fraction of
        # building and compiling an IN query each time.
        # TODO(records): batch update and upsert still make some eight round trips per record
        # (find, load, write values and history, touch, outbox); on PostgreSQL a batch/update
        # of 100 contacts takes ~0.5 s for that. Looking up and writing the whole batch at once,
        # as batch create does, would cut it to a handful.
        row = find(conn, hub_id, object_type, ids[0])
        return {} if row is None else {ids[0]: row}
    found = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        rows = conn.execute(
            select(records).where(
                records.c.id.in_(ids[start : start + IDS_PER_QUERY]),
                records.c.hub_id == hub_id,
                records.c.object_type_id == object_type.id,
            )
        )
        found.update((row.id, row) for row in rows)
    for asked, row in list(found.items()):
        if row.merged_into is not None:
            survivor = find(conn, hub_id, object_type, row.merged_into)
            if survivor is None:
                del found[asked]
            else:
                found[asked] = survivor
    return found


# Reading values -------------------------------------------------------------------------------


def load_values(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    record_ids: list[int],
    definitions: Iterable[Any],
) -> dict[int, dict[str, str]]:
    """{record id: {property name: value}} for the stored (non-virtual) definitions given."""
    by_id = {d.id: d for d in definitions if d.name not in VIRTUAL}
    out: dict[int, dict[str, str]] = {rid: {} for rid in record_ids}
    if not by_id or not record_ids:
        return out
    record_ids, property_ids = list(record_ids), list(by_id)
    rows = fetch(
        conn,
        "SELECT record_id, property_id, value, value_ct FROM record_values "
        f"WHERE record_id IN ({_marks(len(record_ids))}) "
        f"AND property_id IN ({_marks(len(property_ids))})",
        [*record_ids, *property_ids],
    )
    for record_id, property_id, value, sealed in rows:
        name = by_id[property_id].name
        if sealed is not None:
            value = open_sealed(
                protector, object_type, ValueRef(hub_id, object_type.id, record_id, name), sealed
            )
        out[record_id][name] = value
    return out


def open_sealed(protector: Protector, object_type: ObjectType, ref: ValueRef, sealed: bytes) -> str:
    """The plaintext, or HubSpot's error body when the envelope fails to open: never garbage,
    never another record's value (AES-GCM binds each envelope to its record and property)."""
    try:
        return protector.open(ref, sealed)
    except KeyringError as exc:  # SealedValueError, or a key no longer held
        # Ids and names only; the protection error's text holds no value either.
        log.error(
            "sealed value failed its integrity check",
            extra={
                "fields": {
                    "hubId": ref.hub_id,
                    "objectTypeId": ref.object_type_id,
                    "recordId": ref.record_id,
                    "property": ref.property_name,
                    "reason": str(exc),
                }
            },
        )
        raise unreadable_sealed_value(
            object_type.singular, ref.record_id, ref.property_name
        ) from None


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def virtual_value(object_type: ObjectType, row: Any, name: str) -> str | None:
    if name in ("hs_object_id", "hs_ticket_id"):
        return str(row.id)
    if name == "createdate":
        return ms_to_iso(row.created_ms)
    if name == object_type.last_modified_property:
        return ms_to_iso(row.updated_ms)
    return None


# A record's history rows, and the creation entry of each plaintext value it was created with
# and still holds (see ``records.created_source_type``): that value row has no history row yet.
_HISTORY_SQL = (
    "SELECT property_id, value, value_ct, timestamp_ms, source_type, source_id, source_label, "
    "updated_by_user_id, id FROM record_history WHERE record_id = ? AND property_id IN ({marks}) "
    "UNION ALL "
    "SELECT v.property_id, v.value, NULL, r.created_ms, r.created_source_type, "
    "r.created_source_id, r.created_source_label, r.created_by_user_id, 0 "
    "FROM record_values v JOIN records r ON r.id = v.record_id "
    "WHERE v.record_id = ? AND v.property_id IN ({marks}) AND v.value_ct IS NULL "
    "AND r.created_source_type IS NOT NULL AND NOT EXISTS (SELECT 1 FROM record_history h "
    "WHERE h.record_id = v.record_id AND h.property_id = v.property_id) "
    "ORDER BY 9 DESC"
)


def load_history(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    record_id: int,
    definitions: Iterable[Any],
) -> dict[str, list[dict[str, Any]]]:
    """Each named property's history, newest first, in HubSpot's ``ValueWithTimestamp`` shape."""
    by_id = {d.id: d for d in definitions}
    out: dict[str, list[dict[str, Any]]] = {d.name: [] for d in by_id.values()}
    if not by_id:
        return out
    property_ids = list(by_id)
    rows = fetch(
        conn,
        _HISTORY_SQL.format(marks=_marks(len(property_ids))),
        [record_id, *property_ids, record_id, *property_ids],
    )
    for property_id, value, sealed, timestamp_ms, source_type, source_id, label, user, _ in rows:
        name = by_id[property_id].name
        if sealed is not None:
            ref = ValueRef(hub_id, object_type.id, record_id, name)
            value = open_sealed(protector, object_type, ref, sealed)
        entry: dict[str, Any] = {
            "value": value,
            "timestamp": ms_to_iso(timestamp_ms),
            "sourceType": source_type,
        }
        if source_id is not None:
            entry["sourceId"] = source_id
        if label is not None:
            entry["sourceLabel"] = label
        if user is not None:
            entry["updatedByUserId"] = user
        out[name].append(entry)
    return out


# Writing values -------------------------------------------------------------------------------


class Change(NamedTuple):
    """One property of one record that a write changed (a tuple: a batch makes thousands)."""

    record_id: int
    definition: Any
    old: str | None
    new: Stored


_NEW_RECORDS_CHUNK = 500


def new_records(
    conn: Connection,
    hub_id: int,
    object_type: ObjectType,
    now_ms: int,
    count: int,
    source: Source,
) -> list[int]:
    """Inserts ``count`` empty records created by ``source``; their ids, ascending.

    The rows are alike, so which id goes to which input does not matter: one multi-row insert
    with RETURNING, its ids sorted. (SQLAlchemy's RETURNING in parameter order ran one
    statement per row on SQLite, a third of a batch's store time.)
    """
    ids: list[int] = []
    row = (
        hub_id,
        object_type.id,
        now_ms,
        now_ms,
        False,
        source.type,
        source.id,
        source.label,
        source.user_id,
    )
    # SQLite numbers its parameters: every row names the same nine (see driver.insert_rows).
    sqlite = conn.dialect.name == "sqlite"
    marks = "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" if sqlite else "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
    while len(ids) < count:
        n = min(_NEW_RECORDS_CHUNK, count - len(ids))
        sql = (
            "INSERT INTO records (hub_id, object_type_id, created_ms, updated_ms, archived, "
            "created_source_type, created_source_id, created_source_label, created_by_user_id) "
            f"VALUES {', '.join([marks] * n)} RETURNING id"
        )
        ids += [found[0] for found in fetch(conn, sql, row if sqlite else row * n)]
    return sorted(ids)


# New value rows in three shapes, so that no statement binds the NULLs of another: text,
# numbers (and dates, booleans), sealed.
_TEXT_COLUMNS = ("record_id", "property_id", "value", "value_norm")
_PLAIN_COLUMNS = ("record_id", "property_id", "value", "value_norm", "value_num")
_SEALED_COLUMNS = ("record_id", "property_id", "value_ct", "value_bidx")
_HISTORY_COLUMNS = ("record_id", "property_id", "value", "value_ct")


_UPDATE_SQL = (
    "UPDATE record_values SET value = ?, value_norm = ?, value_num = ?, value_ct = ?, "
    "value_bidx = ?, updated_ms = ? WHERE record_id = ? AND property_id = ?"
)
_CLEAR_TERMS_SQL = "DELETE FROM record_terms WHERE record_id = ? AND property_id = ?"


def write_changes(
    conn: Connection,
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    changes: list[Change],
    now_ms: int,
    source: Source,
    new_records: bool = False,
) -> None:
    """Stores new values, their history and search terms (unique values are claimed before,
    by ``record_claims``).

    ``new_records``: every change is to a record that ``new_records`` created in this
    transaction and that holds no values yet. Its plaintext values then get no history row:
    their creation entry is read from the value row and the record (``load_history``).
    """
    texts: list[tuple] = []
    plain: list[tuple] = []
    sealed_rows: list[tuple] = []
    updates: list[tuple] = []
    replaced: list[tuple[int, int]] = []
    history: list[tuple] = []
    terms: list[tuple] = []
    # Whole-value terms, which value_norm stands for in record_terms (search_terms.norm_term).
    wholes: list[tuple] = []
    # Per property, once for the batch: whether its values are sealed, what gives the terms
    # kept of them, and whether value_norm stands for the whole-value term.
    plans: dict[int, tuple[bool, Callable[[str], frozenset[str]] | None, bool]] = {}
    for record_id, definition, old, stored in changes:
        property_id = definition.id
        plan = plans.get(property_id)
        if plan is None:
            protected = policy.is_protected(definition.data_sensitivity)
            tokenizer = stored_tokenizer(definition, protected)
            in_norm = tokenizer is not None and definition.type in TOKENIZED_TYPES
            plan = plans[property_id] = (protected, tokenizer, in_norm)
        protected, tokenize, in_norm = plan
        text = stored.text
        if protected and text:
            value, norm, num, sealed, bidx = _columns(
                protector, hub_id, object_type, record_id, definition, stored, protected
            )
        else:
            value, norm, num, sealed, bidx = text, stored.norm, stored.num, None, None
        if old is None:
            if sealed is not None:
                sealed_rows.append((record_id, property_id, sealed, bidx))
            elif num is None:
                texts.append((record_id, property_id, value, norm))
            else:
                plain.append((record_id, property_id, value, norm, num))
        else:
            replaced.append((record_id, property_id))
            updates.append((value, norm, num, sealed, bidx, now_ms, record_id, property_id))
        if tokenize is not None and text:
            found = tokenize(text)
            if in_norm and norm in found:
                wholes.append((property_id, norm, record_id))
                terms += [(property_id, term, record_id) for term in found if term != norm]
            else:
                terms += [(property_id, term, record_id) for term in found]
        # A sealed value's history keeps an envelope of its own, so that it still opens
        # (and stays that record's) whatever becomes of the value row's.
        if not new_records or sealed is not None:
            history.append((record_id, property_id, value, sealed))
    stamped = {"updated_ms": now_ms}
    if texts:
        insert_rows(conn, record_values.name, _TEXT_COLUMNS, texts, stamped)
    if plain:
        insert_rows(conn, record_values.name, _PLAIN_COLUMNS, plain, stamped)
    if sealed_rows:
        insert_rows(conn, record_values.name, _SEALED_COLUMNS, sealed_rows, stamped)
    if updates:
        _keep_creation_entries(conn, replaced)
        execute_many(conn, _UPDATE_SQL, updates)
        execute_many(conn, _CLEAR_TERMS_SQL, replaced)
    if history:
        trail = {
            "timestamp_ms": now_ms,
            "source_type": source.type,
            "source_id": source.id,
            "source_label": source.label,
            "updated_by_user_id": source.user_id,
        }
        insert_rows(conn, record_history.name, _HISTORY_COLUMNS, history, trail)
    if terms:
        # In primary key order: each row lands beside the one before (some 15% of the insert).
        terms.sort()
        insert_rows(conn, record_terms.name, ("property_id", "term", "record_id"), terms)
    changed = ((c.record_id, c.definition.id) for c in changes)
    if new_records:
        query_index.created(conn, hub_id, object_type, changed, chain(terms, wholes))
    else:
        query_index.written(conn, hub_id, object_type, set(changed))


# Up to 400 (record id, property id) pairs a statement: 800 parameters, under SQLite's 999.
_PAIRS_PER_STATEMENT = 400


def _keep_creation_entries(conn: Connection, replaced: list[tuple[int, int]]) -> None:
    """Before values are replaced: the creation entry of each that has no history row of its
    own (see ``load_history``) becomes one, so that the history keeps it."""
    for start in range(0, len(replaced), _PAIRS_PER_STATEMENT):
        chunk = replaced[start : start + _PAIRS_PER_STATEMENT]
        execute_many(
            conn,
            _KEEP_CREATION_SQL.format(pairs=", ".join(["(?, ?)"] * len(chunk))),
            [tuple(chain.from_iterable(chunk))],
        )


# Joined from the pairs as a table: a row-value IN on SQLite scans record_values instead.
_KEEP_CREATION_SQL = (
    "INSERT INTO record_history (record_id, property_id, value, value_ct, timestamp_ms, "
    "source_type, source_id, source_label, updated_by_user_id) "
    "SELECT v.record_id, v.property_id, v.value, NULL, r.created_ms, r.created_source_type, "
    "r.created_source_id, r.created_source_label, r.created_by_user_id "
    "FROM (VALUES {pairs}) AS p "
    "JOIN record_values v ON v.record_id = p.column1 AND v.property_id = p.column2 "
    "JOIN records r ON r.id = v.record_id "
    "WHERE v.value_ct IS NULL AND r.created_source_type IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM record_history h WHERE h.record_id = v.record_id "
    "AND h.property_id = v.property_id)"
)


def _columns(
    protector: Protector,
    hub_id: int,
    object_type: ObjectType,
    record_id: int,
    definition: Any,
    stored: Stored,
    protected: bool,
) -> tuple[str | None, str | None, float | None, bytes | None, str | None]:
    """(value, value_norm, value_num, value_ct, value_bidx) as stored."""
    if not protected or stored.text == "":
        return stored.text, stored.norm, stored.num, None, None
    norm, num, bidx = derived(protector, hub_id, object_type, definition, stored)
    if bidx is None:
        return stored.text, norm, num, None, None
    ref = ValueRef(hub_id, object_type.id, record_id, definition.name)
    return None, None, None, protector.seal(ref, stored.text), bidx


def derived(
    protector: Protector, hub_id: int, object_type: ObjectType, definition: Any, stored: Stored
) -> tuple[str | None, float | None, str | None]:
    """(value_norm, value_num, value_bidx): what search compares instead of the value."""
    if stored.text == "" or not policy.is_protected(definition.data_sensitivity):
        return stored.norm, stored.num, None
    norm = stored.text.strip().lower() if definition.type != "enumeration" else stored.text
    return None, None, protector.blind_index(hub_id, object_type.id, definition.name, norm)


_TOUCH_SQL = "UPDATE records SET updated_ms = ? WHERE id = ?"


def touch(conn: Connection, record_ids: list[int], now_ms: int) -> None:
    if record_ids:
        execute_many(conn, _TOUCH_SQL, [(now_ms, record_id) for record_id in record_ids])
