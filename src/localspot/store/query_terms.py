"""The free-text ``query`` index (``query_terms``): its upkeep and the SQL that reads it.

The rows of an object type derive from the terms of record_terms and those that value_norm
stands for (``WHOLE_VALUE_TERM_TYPES``), restricted to the properties recorded
for it in ``query_term_scopes`` and to live records; the domain (``domain/query_index.py``)
calls in here whenever either changes. Every statement works on both stores.
"""

from __future__ import annotations

import string
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union,
)

from localspot.store.driver import execute_many, fetch, insert_rows
from localspot.store.engine import before_commit
from localspot.store.schema import (
    WHOLE_VALUE_TERM_TYPES,
    property_definitions,
    query_prefix_counts,
    query_term_scopes,
    query_terms,
    record_terms,
    record_values,
    records,
)

# Sorts after every string a term can hold, in byte order.
TOP = "\U0010ffff"
_CHUNK = 500

# A query word of up to this many characters takes its total from query_prefix_counts: short
# words are the ones whose hits span a long range of query_terms (a quarter of a million
# entries for a four-letter surname prefix over a million contacts, ~50 ms to walk), while
# each character more divides the range and multiplies the prefixes a write keeps counted.
COUNTED_PREFIX = 4
_LENGTHS = tuple(range(1, COUNTED_PREFIX + 1))
# Writers on PostgreSQL add to the counts of one shard each (see schema.query_prefix_counts).
_SHARDS = 8


def recorded_ids(conn: Connection, hub_id: int, object_type_id: str) -> tuple[int, ...] | None:
    """The properties the rows of the object type were built from; None if never built."""
    # Read on every write of record values: through the driver's cursor, a few microseconds.
    found = fetch(
        conn,
        "SELECT property_ids FROM query_term_scopes WHERE hub_id = ? AND object_type_id = ?",
        (hub_id, object_type_id),
    )
    if not found:
        return None
    return tuple(int(i) for i in found[0][0].split(",") if i)


# Query terms are folded to lower case in ASCII, as both stores' lower() folds (SQLite's without
# ICU, PostgreSQL's in the C collation of the column): a string's terms are lower case already,
# an enumeration's options are kept as given, and the free-text query ignores case.
# TODO(search): an enumeration option with capitals beyond ASCII ("Émile") is not found by its
# lower-case spelling; that needs a fold both stores compute alike.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(term: str) -> str:
    return term.lower() if term.isascii() else term.translate(_ASCII_LOWER)


# What str.strip() strips: a value_norm made of these alone is no term (search_terms).
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def not_blank(column: Any, sqlite: bool) -> ColumnElement[bool]:
    """``column`` holds more than whitespace (as str.strip() sees it), on either store."""
    return (func.trim if sqlite else func.btrim)(column, WHITESPACE) != ""  # type: ignore[no-any-return]


def _derive(
    conn: Connection, property_ids: Sequence[int], record_ids: Sequence[int] | None = None
) -> Any:  # an INSERT ... SELECT
    """The rows of the properties' terms: record_terms, and the value_norm of each value whose
    whole-value term it stands for (schema.WHOLE_VALUE_TERM_TYPES); of ``record_ids`` only, if
    given."""
    t, v, d = record_terms.c, record_values.c, property_definitions.c
    ids = list(property_ids)
    kept = select(t.record_id, func.lower(t.term).label("term")).where(t.property_id.in_(ids))
    whole = (
        select(v.record_id, func.lower(v.value_norm).label("term"))
        .join(property_definitions, d.id == v.property_id)
        .where(
            v.property_id.in_(ids),
            d.type.in_(WHOLE_VALUE_TERM_TYPES),
            v.value_norm.is_not(None),
            not_blank(v.value_norm, conn.dialect.name == "sqlite"),
        )
    )
    if record_ids is not None:
        kept = kept.where(t.record_id.in_(record_ids))
        whole = whole.where(v.record_id.in_(record_ids))
    words = union(kept, whole).subquery("words")
    r = records.c
    previous = func.lag(words.c.term).over(partition_by=words.c.record_id, order_by=words.c.term)
    rows = (
        select(r.hub_id, r.object_type_id, words.c.term, words.c.record_id, previous)
        .select_from(words.join(records, r.id == words.c.record_id))
        .where(r.archived.is_(False), r.merged_into.is_(None))
        # In key order, the rows append to the table instead of landing anywhere.
        .order_by(r.hub_id, r.object_type_id, words.c.term, words.c.record_id)
    )
    columns = ["hub_id", "object_type_id", "term", "record_id", "prev_term"]
    return insert(query_terms).from_select(columns, rows)


