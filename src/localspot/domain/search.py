"""CRM Search v3 (SPEC §4, Part B3, B11, B12): from a request to a page of records.

A request becomes conditions on property definitions, the policy checks every property it
names, and the conditions become predicates for the search compiler (``store/search_sql.py``).
A page is one indexed query, and its ``total`` one more only when the page itself cannot tell.

Sensitive values are sealed, so SQL sees them only through the blind index: equality and
``IN`` of strings, single-select enumerations, booleans, dates and datetimes run there. Other
conditions on a sensitive property (ranges, tokens, equality of numbers, multi-checkbox
membership) and a sort by one cannot. Then SQL narrows the records by every other condition,
the sensitive values of those candidates are opened, and the remaining conditions, the order,
the total and the page are worked out in memory: the cost grows with the number of candidates,
one decryption per candidate and property. Only searches that need it pay it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from localspot import policy
from localspot.domain import (
    association_reads,
    object_types,
    property_lookup,
    query_index,
)
from localspot.domain.object_types import ObjectType
from localspot.domain.records import Projection, Reader
from localspot.domain.search_eval import Condition, Kind, kind_of
from localspot.domain.search_request import Filter, SearchRequest, SortRule, parse
from localspot.domain.search_run import Compiled, in_memory, in_store
from localspot.domain.search_terms import TOKENIZED_TYPES
from localspot.domain.values import ms_to_iso, parse_datetime_ms, parse_number
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store import search_sql as q
from localspot.store.engine import leave_loop
from localspot.store.schema import VALUE_NORM_CHARS
from localspot.validation import whole_number

_MS_PER_DAY = 86_400_000
_RANGE_OPS = {"LT": "lt", "LTE": "lte", "GT": "gt", "GTE": "gte", "BETWEEN": "between"}


def search(rt: Runtime, caller: Caller, object_key: str, body: dict[str, Any]) -> dict[str, Any]:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_record_access(caller, object_type.id, "read")
        request = parse(body, rt.settings)
        definitions = _definitions(rt, conn, caller, object_type, request)
        reader = Reader(rt, conn, caller, object_type, Projection(request.properties))
        compiled = _compile(rt, caller, object_type, request, definitions)
        compiled.plan = _with_query(conn, caller, object_type, request, compiled.plan)
        if compiled.in_memory or (
            request.query is not None and q.lone_words(compiled.plan) is None
        ):
            # Opening and testing sealed candidates, or building the SQL of many free-text
            # words, is Python work that the store's allowance on the loop does not bound.
            # A lone word is a few prepared statements, which it does.
            leave_loop()
        ceiling = rt.settings.search_max_results
        limit = min(request.limit, ceiling - request.after)
        if compiled.in_memory:
            rows, total = in_memory(rt, conn, caller, object_type, compiled, request, limit)
        else:
            rows, total = in_store(rt, conn, compiled.plan, request.after, limit)
        body_out: dict[str, Any] = {"total": total, "results": reader.render_rows(rows)}
        _audit_hits(rt, caller, object_type, request, definitions, rows)
        following = request.after + len(rows)
        if rows and following < min(total, ceiling):
            body_out["paging"] = {"next": {"after": str(following)}}
        return body_out


def _audit_hits(
    rt: Runtime,
    caller: Caller,
    object_type: ObjectType,
    request: SearchRequest,
    definitions: dict[str, Any],
    rows: list[Any],
) -> None:
    """Records found by filtering or sorting on sensitive properties are audited search hits."""
    used = [*request.filter_names(), *request.sort_names()]
    sensitive = sorted(
        {
            n
            for n in used
            if n in definitions and policy.is_protected(definitions[n].data_sensitivity)
        }
    )
    if sensitive and rows:
        rt.audit_reads.add(caller, "search_hit", object_type.id, [r.id for r in rows], sensitive)


# Properties and access ----------------------------------------------------------------------


def _definitions(
    rt: Runtime, conn: Connection, caller: Caller, object_type: ObjectType, request: SearchRequest
) -> dict[str, Any]:
    named = [n for n in request.filter_names() if not n.startswith(ASSOCIATIONS)]
    named += request.sort_names()
    asked = request.properties or []
    found = property_lookup.remembered_by_name(
        rt, conn, caller.hub_id, object_type, [*named, *asked]
    )
    unknown = [n for n in named if n not in found]
    if unknown:
        raise validation_error(
            f'Property "{unknown[0]}" does not exist on {object_type.name}; search filters '
            "and sorts need existing properties.",
            errors=[
                {
                    "message": f'Property "{n}" does not exist',
                    "code": "PROPERTY_DOESNT_EXIST",
                    "context": {"propertyName": [n]},
                }
                for n in unknown
            ],
        )
    # Unknown names in ``properties`` are ignored, as reads ignore them.
    policy.check_search(caller, object_type.id, [found[n] for n in {*named, *asked} if n in found])
    return found


# Conditions ---------------------------------------------------------------------------------


def _invalid(definition: Any, operator: str, wants: str) -> HubSpotError:
    return validation_error(
        f'Invalid filter on "{definition.name}": {operator} needs {wants} for a '
        f"{definition.type} property.",
        context={"propertyName": [definition.name]},
    )


def _number(definition: Any, operator: str, text: str) -> float:
    kind = definition.type
    text = text.strip()
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise _invalid(definition, operator, "true or false")
        return 1.0 if text.lower() == "true" else 0.0
    if kind in ("date", "datetime"):
        ms = parse_datetime_ms(text)
        if ms is None:
            raise _invalid(definition, operator, "epoch milliseconds or an ISO 8601 date")
        return float(ms)
    number = parse_number(text)
    if number is None:
        raise _invalid(definition, operator, "a finite number")
    return number


def condition(definition: Any, f: Filter) -> Condition:
    """A filter with its value parsed for the property's kind; 400 when it does not parse."""
    kind: Kind = kind_of(definition)
    op = f.operator
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Condition(definition, op, kind)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        if kind == "number":
            raise validation_error(
                f'Invalid filter on "{definition.name}": {op} applies to text and enumeration '
                f"properties, not to a {definition.type} property.",
                context={"propertyName": [definition.name]},
            )
        assert f.value is not None
        pattern = f.value.lower() if kind == "text" else f.value
        return Condition(definition, op, kind, (pattern,))
    raw = list(f.values or ()) if op in ("IN", "NOT_IN") else [f.value]
    if op == "BETWEEN":
        raw.append(f.high_value)
    texts = [r for r in raw if r is not None]
    if kind == "number":
        return Condition(definition, op, kind, tuple(_number(definition, op, t) for t in texts))
    if kind == "text" and op not in ("IN", "NOT_IN"):
        texts = [t.lower() for t in texts]
    return Condition(definition, op, kind, tuple(texts))


