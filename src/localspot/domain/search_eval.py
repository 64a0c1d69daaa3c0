"""Search conditions, and their evaluation on plaintext values.

The store runs every condition it can in SQL. A condition on a sealed (sensitive) value that
no blind index answers -- a range, a token, a number's equality -- is evaluated here on the
opened value instead, with the same semantics the SQL compiler gives plaintext columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from localspot.domain.search_terms import terms_of, wildcard_match
from localspot.domain.values import parse_datetime_ms, parse_number

# How values of a property compare: case-insensitive text, exact text (enumerations),
# option sets (multi-checkbox), or numbers (numbers; dates and datetimes as epoch ms; 0/1).
Kind = Literal["text", "exact", "options", "number"]
NEGATIVE = frozenset({"NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"})


def kind_of(definition: Any) -> Kind:
    if definition.type in ("number", "date", "datetime", "bool"):
        return "number"
    if definition.type == "enumeration":
        return "options" if definition.field_type == "checkbox" else "exact"
    return "text"


@dataclass(frozen=True)
class Condition:
    """One filter, its value parsed for the property's kind."""

    definition: Any
    operator: str
    kind: Kind
    # text: lower-cased (IN/NOT_IN keep the given case: HubSpot wants them lowercase already);
    # exact/options: as given; number: floats. CONTAINS_TOKEN: the pattern.
    args: tuple[Any, ...] = ()


def number_of(definition: Any, text: str) -> float | None:
    """The number a stored plaintext value compares as."""
    text = text.strip()
    if definition.type == "bool":
        return 1.0 if text.lower() == "true" else 0.0
    if definition.type == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000
    if definition.type == "datetime":
        ms = parse_datetime_ms(text)
        return float(ms) if ms is not None else None
    return parse_number(text)


def _positive(cond: Condition, text: str) -> bool:
    op, args = cond.operator, cond.args
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = args[0]
        terms = terms_of(cond.definition, text)
        if "*" not in pattern:
            return pattern in terms
        return any(wildcard_match(pattern, t) for t in terms)
    if cond.kind == "options":
        chosen = {o for o in text.split(";") if o}
        if op in ("EQ", "NEQ"):
            return args[0] in chosen
        if op in ("IN", "NOT_IN"):
            return bool(chosen & set(args))
        key: Any = text
    elif cond.kind == "number":
        key = number_of(cond.definition, text)
        if key is None:
            return False
    elif cond.kind == "text":
        key = text.lower()
    else:
        key = text
    if op in ("EQ", "NEQ"):
        return bool(key == args[0])
    if op in ("IN", "NOT_IN"):
        return key in args
    if op == "LT":
        return bool(key < args[0])
    if op == "LTE":
        return bool(key <= args[0])
    if op == "GT":
        return bool(key > args[0])
    if op == "GTE":
        return bool(key >= args[0])
    if op == "BETWEEN":
        return bool(args[0] <= key <= args[1])
    raise ValueError(op)


def matches(cond: Condition, text: str | None) -> bool:
    """Whether a record whose value is ``text`` (None: never set) meets the condition.

    A record without a value meets the negative operators (NEQ, NOT_IN, NOT_CONTAINS_TOKEN)
    and NOT_HAS_PROPERTY, and nothing else.
    """
    has = text is not None and text != ""
    if cond.operator == "HAS_PROPERTY":
        return has
    if cond.operator == "NOT_HAS_PROPERTY":
        return not has
    if not has:
        return cond.operator in NEGATIVE
    assert text is not None
    positive = _positive(cond, text)
    return not positive if cond.operator in NEGATIVE else positive


def sort_key(definition: Any, text: str | None) -> Any:
    """What a value sorts by; None when the record has none (those sort last)."""
    if text is None or text == "":
        return None
    kind = kind_of(definition)
    if kind == "number":
        return number_of(definition, text)
    return text.lower() if kind == "text" else text
