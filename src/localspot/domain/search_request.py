"""The body of a CRM search request, checked against SPEC §4.1-4.3 and Part B11-B12.

Only the shape is checked here; property names, types and access are resolved by
``domain/search.py``. Messages never quote a filter value: it may be a sensitive one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localspot.domain.records import check_limit
from localspot.domain.values import coerce
from localspot.errors import HubSpotError, validation_error
from localspot.settings import Settings

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
SINGLE_VALUE = frozenset(
    {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)
LIST_VALUE = frozenset({"IN", "NOT_IN"})
NO_VALUE = frozenset({"HAS_PROPERTY", "NOT_HAS_PROPERTY"})
DIRECTIONS = ("ASCENDING", "DESCENDING")
DEFAULT_LIMIT = 10
MAX_LIMIT = 200


@dataclass(frozen=True)
class Filter:
    property_name: str
    operator: str
    value: str | None = None
    high_value: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SortRule:
    property_name: str
    descending: bool


@dataclass(frozen=True)
class SearchRequest:
    groups: tuple[tuple[Filter, ...], ...]  # OR of ANDs, top-level ``filters`` folded in
    sorts: tuple[SortRule, ...]  # every valid rule given; only the first one orders
    query: str | None
    properties: list[str] | None
    limit: int
    after: int

    def filter_names(self) -> list[str]:
        return list(dict.fromkeys(f.property_name for g in self.groups for f in g))

    def sort_names(self) -> list[str]:
        return list(dict.fromkeys(s.property_name for s in self.sorts))


def _bad_json(problem: str, where: str) -> HubSpotError:
    return validation_error(
        f"Invalid input JSON: {problem}",
        errors=[{"message": problem, "code": "INVALID_INPUT", "in": where}],
    )


def _text(raw: Any, where: str) -> str | None:
    try:
        return coerce(raw)
    except TypeError:
        raise _bad_json(f"{where} must be a string", where) from None


def _filter(raw: Any, where: str) -> Filter:
    if not isinstance(raw, dict):
        raise _bad_json(f"{where} must be an object", where)
    name, operator = raw.get("propertyName"), raw.get("operator")
    missing = [k for k, v in (("propertyName", name), ("operator", operator)) if v is None]
    if missing:
        raise _bad_json(
            f"Cannot build Filter, some of required attributes are not set [{', '.join(missing)}]",
            where,
        )
    if not isinstance(name, str) or not isinstance(operator, str):
        raise _bad_json("propertyName and operator must be strings", where)
    if operator not in OPERATORS:
        raise validation_error(
            f"Invalid input JSON: operator {operator!r} is not one of the values accepted: "
            f"[{', '.join(OPERATORS)}]",
            errors=[
                {
                    "message": f"Unknown operator {operator!r}",
                    "code": "INVALID_OPERATOR",
                    "in": f"{where}.operator",
                }
            ],
        )
    value = _text(raw.get("value"), f"{where}.value")
    high = _text(raw.get("highValue"), f"{where}.highValue")
    values_raw = raw.get("values")
    values: tuple[str, ...] | None = None
    if values_raw is not None:
        if not isinstance(values_raw, list):
            raise _bad_json(f"{where}.values must be a list", f"{where}.values")
        texts = [_text(v, f"{where}.values") for v in values_raw]
        values = tuple(t for t in texts if t is not None)

    def problem(text: str) -> HubSpotError:
        return _bad_json(f"Cannot build Filter, problem: operator {operator} {text}", where)

    if operator in SINGLE_VALUE and value is None:
        raise problem("requires a value")
    if operator == "BETWEEN" and high is None:
        raise problem("requires a highValue")
    if operator in LIST_VALUE and not values:
        raise problem("requires values")
    if operator in NO_VALUE and (value is not None or high is not None or values):
        raise problem("does not take a value")
    return Filter(name, operator, value, high, values)


def _filters(raw: Any, where: str, per_group: int) -> tuple[Filter, ...]:
    if not isinstance(raw, list):
        raise _bad_json(f"{where} must be a list", where)
    if len(raw) > per_group:
        raise validation_error(
            f"Too many filters in {where}: a filter group holds at most {per_group} filters.",
            errors=[{"message": "too many filters", "code": "TOO_MANY_FILTERS", "in": where}],
        )
    return tuple(_filter(f, f"{where}[{i}]") for i, f in enumerate(raw))


def _listed(raw: Any) -> Any:
    """A list field: absent or null is empty; anything else is checked as given ({} is not
    an empty list)."""
    return [] if raw is None else raw


def _groups(body: dict[str, Any], settings: Settings) -> tuple[tuple[Filter, ...], ...]:
    raw_groups = _listed(body.get("filterGroups"))
    if not isinstance(raw_groups, list):
        raise _bad_json("filterGroups must be a list", "filterGroups")
    if len(raw_groups) > settings.search_max_filter_groups:
        raise validation_error(
            f"Too many filter groups: at most {settings.search_max_filter_groups} are allowed.",
            errors=[
                {
                    "message": "too many filter groups",
                    "code": "TOO_MANY_FILTER_GROUPS",
                    "in": "filterGroups",
                }
            ],
        )
    per_group = settings.search_max_filters_per_group
    groups = []
    for i, group in enumerate(raw_groups):
        if not isinstance(group, dict):
            raise _bad_json(f"filterGroups[{i}] must be an object", f"filterGroups[{i}]")
        filters = _listed(group.get("filters"))
        groups.append(_filters(filters, f"filterGroups[{i}].filters", per_group))
    top = _filters(_listed(body.get("filters")), "filters", per_group)
    total = sum(len(g) for g in groups) + len(top)
    if total > settings.search_max_filters:
        raise validation_error(
            f"Too many filters: a search holds at most {settings.search_max_filters} filters "
            "across its filter groups.",
            errors=[{"message": "too many filters", "code": "TOO_MANY_FILTERS", "in": "filters"}],
        )
    # Top-level filters apply to every group (an empty group matches everything).
    groups = [g for g in groups if g] or ([()] if top else [])
    combined = tuple(g + top for g in groups)
    # Each value is one parameter of the store's query, and PostgreSQL takes at most 65,535.
    values = sum(len(f.values or ()) for g in combined for f in g)
    if values > settings.search_max_values:
        raise validation_error(
            f"Too many values: the IN and NOT_IN filters of a search hold at most "
            f"{settings.search_max_values} values in all (top-level filters count once per "
            "filter group).",
            errors=[{"message": "too many values", "code": "TOO_MANY_VALUES", "in": "filters"}],
        )
    return combined


def _sorts(raw: Any) -> tuple[SortRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad_json("sorts must be a list", "sorts")
    rules = []
    for i, item in enumerate(raw):
        # HubSpot's spec types sorts as strings, and ignores the strings it is sent.
        if not isinstance(item, dict):
            continue
        name = item.get("propertyName")
        direction = item.get("direction", "ASCENDING")
        if not isinstance(name, str) or not name:
            raise _bad_json(f"sorts[{i}].propertyName is required", f"sorts[{i}]")
        if direction not in DIRECTIONS:
            raise _bad_json(
                f"sorts[{i}].direction must be ASCENDING or DESCENDING", f"sorts[{i}].direction"
            )
        rules.append(SortRule(name, direction == "DESCENDING"))
    return tuple(rules)


def _limit(raw: Any) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _bad_json("limit must be a whole number", "limit")
    try:
        limit = int(raw)
    except ValueError:
        raise _bad_json("limit must be a whole number", "limit") from None
    check_limit(limit, False, maximum=MAX_LIMIT)
    return limit


def _after(raw: Any, settings: Settings) -> int:
    if raw is None or raw == "":
        return 0
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not text.isdigit():
        raise validation_error(
            "after must be a paging cursor from a previous page", context={"after": [str(raw)]}
        )
    after = int(text)
    ceiling = settings.search_max_results
    if after >= ceiling:
        raise validation_error(
            f"Search results are limited to {ceiling}: paging past them is not supported. "
            "Narrow the search with filters instead.",
            context={"after": [text]},
        )
    return after


def _properties(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise _bad_json("properties must be a list of strings", "properties")
    return [p.strip() for p in raw if p.strip()]


def _query(raw: Any, settings: Settings) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad_json("query must be a string", "query")
    if len(raw) > settings.search_max_query_length:
        raise validation_error(
            f"query is too long: at most {settings.search_max_query_length} characters.",
            context={"query": [f"{len(raw)} characters"]},
        )
    return raw if raw.strip() else None


def parse(body: dict[str, Any], settings: Settings) -> SearchRequest:
    return SearchRequest(
        groups=_groups(body, settings),
        sorts=_sorts(body.get("sorts")),
        query=_query(body.get("query"), settings),
        properties=_properties(body.get("properties")),
        limit=_limit(body.get("limit")),
        after=_after(body.get("after"), settings),
    )
