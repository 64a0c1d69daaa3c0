"""Search statements built once per plan shape, then run with each search's values.

Building a page query's SQLAlchemy expression costs about 0.3 ms of Python: several times what
SQLite takes to answer an indexed equality. Plans that differ only in their values (the email
searched for, the hub, the page) are one shape: the plan with each value replaced by its
position. A shape's statement has a bound parameter where each value goes, and SQLAlchemy
reuses its cache key and compiled form on every run.

Only plans made of value, record-column and presence tests have a shape here; the others
(terms, free text, associations) cost far more in the store than in Python, and are built
afresh each time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Integer, Select, bindparam

from localspot.store import search_sql as q

# Fields that hold values rather than structure. A property id stays structure: a sort
# recognises the comparison on its own property by it (``search_sql._bounding``).
_VALUES: dict[type[q.Pred], tuple[str, ...]] = {
    q.ValueCmp: ("args", "recheck"),
    q.RecordCmp: ("args",),
}
_SHAPED = (q.ValueCmp, q.RecordCmp, q.HasValue, q.Always, q.Never)
_MAX_SHAPES = 512


@dataclass(frozen=True)
class _Slot:
    position: int


class _NoShape(Exception):  # noqa: N818 - a signal for the caller, not an error
    pass


_built: OrderedDict[Any, Select[Any]] = OrderedDict()
_lock = threading.Lock()


def page(plan: q.Plan, sqlite: bool, offset: int, limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """``search_sql.page_query`` of ``plan`` as a statement and its parameters."""
    return _prepared(
        ("page", sqlite),
        plan,
        lambda bound: q.page_query(bound, sqlite, _OFFSET, _LIMIT),
        lambda: q.page_query(plan, sqlite, offset, limit),
        {"offset": offset, "limit": limit},
    )


def count(plan: q.Plan, sqlite: bool) -> tuple[Select[Any], dict[str, Any]]:
    """``search_sql.count_query`` of ``plan`` as a statement and its parameters."""
    return _prepared(
        ("count", sqlite),
        plan,
        lambda bound: q.count_query(bound, sqlite),
        lambda: q.count_query(plan, sqlite),
        {},
    )


_OFFSET = bindparam("offset", type_=Integer)
_LIMIT = bindparam("limit", type_=Integer)


def _prepared(
    kind: tuple[str, bool],
    plan: q.Plan,
    build: Callable[[q.Plan], Select[Any]],
    afresh: Callable[[], Select[Any]],
    extra: dict[str, Any],
) -> tuple[Select[Any], dict[str, Any]]:
    values: list[Any] = []

    def slot(value: Any) -> _Slot:
        values.append(value)
        return _Slot(len(values) - 1)

    try:
        shape = _mapped(plan, slot)
    except _NoShape:
        return afresh(), {}
    key = (kind, shape)
    with _lock:
        statement = _built.get(key)
        if statement is not None:
            _built.move_to_end(key)
    if statement is None:
        statement = build(_mapped(shape, lambda s: bindparam(f"v{s.position}")))
        with _lock:
            _built[key] = statement
            while len(_built) > _MAX_SHAPES:
                _built.popitem(last=False)
    return statement, {**{f"v{i}": v for i, v in enumerate(values)}, **extra}


def _mapped(plan: q.Plan, value: Callable[[Any], Any]) -> q.Plan:
    """``plan`` with ``value(v)`` in place of each value; _NoShape if it has no shape."""
    hub_id, object_type_id = value(plan.hub_id), value(plan.object_type_id)
    groups = tuple(tuple(_pred(p, value) for p in group) for group in plan.groups)
    return q.Plan(hub_id, object_type_id, groups, plan.sort)


def _pred(pred: q.Pred, value: Callable[[Any], Any]) -> q.Pred:
    if isinstance(pred, q.AnyOf | q.AllOf):
        return replace(pred, preds=tuple(_pred(p, value) for p in pred.preds))
    if isinstance(pred, q.Not):
        return replace(pred, inner=_pred(pred.inner, value))
    if not isinstance(pred, _SHAPED):
        raise _NoShape
    names = _VALUES.get(type(pred), ())
    return replace(pred, **{n: _each(getattr(pred, n), value) for n in names}) if names else pred


def _each(held: Any, value: Callable[[Any], Any]) -> Any:
    if held is None:  # an absent recheck is structure: it changes the SQL
        return None
    if isinstance(held, tuple):
        return tuple(value(v) for v in held)
    return value(held)