def _virtual_column(object_type: ObjectType, name: str) -> q.RecordColumn | None:
    return object_type.record_column(name)


def _negate(op: str, pred: q.Pred) -> q.Pred:
    return q.Not(pred) if op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN") else pred


def _term_pred(definition: Any, pattern: str) -> q.Pred:
    ids = (definition.id,)
    in_norm = ids if definition.type in TOKENIZED_TYPES else ()
    # TODO(search): a token longer than TERM_CHARS (255) matches nothing: terms are stored cut
    # to that length and the token is compared whole.
    if "*" not in pattern:
        return q.TermMatch(ids, "eq", pattern, in_norm)
    head = pattern.rstrip("*")
    if "*" not in head:
        return q.TermMatch(ids, "prefix", head, in_norm)
    return q.TermMatch(ids, "pattern", pattern, in_norm)


def _plain_pred(cond: Condition) -> q.Pred:
    """A condition on a plaintext (non-sensitive) stored property."""
    d, op, args = cond.definition, cond.operator, cond.args
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        has = q.HasValue(d.id)
        return has if op == "HAS_PROPERTY" else q.Not(has)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return _negate(op, _term_pred(d, args[0]))
    if cond.kind == "options" and op in ("EQ", "NEQ", "IN", "NOT_IN"):
        members = tuple(q.TermMatch((d.id,), "eq", a) for a in args)
        return _negate(op, members[0] if len(members) == 1 else q.AnyOf(members))
    if cond.kind == "number":
        column: q.ValueColumn = "value_num"
    else:
        column = "value_norm"
    if op in _RANGE_OPS:
        cut = tuple(a[:VALUE_NORM_CHARS] if isinstance(a, str) else a for a in args)
        return q.ValueCmp(d.id, column, _RANGE_OPS[op], cut)  # type: ignore[arg-type]
    if column == "value_num":
        return _negate(op, q.ValueCmp(d.id, column, "in" if len(args) > 1 else "eq", args))
    short = tuple(a for a in args if len(a) < VALUE_NORM_CHARS)
    preds: list[q.Pred] = []
    if short:
        preds.append(q.ValueCmp(d.id, column, "in" if len(short) > 1 else "eq", short))
    for long in (a for a in args if len(a) >= VALUE_NORM_CHARS):
        recheck = long if cond.kind == "text" else None
        # TODO(search): enumeration options longer than 255 characters compare by their start.
        preds.append(q.ValueCmp(d.id, column, "eq", (long[:VALUE_NORM_CHARS],), recheck))
    return _negate(op, preds[0] if len(preds) == 1 else q.AnyOf(tuple(preds)))


