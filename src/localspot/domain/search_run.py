"""Running a compiled search: one indexed query for the page and one for the total, or SQL
narrowing the candidates and memory finishing what it cannot (conditions and sorts on sealed
values). See ``search.py`` for how a request becomes a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from localspot.domain import record_store
from localspot.domain.object_types import ObjectType
from localspot.domain.record_store import record_row
from localspot.domain.search_eval import Condition, matches, sort_key
from localspot.domain.search_request import SearchRequest
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store import search_prepared as prepared
from localspot.store import search_sql as q
from localspot.store.driver import fetch_built
from localspot.store.query_terms import COUNTED_PREFIX
from localspot.store.schema import records

_CHUNK = 500


@dataclass
class Compiled:
    """The plan for the store, and what only memory can finish."""

    plan: q.Plan
    residuals: list[list[Condition]] = field(default_factory=list)  # per group
    residual_sort: tuple[Any, bool] | None = None  # (definition, descending)

    @property
    def in_memory(self) -> bool:
        return self.residual_sort is not None or any(self.residuals)


def in_store(
    rt: Runtime, conn: Connection, plan: q.Plan, after: int, limit: int
) -> tuple[list[Any], int]:
    sqlite = rt.store.is_sqlite
    words = q.lone_words(plan)
    if words is not None:
        return _words(conn, sqlite, plan, words, after, limit)
    rows = [record_row(r) for r in fetch_built(conn, *prepared.page(plan, sqlite, after, limit))]
    # A page that is not full, and not past the end, tells the total by itself.
    if 0 < len(rows) < limit or (after == 0 and not rows):
        return rows, after + len(rows)
    # TODO(search): the exact count of any search but a lone query word looks every hit up
    # twice: in record_values (its value indexes carry the row id, not record_id) and in
    # records (archived). A 4,400-hit date range over 1,000,000 contacts counts in ~15 ms
    # warm and over 100 ms cold, most of issue #4's range+sort time now that the page walks
    # the sort index; record_id in the value indexes would halve it, a live flag beside the
    # values (kept on archive) would make it index-only.
    [(total,)] = fetch_built(conn, *prepared.count(plan, sqlite))
    return rows, int(total)


# Probes a page of a one-word query may always take walking the records in id order: a few
# milliseconds. Past that it walks while the probes are fewer than the hits, which gathering
# the hits through the index and sorting them would cost instead.
_WALK_PROBES = 20_000


def _words(
    conn: Connection, sqlite: bool, plan: q.Plan, words: q.Words, after: int, limit: int
) -> tuple[list[Any], int]:
    """A one-word ``query``: the total first, from the index alone, then the page by whichever
    way costs less for that many hits."""
    statements, params = q.lone_word_statements(), q.lone_word_params(words)
    counted = len(words.word) <= COUNTED_PREFIX
    [(total,)] = fetch_built(conn, statements["counted" if counted else "ranged"], params)
    total = int(total)
    if total <= after:
        return [], total
    [(low, high)] = fetch_built(conn, statements["span"], params)
    span = high - low + 1 if low is not None else 0
    # The walk probes about (after + limit) * span / total records.
    if plan.sort is None and (after + limit) * span <= max(_WALK_PROBES, total) * total:
        walked = fetch_built(conn, statements["walk"], {**params, "offset": after, "limit": limit})
        return [record_row(r) for r in walked], total
    return conn.execute(q.page_query(plan, sqlite, after, limit)).all(), total


def in_memory(
    rt: Runtime,
    conn: Connection,
    caller: Caller,
    object_type: ObjectType,
    compiled: Compiled,
    request: SearchRequest,
    limit: int,
) -> tuple[list[Any], int]:
    plan = compiled.plan
    # TODO(search): no bound on the candidates opened here; a sensitive range or token filter
    # with no other narrowing filter opens every value of the property in the account.
    candidates = conn.execute(q.candidates_query(plan, rt.store.is_sqlite)).all()
    needed = {c.definition.id: c.definition for g in compiled.residuals for c in g}
    if compiled.residual_sort is not None:
        needed[compiled.residual_sort[0].id] = compiled.residual_sort[0]
    # Only candidates some group still wants need their sealed values opened.
    wanted = [
        c.id
        for c in candidates
        if compiled.residual_sort is not None
        or any(c[i + 1] and compiled.residuals[i] for i in range(len(compiled.residuals)))
    ]
    values = _open_values(rt, conn, caller, object_type, wanted, needed)
    # ``query`` may have made the one group there was none of.
    residuals = [
        compiled.residuals[i] if i < len(compiled.residuals) else []
        for i in range(len(plan.groups))
    ]
    matched = []
    for row in candidates:
        own = values.get(row.id, {})
        if not plan.groups or any(
            row[i + 1] and all(matches(c, own.get(c.definition.name)) for c in residual)
            for i, residual in enumerate(residuals)
        ):
            matched.append(row.id)
    if compiled.residual_sort is not None:
        definition, descending = compiled.residual_sort
        keyed = [(sort_key(definition, values.get(i, {}).get(definition.name)), i) for i in matched]
        # Candidates come in id order and Python's sort is stable (also reversed): equal
        # values keep id order. Records without a value come last either way.
        present = [k for k in keyed if k[0] is not None]
        present.sort(key=lambda k: k[0], reverse=descending)
        matched = [i for _, i in present] + [i for k, i in keyed if k is None]
    page_ids = matched[request.after : request.after + limit]
    found = {r.id: r for r in conn.execute(select(records).where(records.c.id.in_(page_ids))).all()}
    return [found[i] for i in page_ids], len(matched)


def _open_values(
    rt: Runtime,
    conn: Connection,
    caller: Caller,
    object_type: ObjectType,
    ids: list[int],
    definitions: dict[int, Any],
) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        out.update(
            record_store.load_values(
                conn, rt.protector, caller.hub_id, object_type, chunk, definitions.values()
            )
        )
    return out
