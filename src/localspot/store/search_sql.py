"""The search compiler: a resolved filter tree into SQLAlchemy Core queries (SPEC §4).

The domain resolves a HubSpot search request into predicates over stored columns (property
ids, normalised values, blind indexes); this module turns them into SQL. Every predicate on a
property is a semi-join ``records.id IN (SELECT record_id FROM record_values|record_terms WHERE
property_id = ? AND ...)``: both SQLite and PostgreSQL drive such a query from the
``(property_id, value_*)`` index or the terms primary key, so one page is one indexed query,
and its total one more.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    intersect,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)

from localspot.store import query_terms
from localspot.store.schema import record_terms, record_values, records

Op = Literal["eq", "in", "lt", "lte", "gt", "gte", "between"]
ValueColumn = Literal["value_norm", "value_num", "value_bidx"]
RecordColumn = Literal["id", "created_ms", "updated_ms"]
# "folded_prefix": a prefix of the term folded as query_terms folds it (query_terms.fold).
TermMode = Literal["eq", "prefix", "folded_prefix", "pattern"]

# Sorts after every string a term or value_norm can hold, in byte order.
_TOP = "\U0010ffff"


class Pred:
    """A predicate on records; ``sql`` gives it as a boolean SQL expression."""

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        raise NotImplementedError


@dataclass(frozen=True)
class Always(Pred):
    """Stands in for a test the store cannot run (on a sealed value): keeps every candidate."""

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return true()


@dataclass(frozen=True)
class Never(Pred):
    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return false()


def _compare(column: Any, op: Op, args: Sequence[Any]) -> ColumnElement[bool]:
    if op == "eq":
        return column == args[0]  # type: ignore[no-any-return]
    if op == "in":
        return column.in_(list(args))  # type: ignore[no-any-return]
    if op == "lt":
        return column < args[0]  # type: ignore[no-any-return]
    if op == "lte":
        return column <= args[0]  # type: ignore[no-any-return]
    if op == "gt":
        return column > args[0]  # type: ignore[no-any-return]
    if op == "gte":
        return column >= args[0]  # type: ignore[no-any-return]
    return column.between(args[0], args[1])  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ValueCmp(Pred):
    """Records holding a stored value of the property that compares true."""

    property_id: int
    column: ValueColumn
    op: Op
    args: tuple[Any, ...]
    # Set for strings longer than value_norm keeps: the whole lower-cased value to recheck.
    # TODO(search): SQLite's lower() folds ASCII only, so the recheck misses non-ASCII case
    # differences beyond the first 255 characters.
    recheck: str | None = None

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        v = record_values.c
        cond = _compare(getattr(v, self.column), self.op, self.args)
        if self.recheck is not None:
            cond = and_(cond, func.lower(v.value) == self.recheck)
        return records.c.id.in_(select(v.record_id).where(v.property_id == self.property_id, cond))


@dataclass(frozen=True)
class HasValue(Pred):
    """Records with a non-empty value (a cleared value is an empty string)."""

    property_id: int

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        v = record_values.c
        return records.c.id.in_(
            select(v.record_id).where(
                v.property_id == self.property_id,
                or_(v.value_ct.is_not(None), and_(v.value.is_not(None), v.value != "")),
            )
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_glob(text: str) -> str:
    return "".join(f"[{c}]" if c in "[?" else c for c in text)


@dataclass(frozen=True)
class TermMatch(Pred):
    """Records with a term of any of the properties that equals, starts with, or matches."""

    property_ids: tuple[int, ...]
    mode: TermMode
    text: str  # for "pattern": ``*`` is the only wildcard
    # Those of ``property_ids`` whose values' whole-value term is their value_norm, which
    # record_terms leaves out (schema.WHOLE_VALUE_TERM_TYPES).
    in_norm: tuple[int, ...] = ()

    def _matches(self, term: Any, sqlite: bool) -> ColumnElement[bool]:
        if self.mode == "eq":
            cond = term == self.text
        elif self.mode == "prefix":
            cond = and_(term >= self.text, term < self.text + _TOP)
        elif self.mode == "folded_prefix":
            # No index range: only while the query index is being rebuilt (domain/query_index).
            folded = func.lower(term)
            cond = and_(folded >= self.text, folded < self.text + _TOP)
        elif sqlite:
            # GLOB, unlike LIKE, is case-sensitive, as enumeration options are.
            cond = term.op("GLOB")(_escape_glob(self.text))
        else:
            pattern = "%".join(_escape_like(p) for p in self.text.split("*"))
            cond = term.like(pattern, escape="\\")
        prefix = self.text.split("*", 1)[0]
        if self.mode == "pattern" and prefix:
            # The literal start of a pattern bounds the index range on both stores.
            cond = and_(cond, term >= prefix, term < prefix + _TOP)
        return cond  # type: ignore[no-any-return]

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        t = record_terms.c
        found = select(t.record_id).where(
            _one_of(t.property_id, self.property_ids), self._matches(t.term, sqlite)
        )
        if not self.in_norm:
            return records.c.id.in_(found)
        v = record_values.c
        whole = [_one_of(v.property_id, self.in_norm), self._matches(v.value_norm, sqlite)]
        if not self.text.replace("*", "").strip():
            # Only a text of whitespace and wildcards can match a blank value_norm: no term.
            whole.append(query_terms.not_blank(v.value_norm, sqlite))
        return records.c.id.in_(union_all(found, select(v.record_id).where(*whole)))


def _one_of(column: Any, ids: tuple[int, ...]) -> ColumnElement[bool]:
    return column == ids[0] if len(ids) == 1 else column.in_(ids)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Words(Pred):
    """Records with a term of a searchable property that starts with ``word``, read from the
    free-text index (``query_terms``), which holds live records of the object type only."""

    hub_id: int
    object_type_id: str
    word: str

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return records.c.id.in_(query_terms.starting(self.hub_id, self.object_type_id, self.word))


@dataclass(frozen=True)
class RecordCmp(Pred):
    """Virtual properties (hs_object_id, createdate, last modified) live on the record row."""

    column: RecordColumn
    op: Op
    args: tuple[Any, ...]

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return _compare(getattr(records.c, self.column), self.op, self.args)


@dataclass(frozen=True, eq=False)
class IdIn(Pred):
    """Records whose id a subquery yields (search's ``associations.{type}`` pseudo-property)."""

    ids: Any

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return records.c.id.in_(self.ids)


@dataclass(frozen=True)
class Not(Pred):
    inner: Pred

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return not_(self.inner.sql(sqlite))


@dataclass(frozen=True)
class AnyOf(Pred):
    preds: tuple[Pred, ...]

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return or_(false(), *(p.sql(sqlite) for p in self.preds))


@dataclass(frozen=True)
class AllOf(Pred):
    preds: tuple[Pred, ...]

    def sql(self, sqlite: bool) -> ColumnElement[bool]:
        return and_(true(), *(p.sql(sqlite) for p in self.preds))


@dataclass(frozen=True)
class Sort:
    """Order by a record column or a property's stored column; records without a value last,
    ties by id, oldest first."""

    descending: bool
    record_column: RecordColumn | None = None
    property_id: int | None = None
    value_column: ValueColumn | None = None


@dataclass(frozen=True)
class Plan:
    hub_id: int
    object_type_id: str
    groups: tuple[tuple[Pred, ...], ...]  # OR of ANDs; empty: every record
    sort: Sort | None


def _base(plan: Plan) -> list[ColumnElement[bool]]:
    r = records.c
    return [
        r.hub_id == plan.hub_id,
        r.object_type_id == plan.object_type_id,
        r.archived.is_(False),
        r.merged_into.is_(None),
    ]


def _group_sql(group: Sequence[Pred], sqlite: bool) -> ColumnElement[bool]:
    preds = [p for p in group if not isinstance(p, Always)]
    words = [p for p in preds if isinstance(p, Words)]
    if sqlite or len(words) < 2:
        return and_(true(), *(p.sql(sqlite) for p in preds))
    # PostgreSQL makes each word's IN (subquery) a semi-join and searches their join orders:
    # planning 80 words took most of a second, 160 ten. One IN over the words' INTERSECT is
    # planned in linear time. (SQLite probes each word per record, and caps a compound SELECT
    # at 500 terms, as many as a query may hold words.)
    ranges = [query_terms.starting(w.hub_id, w.object_type_id, w.word) for w in words]
    every_word = records.c.id.in_(intersect(*ranges))
    return and_(true(), every_word, *(p.sql(sqlite) for p in preds if not isinstance(p, Words)))


def _matching(plan: Plan, sqlite: bool) -> list[ColumnElement[bool]]:
    conds = _base(plan)
    if plan.groups:
        conds.append(or_(false(), *(_group_sql(g, sqlite) for g in plan.groups)))
    return conds


def _ordered(plan: Plan, query: Select[Any]) -> Select[Any]:
    sort = plan.sort
    if sort is None:
        return query.order_by(records.c.id)
    if sort.record_column is not None:
        key: Any = getattr(records.c, sort.record_column)
        return query.order_by(key.desc() if sort.descending else key, records.c.id)
    sv = record_values.alias("sort_value")
    key = getattr(sv.c, sort.value_column or "value_num")
    query = query.outerjoin(
        sv, and_(sv.c.record_id == records.c.id, sv.c.property_id == sort.property_id)
    )
    return query.order_by(key.is_(None), key.desc() if sort.descending else key, records.c.id)


def _bounding(plan: Plan) -> list[int] | None:
    """Per group, the position of a comparison on the sort property's sorted column, or None
    unless every group has one: then every hit has a sort value."""
    sort = plan.sort
    if sort is None or sort.property_id is None or not plan.groups:
        return None
    found = []
    for group in plan.groups:
        at = next(
            (
                i
                for i, p in enumerate(group)
                if isinstance(p, ValueCmp)
                and p.property_id == sort.property_id
                and p.column == sort.value_column
                and p.recheck is None
            ),
            None,
        )
        if at is None:
            return None
        found.append(at)
    return found


def _in_sort_order(plan: Plan, sqlite: bool, bounds: list[int]) -> Select[Any]:
    """Hits that all have a sort value, joined to it: the comparisons run on the joined row
    (a record has one value row per property), so the store can walk the sort index within
    their range, in order, and stop at the page instead of sorting every hit."""
    sort = plan.sort
    assert sort is not None and sort.property_id is not None
    sv = record_values.alias("sort_value")
    key = getattr(sv.c, sort.value_column or "value_num")
    groups = []
    for group, at in zip(plan.groups, bounds, strict=True):
        bound = group[at]
        assert isinstance(bound, ValueCmp)
        rest = group[:at] + group[at + 1 :]
        groups.append(and_(_compare(key, bound.op, bound.args), _group_sql(rest, sqlite)))
    joined = records.join(
        sv, and_(sv.c.record_id == records.c.id, sv.c.property_id == sort.property_id)
    )
    return (
        select(records)
        .select_from(joined)
        .where(*_base(plan), groups[0] if len(groups) == 1 else or_(*groups))
        .order_by(key.desc() if sort.descending else key, records.c.id)
    )


def page_query(plan: Plan, sqlite: bool, offset: int, limit: int) -> Select[Any]:
    """The records of one page, in order."""
    bounds = _bounding(plan)
    if bounds is not None:
        return _in_sort_order(plan, sqlite, bounds).limit(limit).offset(offset)
    # TODO(search): a page sorted by a property no filter bounds still sorts every hit before
    # the limit; walking the sort index while hits are dense, then the records without a
    # value, would not, but needs the hits' density to choose.
    query = select(records).where(*_matching(plan, sqlite))
    return _ordered(plan, query).limit(limit).offset(offset)


def lone_words(plan: Plan) -> Words | None:
    """The free-text word, when a one-word ``query`` is all the search asks."""
    if len(plan.groups) == 1 and len(plan.groups[0]) == 1 and isinstance(plan.groups[0][0], Words):
        return plan.groups[0][0]
    return None


@functools.cache
def lone_word_statements() -> dict[str, Select[Any]]:
    """The statements of a one-word ``query`` (``search_run``), built once: each takes the
    bound parameters hub, type, word and top (``word + TOP``), the walk offset and limit too.

    - ``counted``, ``ranged``: its total, from the prefix counts or from the index's range;
    - ``span``: the lowest and highest id of the live records searched (two index probes);
    - ``walk``: a page of records in id order, each probed for the word, stopping at the
      page; when hits are dense that is a few probes per result.
    """
    hub, type_, word, top = (bindparam(n) for n in ("hub", "type", "word", "top"))
    r = records.c
    live = [r.hub_id == hub, r.object_type_id == type_, r.archived.is_(False)]
    # Apart, each is one probe of ix_records_listing; together SQLite would scan the range.
    low = select(func.min(r.id)).where(*live).scalar_subquery()
    high = select(func.max(r.id)).where(*live).scalar_subquery()
    walk = (
        select(records)
        .where(*live, r.merged_into.is_(None), query_terms.has_term_starting(word, top))
        .order_by(r.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return {
        "counted": query_terms.count_starting(hub, type_, word, top, counted=True),
        "ranged": query_terms.count_starting(hub, type_, word, top, counted=False),
        "span": select(low, high),
        "walk": walk,
    }


def lone_word_params(words: Words) -> dict[str, Any]:
    return {
        "hub": words.hub_id,
        "type": words.object_type_id,
        "word": words.word,
        "top": words.word + _TOP,
    }


def count_query(plan: Plan, sqlite: bool) -> Select[Any]:
    """How many records match: HubSpot reports the real total, past the 10,000 it pages."""
    return select(func.count()).select_from(records).where(*_matching(plan, sqlite))


def candidates_query(plan: Plan, sqlite: bool) -> Select[Any]:
    """Every record the store can tell may match, in order, with one flag per group telling
    whether the group's store-side tests hold; the caller finishes the tests it could not
    run here (on sealed values)."""
    flags = [
        case((_group_sql(g, sqlite), literal(1)), else_=literal(0)).label(f"g{i}")
        for i, g in enumerate(plan.groups)
    ]
    query = select(records.c.id, *flags).where(*_matching(plan, sqlite))
    return _ordered(plan, query)