def refresh(conn: Connection, hub_id: int, object_type_id: str, record_ids: Sequence[int]) -> None:
    """Rebuilds the rows of these records (of one object type) from their terms and state."""
    property_ids = recorded_ids(conn, hub_id, object_type_id)
    if property_ids is None:
        return
    ids = sorted(set(record_ids))
    counts = _pending(conn)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        _tally(counts, _by_record(_delete_returning(conn, chunk)), -1)
        if property_ids:
            derived = _derive(conn, property_ids, chunk)
            _tally(counts, _by_record(conn.execute(derived.returning(*_ENTRY))), 1)


_ADD_COLUMNS = ("term", "record_id", "prev_term")


def add_new(
    conn: Connection,
    hub_id: int,
    object_type_id: str,
    property_ids: Sequence[int],
    terms: Iterable[tuple[int, str, int]],
) -> None:
    """The rows of live records that had none, from every (property id, term, record id) of
    theirs just written (record_terms' rows, and the whole-value terms their value_norm stands
    for): what ``refresh`` would derive, without a DELETE and an INSERT ... SELECT that reads
    them back (a quarter of a batch create's store time)."""
    wanted = set(property_ids)
    by_record: dict[int, set[str]] = {}
    for property_id, term, record_id in terms:
        if property_id in wanted:
            found = by_record.get(record_id)
            if found is None:
                found = by_record[record_id] = set()
            found.add(fold(term))
    rows = []
    for record_id in sorted(by_record):
        previous = None
        # Python orders strings by code point, which is the UTF-8 byte order both stores use.
        for term in sorted(by_record[record_id]):
            rows.append((term, record_id, previous))
            previous = term
    # In key order, as _derive inserts them (the sort is stable, so records stay in id order).
    rows.sort(key=itemgetter(0))
    owner = {"hub_id": hub_id, "object_type_id": object_type_id}
    insert_rows(conn, query_terms.name, _ADD_COLUMNS, rows, owner)
    counts = _pending(conn)
    _tally(counts, (((hub_id, object_type_id), t) for t in by_record.values()), 1)


def drop(conn: Connection, record_ids: Sequence[int]) -> None:
    """Archived or merged-away records are found by no query."""
    ids = sorted(set(record_ids))
    counts = _pending(conn)
    for start in range(0, len(ids), _CHUNK):
        _tally(counts, _by_record(_delete_returning(conn, ids[start : start + _CHUNK])), -1)


def forget(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """Before every record of the object type is deleted (its query_terms rows cascade)."""
    _pending(conn).pop((hub_id, object_type_id), None)
    c = query_prefix_counts.c
    conn.execute(
        delete(query_prefix_counts).where(c.hub_id == hub_id, c.object_type_id == object_type_id)
    )


def rebuild(
    conn: Connection, hub_id: int, object_type_id: str, property_ids: Sequence[int]
) -> None:
    """Rebuilds every row of the object type from ``property_ids``, and records them."""
    q = query_terms.c
    conn.execute(delete(query_terms).where(q.hub_id == hub_id, q.object_type_id == object_type_id))
    forget(conn, hub_id, object_type_id)
    ids = sorted(set(property_ids))
    if ids:
        # Property ids belong to one account and object type: they bound the rows alone.
        conn.execute(_derive(conn, ids))
        _count_all(conn, hub_id, object_type_id)
    s = query_term_scopes.c
    conn.execute(
        delete(query_term_scopes).where(s.hub_id == hub_id, s.object_type_id == object_type_id)
    )
    conn.execute(
        insert(query_term_scopes).values(
            hub_id=hub_id, object_type_id=object_type_id, property_ids=",".join(map(str, ids))
        )
    )


# Prefix counts ------------------------------------------------------------------------------

_ENTRY = (query_terms.c.hub_id, query_terms.c.object_type_id, query_terms.c.record_id,
          query_terms.c.term)  # fmt: skip


def _by_record(entries: Iterable[Sequence[Any]]) -> Iterable[tuple[tuple[int, str], list[str]]]:
    """((hub id, object type id), terms) for each record of (hub, type, record, term) rows."""
    terms: dict[tuple[int, str, int], list[str]] = {}
    for hub_id, object_type_id, record_id, term in entries:
        terms.setdefault((hub_id, object_type_id, record_id), []).append(term)
    return (((h, o), t) for (h, o, _), t in terms.items())


def _tally(
    counts: _Pending,
    records_terms: Iterable[tuple[tuple[int, str], Iterable[str]]],
    sign: int,
) -> None:
    """Adds ``sign`` to the count of each prefix, up to COUNTED_PREFIX characters, of the
    terms of each record: once a record, however many of its terms share the prefix."""
    # One Counter update per owner for the whole batch: Counter.update is Python, a few
    # microseconds a call.
    by_owner: dict[tuple[int, str], list[str]] = {}
    for owner, terms in records_terms:
        # t[:k] past the end of t is t itself: the set holds it once.
        by_owner.setdefault(owner, []).extend({t[:k] for t in terms for k in _LENGTHS})
    for owner, prefixes in by_owner.items():
        of_owner = counts.setdefault(owner, Counter())
        if sign > 0:
            of_owner.update(prefixes)
        else:
            of_owner.subtract(prefixes)


def _delete_returning(conn: Connection, record_ids: Sequence[int]) -> list[Any]:
    gone = delete(query_terms).where(query_terms.c.record_id.in_(record_ids))
    return list(conn.execute(gone.returning(*_ENTRY)).all())


_ADD_COUNTS_SQLITE = (
    "INSERT INTO query_prefix_counts (hub_id, object_type_id, prefix, shard, records) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hub_id, object_type_id, prefix, shard) "
    "DO UPDATE SET records = query_prefix_counts.records + excluded.records"
)
# One statement for all the rows: psycopg's executemany costs ~20 us of Python a row.
_ADD_COUNTS_POSTGRES = (
    "INSERT INTO query_prefix_counts (hub_id, object_type_id, prefix, shard, records) "
    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::bigint[]) "
    "ON CONFLICT (hub_id, object_type_id, prefix, shard) "
    "DO UPDATE SET records = query_prefix_counts.records + excluded.records"
)


