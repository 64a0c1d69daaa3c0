"""Batches of the v4 associations API: each input its own unit, failures reported in a 207,
as HubSpot does (see ``associations`` for single pairs and v3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localspot.domain.association_definitions import word
from localspot.domain.association_links import Linker
from localspot.domain.association_reads import MAX_PAGE, page_of, parse_after
from localspot.domain.association_requests import (
    Resolved,
    Spec,
    check_read,
    check_write,
    parse_specs,
    resolve_pair,
)
from localspot.domain.associations import default_results, labels_pair, object_id
from localspot.domain.object_types import ObjectType
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime


@dataclass
class BatchOutcome:
    results: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def _inputs(raw: Any, limit: int) -> list[dict[str, Any]]:
    inputs = raw.get("inputs") if isinstance(raw, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation_error(
            "Invalid input JSON: inputs must be a list of objects",
            errors=[{"message": "inputs is required", "code": "REQUIRED", "in": "inputs"}],
        )
    if len(inputs) > limit:
        raise validation_error(
            f"Batch requests here are limited to {limit} inputs",
            context={"inputs": [str(len(inputs))]},
        )
    return inputs


def _each(
    rt: Runtime,
    caller: Caller,
    from_key: str,
    to_key: str,
    items: list[Any],
    one: Callable[[Linker, Resolved, Any], dict[str, Any] | list[dict[str, Any]] | None],
) -> BatchOutcome:
    """Runs ``one`` per input in a savepoint: a failing input changes nothing and is reported."""
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        linker.defs.require_default(pair.from_ot, pair.to_ot)
        _preload(linker, pair, items)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in items:
            savepoint = conn.begin_nested()
            mark = len(linker.changes)
            counts = dict(linker._counts)
            pairs = dict(linker._pairs)
            try:
                out = one(linker, pair, item)
                savepoint.commit()
            except HubSpotError as exc:
                savepoint.rollback()
                del linker.changes[mark:]
                linker._counts = counts
                linker._pairs = pairs
                if exc.status in (401, 403):
                    raise
                errors.append(exc.as_batch_error())
                continue
            if isinstance(out, list):
                results.extend(out)
            elif out is not None:
                results.append(out)
        linker.finish()
        return BatchOutcome(results, errors)


def _preload(linker: Linker, pair: Resolved, items: list[Any]) -> None:
    """Items start with (from key, to key): look every record and pair up at once."""
    linker.preload_live(pair.from_ot, [i[0] for i in items])
    linker.preload_live(pair.to_ot, [i[1] for i in items])
    ids = []
    for item in items:
        a, _ = linker.live(pair.from_ot, [item[0]])
        b, _ = linker.live(pair.to_ot, [item[1]])
        if a and b:
            ids.append((a[item[0]], b[item[1]]))
    linker.preload_pairs(ids, (pair.from_ot.id, pair.to_ot.id))


def _required_specs(item: dict[str, Any], n: int) -> list[Spec]:
    """An input's ``types``, of which HubSpot requires at least one: an empty list would
    otherwise make an unlabeled association the caller never named (batch/associate/default
    is the call for that). Like the other shape errors of a batch, it fails the whole request."""
    specs = parse_specs(item.get("types"), "types")
    if not specs:
        raise validation_error(
            f"Invalid input JSON: inputs[{n}].types must name at least one association type",
            errors=[
                {
                    "message": "types must not be empty",
                    "code": "REQUIRED",
                    "in": f"inputs[{n}].types",
                }
            ],
        )
    return specs


def batch_create(rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: Any) -> BatchOutcome:
    limit = rt.settings.associations_max_batch_write
    parsed = [
        (object_id(i, "from", n), object_id(i, "to", n), _required_specs(i, n))
        for n, i in enumerate(_inputs(raw, limit))
    ]

    def one(linker: Linker, pair: Resolved, item: tuple[str, str, list[Spec]]) -> dict[str, Any]:
        from_id, to_id, specs = item
        types = linker.types(pair.from_ot, pair.to_ot, specs)
        a, b = linker.pair_ids(pair.from_ot, from_id, pair.to_ot, to_id)
        keys = linker.link(pair.from_ot, a, pair.to_ot, b, types, replace=True)
        return labels_pair(linker, pair, a, b, keys)

    return _each(rt, caller, from_key, to_key, parsed, one)


def batch_create_default(
    rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: Any
) -> BatchOutcome:
    limit = rt.settings.associations_max_batch_write
    parsed = [
        (object_id(i, "from", n), object_id(i, "to", n)) for n, i in enumerate(_inputs(raw, limit))
    ]

    def one(linker: Linker, pair: Resolved, item: tuple[str, str]) -> list[dict[str, Any]]:
        default = linker.defs.require_default(pair.from_ot, pair.to_ot)
        a, b = linker.pair_ids(pair.from_ot, item[0], pair.to_ot, item[1])
        linker.link(pair.from_ot, a, pair.to_ot, b, [])
        return default_results(str(a), str(b), default)

    return _each(rt, caller, from_key, to_key, parsed, one)


def batch_archive(rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: Any) -> None:
    """Removes every association of each (from, to) pair; unknown ids are skipped."""
    limit = rt.settings.associations_max_batch_write
    parsed = []
    for n, item in enumerate(_inputs(raw, limit)):
        targets = item.get("to")
        if not isinstance(targets, list):
            raise validation_error(f"Invalid input JSON: inputs[{n}].to must be a list of ids")
        parsed.append(
            (object_id(item, "from", n), [object_id({"to": t}, "to", n) for t in targets])
        )
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        for from_id, to_ids in parsed:
            found_from, _ = linker.live(pair.from_ot, [from_id])
            found_to, _ = linker.live(pair.to_ot, to_ids)
            if not found_from:
                continue
            for to_id in found_to.values():
                linker.unlink_all(pair.from_ot, found_from[from_id], pair.to_ot, to_id)
        linker.finish()


def batch_archive_labels(rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: Any) -> None:
    """Removes the named types from each pair; removing the unlabeled default removes all."""
    limit = rt.settings.associations_max_batch_write
    parsed = [
        (object_id(i, "from", n), object_id(i, "to", n), parse_specs(i.get("types"), "types"))
        for n, i in enumerate(_inputs(raw, limit))
    ]
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        for from_id, to_id, specs in parsed:
            types = linker.types(pair.from_ot, pair.to_ot, specs)
            found_from, _ = linker.live(pair.from_ot, [from_id])
            found_to, _ = linker.live(pair.to_ot, [to_id])
            if found_from and found_to:
                linker.unlink_types(
                    pair.from_ot, found_from[from_id], pair.to_ot, found_to[to_id], types
                )
        linker.finish()


def batch_read(rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: Any) -> BatchOutcome:
    inputs = _inputs(raw, rt.settings.associations_max_batch_read)
    asked: list[tuple[str, int]] = []
    for n, item in enumerate(inputs):
        key = object_id({"from": item}, "from", n)
        after = item.get("after")
        asked.append((key, parse_after(str(after) if after is not None else None)))
    with rt.store.read() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_read(caller, pair)
        linker = Linker(rt, conn, caller)
        found, _ = linker.live(pair.from_ot, [k for k, _ in asked])
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for key, start in dict.fromkeys(asked):
            page: list[dict[str, Any]] = []
            last = None
            if key in found:
                page, last = page_of(
                    conn, linker.defs, pair.from_ot, found[key], pair.to_ot, MAX_PAGE, start
                )
            if not page:
                errors.append(_none_associated(pair, key).as_batch_error())
                continue
            item: dict[str, Any] = {"from": {"id": key}, "to": page}
            if last is not None:
                item["paging"] = {"next": {"after": str(last)}}
            results.append(item)
        return BatchOutcome(results, errors)


def _none_associated(pair: Resolved, key: str) -> HubSpotError:
    to_word, from_word = _word(pair.to_ot), _word(pair.from_ot)
    return HubSpotError(
        404,
        "OBJECT_NOT_FOUND",
        f"No {to_word} is associated with {from_word} {key}.",
        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
        context={
            "fromObjectId": [key],
            "fromObjectType": [from_word],
            "toObjectType": [to_word],
        },
    )


def _word(object_type: ObjectType) -> str:
    return word(object_type)