def _blind_text(cond: Condition, value: Any) -> str | None:
    """The normalised text the blind index of a stored value is over, or None if no stored
    value can equal ``value``."""
    d = cond.definition
    if d.type == "bool":
        return "true" if value == 1.0 else "false"
    if d.type == "date":
        ms = int(value)
        if ms != value or ms % _MS_PER_DAY:
            return None
        return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
    if d.type == "datetime":
        return ms_to_iso(int(value)).lower() if int(value) == value else None
    if cond.kind == "exact":
        return str(value)
    if cond.operator in ("IN", "NOT_IN") and value != value.lower():
        return None  # IN wants lowercase strings, as HubSpot does
    return str(value).strip().lower()


def _sealed_pred(
    rt: Runtime, hub_id: int, object_type: ObjectType, cond: Condition
) -> q.Pred | None:
    """A condition on a sealed property as SQL over the blind index, or None if none can."""
    d, op = cond.definition, cond.operator
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        has = q.HasValue(d.id)
        return has if op == "HAS_PROPERTY" else q.Not(has)
    if op not in ("EQ", "NEQ", "IN", "NOT_IN") or cond.kind == "options":
        return None
    if d.type == "number":
        return None  # "1.0" and "1" are one number but two texts
    texts = [t for t in (_blind_text(cond, a) for a in cond.args) if t is not None]
    if not texts:
        return _negate(op, q.Never())
    keys = tuple(
        dict.fromkeys(rt.protector.blind_index(hub_id, object_type.id, d.name, t) for t in texts)
    )
    return _negate(op, q.ValueCmp(d.id, "value_bidx", "in" if len(keys) > 1 else "eq", keys))


def _record_pred(column: q.RecordColumn, cond: Condition) -> q.Pred:
    op, args = cond.operator, cond.args
    if op == "HAS_PROPERTY":
        return q.AllOf(())
    if op == "NOT_HAS_PROPERTY":
        return q.Never()
    if op in _RANGE_OPS:
        return q.RecordCmp(column, _RANGE_OPS[op], args)  # type: ignore[arg-type]
    return _negate(op, q.RecordCmp(column, "in" if len(args) > 1 else "eq", args))


ASSOCIATIONS = "associations."


def _association_pred(caller: Caller, object_type: ObjectType, f: Filter) -> q.Pred:
    """``associations.contact EQ 123``: records associated with contact 123 (SPEC §4.1)."""
    other = object_types.standard(f.property_name[len(ASSOCIATIONS) :])
    if other is None or object_type.is_custom:
        raise validation_error(
            f"{f.property_name} is not a supported association filter: name a standard object "
            "type (contact, company, deal, ticket); custom objects do not support it.",
            context={"propertyName": [f.property_name]},
        )
    policy.check_record_access(caller, other.id, "read")
    if f.operator == "EQ" and f.value is not None:
        wanted = [f.value]
    elif f.operator == "IN" and f.values:
        wanted = list(f.values)
    else:
        raise validation_error(
            f"{f.property_name} takes EQ with a record id, or IN with record ids",
            context={"propertyName": [f.property_name]},
        )
    ids = [whole_number(v.strip()) for v in wanted]
    if any(i is None for i in ids):
        raise validation_error(
            f"{f.property_name} filters take record ids",
            context={"propertyName": [f.property_name]},
        )
    subqueries = [
        association_reads.associated_ids_subquery(caller.hub_id, object_type.id, other.id, i)
        for i in ids
        if i is not None
    ]
    return q.AnyOf(tuple(q.IdIn(sub) for sub in subqueries))