class _Pending(dict[tuple[int, str], Counter[str]]):
    """What the writes of one transaction add to the counts, added as it commits."""

    def __call__(self, conn: Connection) -> None:
        sqlite = conn.dialect.name == "sqlite"
        shard = 0 if sqlite else conn.connection.driver_connection.info.backend_pid % _SHARDS  # type: ignore[union-attr]
        # In key order: two writers on one shard take its row locks in the same order.
        rows = sorted(
            (h, o, p, shard, n) for (h, o), counts in self.items() for p, n in counts.items() if n
        )
        if not rows:
            return
        if sqlite:
            execute_many(conn, _ADD_COUNTS_SQLITE, rows)
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(_ADD_COUNTS_POSTGRES, columns)


def _pending(conn: Connection) -> _Pending:
    return before_commit(conn, "query_prefix_counts", _Pending)


def _count_all(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """The counts of an object type whose rows were just built, from the rows."""
    q = query_terms.c
    for k in range(1, COUNTED_PREFIX + 1):
        # Written out, not bound: PostgreSQL matches the GROUP BY to the SELECT by its text.
        start, length = literal_column("1"), literal_column(str(k))
        prefix = func.substr(q.term, start, length)
        first = or_(q.prev_term.is_(None), func.substr(q.prev_term, start, length) != prefix)
        counted = (
            select(q.hub_id, q.object_type_id, prefix, literal(0), func.count())
            .where(
                q.hub_id == hub_id,
                q.object_type_id == object_type_id,
                func.length(q.term) >= length,
                first,
            )
            .group_by(q.hub_id, q.object_type_id, prefix)
        )
        columns = ["hub_id", "object_type_id", "prefix", "shard", "records"]
        conn.execute(insert(query_prefix_counts).from_select(columns, counted))


# Reading ------------------------------------------------------------------------------------


def _in_range(hub_id: int, object_type_id: str, word: str) -> list[ColumnElement[bool]]:
    q = query_terms.c
    return [
        q.hub_id == hub_id,
        q.object_type_id == object_type_id,
        q.term >= word,
        q.term < word + TOP,
    ]


def starting(hub_id: int, object_type_id: str, word: str) -> Select[Any]:
    """Ids of the live records with a term that starts with ``word`` (repeats possible)."""
    return select(query_terms.c.record_id).where(*_in_range(hub_id, object_type_id, word))


def count_starting(
    hub_id: Any, object_type_id: Any, word: Any, top: Any, counted: bool
) -> Select[Any]:
    """How many live records have a term in [word, top), the terms starting with ``word``
    (values or bound parameters). ``counted``: read from query_prefix_counts, for words of up
    to COUNTED_PREFIX characters. Otherwise each record counts at its first term in the range,
    the one whose preceding term sorts before ``word``."""
    if counted:
        c = query_prefix_counts.c
        return select(func.coalesce(func.sum(c.records), 0)).where(
            c.hub_id == hub_id, c.object_type_id == object_type_id, c.prefix == word
        )
    # TODO(search): on PostgreSQL the primary key does not carry prev_term, so this count
    # visits the heap for every term in the range (SQLite's table is the key itself); an
    # index INCLUDE (prev_term) would make it index-only there too. Not measured yet.
    q = query_terms.c
    first = or_(q.prev_term.is_(None), q.prev_term < word)
    in_range = [
        q.hub_id == hub_id,
        q.object_type_id == object_type_id,
        q.term >= word,
        q.term < top,
    ]
    return select(func.count()).select_from(query_terms).where(*in_range, first)


def has_term_starting(word: Any, top: Any) -> ColumnElement[bool]:
    """For a walk over records in id order: this record has a term in [word, top) (one probe
    of ``ix_query_terms_record``)."""
    q = query_terms.c
    return exists().where(and_(q.record_id == records.c.id, q.term >= word, q.term < top))
