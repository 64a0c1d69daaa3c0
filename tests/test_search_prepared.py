"""Search statements are built once per plan shape and bound with each plan's own values."""

from __future__ import annotations

from sqlalchemy import select

from localspot.store import search_prepared as prepared
from localspot.store import search_sql as q
from localspot.store.schema import records


def _eq(value: str, recheck: str | None = None, property_id: int = 7) -> q.Plan:
    cmp = q.ValueCmp(property_id, "value_norm", "eq", (value,), recheck)
    return q.Plan(1, "0-1", ((cmp,),), None)


def test_plans_that_differ_only_in_values_share_one_statement() -> None:
    first, first_params = prepared.page(_eq("ana@example.org"), True, 0, 10)
    again, again_params = prepared.page(
        q.Plan(2, "0-2", _eq("bo@example.org").groups, None), True, 20, 5
    )
    assert again is first
    assert first_params == {"v0": 1, "v1": "0-1", "v2": "ana@example.org", "offset": 0, "limit": 10}
    assert again_params == {"v0": 2, "v1": "0-2", "v2": "bo@example.org", "offset": 20, "limit": 5}


def test_structure_is_part_of_the_shape() -> None:
    plain, _ = prepared.page(_eq("a"), True, 0, 10)
    assert prepared.page(_eq("a", recheck="a" * 300), True, 0, 10)[0] is not plain
    assert prepared.page(_eq("a", property_id=8), True, 0, 10)[0] is not plain
    assert prepared.page(_eq("a"), False, 0, 10)[0] is not plain
    two = q.Plan(1, "0-1", ((q.ValueCmp(7, "value_norm", "in", ("a", "b")),),), None)
    three = q.Plan(1, "0-1", ((q.ValueCmp(7, "value_norm", "in", ("a", "b", "c")),),), None)
    assert prepared.page(two, True, 0, 10)[0] is not prepared.page(three, True, 0, 10)[0]
    assert prepared.count(_eq("a"), True)[0] is not plain


def test_plans_without_a_shape_are_built_afresh() -> None:
    associated = q.Plan(1, "0-1", ((q.IdIn(select(records.c.id)),),), None)
    statement, params = prepared.page(associated, True, 0, 10)
    assert params == {}
    assert prepared.page(associated, True, 0, 10)[0] is not statement