def _compile(
    rt: Runtime,
    caller: Caller,
    object_type: ObjectType,
    request: SearchRequest,
    definitions: dict[str, Any],
) -> Compiled:
    groups: list[tuple[q.Pred, ...]] = []
    residuals: list[list[Condition]] = []
    for group in request.groups:
        preds: list[q.Pred] = []
        left: list[Condition] = []
        for f in group:
            if f.property_name.startswith(ASSOCIATIONS):
                preds.append(_association_pred(caller, object_type, f))
                continue
            definition = definitions[f.property_name]
            cond = condition(definition, f)
            column = _virtual_column(object_type, definition.name)
            if column is not None:
                preds.append(_record_pred(column, cond))
            elif policy.is_protected(definition.data_sensitivity):
                pred = _sealed_pred(rt, caller.hub_id, object_type, cond)
                if pred is None:
                    left.append(cond)
                    pred = q.Always()
                preds.append(pred)
            else:
                preds.append(_plain_pred(cond))
        groups.append(tuple(preds))
        residuals.append(left)
    sort, residual_sort = _sort(object_type, request.sorts, definitions)
    plan = q.Plan(caller.hub_id, object_type.id, tuple(groups), sort)
    return Compiled(plan, residuals, residual_sort)


def _sort(
    object_type: ObjectType, rules: tuple[SortRule, ...], definitions: dict[str, Any]
) -> tuple[q.Sort | None, tuple[Any, bool] | None]:
    if not rules:
        return None, None
    # Only one sort rule applies (SPEC §4.1).
    rule = rules[0]
    definition = definitions[rule.property_name]
    column = _virtual_column(object_type, definition.name)
    if column is not None:
        return q.Sort(rule.descending, record_column=column), None
    if policy.is_protected(definition.data_sensitivity):
        return None, (definition, rule.descending)
    value_column: q.ValueColumn = "value_num" if kind_of(definition) == "number" else "value_norm"
    return q.Sort(rule.descending, property_id=definition.id, value_column=value_column), None


def _with_query(
    conn: Connection, caller: Caller, object_type: ObjectType, request: SearchRequest, plan: q.Plan
) -> q.Plan:
    """Free text: every word must start a term of one of the object's searchable properties.

    Sensitive properties are never searched by ``query`` (SPEC Part B3); numbers (a ticket's
    id) match the whole word.
    """
    if request.query is None:
        return plan
    stored, in_norm = query_index.searched(conn, caller.hub_id, object_type)
    indexed = bool(stored) and query_index.current(conn, caller.hub_id, object_type, stored)
    by_id = any(_virtual_column(object_type, n) == "id" for n in object_type.searchable_properties)
    words: list[q.Pred] = []
    for word in _necessary(request.query.lower().split(), by_id):
        options: list[q.Pred] = []
        if indexed:
            options.append(q.Words(caller.hub_id, object_type.id, word))
        elif stored:
            options.append(q.TermMatch(stored, "folded_prefix", word, in_norm))
        if by_id and word.isdigit() and len(word) < 19:
            options.append(q.RecordCmp("id", "eq", (int(word),)))
        words.append(q.AnyOf(tuple(options)) if len(options) != 1 else options[0])
    groups = tuple(g + tuple(words) for g in plan.groups) or (tuple(words),)
    return q.Plan(plan.hub_id, plan.object_type_id, groups, plan.sort)


# Each word is one more condition in the page's SQL, and SQLite refuses an expression over 1,000
# deep; 3,000 characters of query can hold about as many words.
MAX_QUERY_WORDS = 500


def _necessary(words: list[str], by_id: bool) -> list[str]:
    """The words whose match the others do not imply: a repeated word adds nothing, nor does a
    word that starts another (the term that word starts starts with it too), unless the word
    can also match a record id."""
    unique = sorted(set(words))
    # In sorted order, the words a word starts come right after it.
    following = [*unique[1:], ""]
    kept = [
        w
        for w, after in zip(unique, following, strict=True)
        if not after.startswith(w) or (by_id and w.isdigit())
    ]
    if len(kept) > MAX_QUERY_WORDS:
        raise validation_error(
            f"The search query holds {len(kept)} different words; at most {MAX_QUERY_WORDS} are "
            "supported.",
            context={"query": [f"{len(kept)} words"]},
        )
    return kept
