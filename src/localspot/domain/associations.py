"""Associations between records: single pairs of the v4 associations API, and what v3 object
reads and creates ask for (v4 batches: ``association_batches``).

Each function owns its transaction, except :func:`link_new_record`, which runs inside the
record create that carries the associations. Webhook events: see
``association_links.record_changes``. Search: see
``association_reads.associated_ids_subquery``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from localspot import policy
from localspot.domain import object_types
from localspot.domain.association_definitions import invalid_type
from localspot.domain.association_links import Linker
from localspot.domain.association_reads import MAX_PAGE, page_of, parse_after
from localspot.domain.association_requests import (
    Resolved,
    Spec,
    check_read,
    check_write,
    parse_id,
    parse_specs,
    resolve_pair,
)
from localspot.domain.association_types import AssociationType
from localspot.domain.object_types import ObjectType
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime

# TODO(associations): not yet served: the v3 associations API and the association limit
# configuration endpoints.

# How many associated records of each type a v3 object read lists.
V3_MAX = 500


def _spec_body(t: AssociationType) -> dict[str, Any]:
    return {"associationCategory": t.category, "associationTypeId": t.type_id}


def default_results(a: str, b: str, t: AssociationType) -> list[dict[str, Any]]:
    """Both directions of a default association, as HubSpot reports them."""
    inverse = {"associationCategory": t.category, "associationTypeId": t.inverse_id}
    return [
        {"from": {"id": a}, "to": {"id": b}, "associationSpec": _spec_body(t)},
        {"from": {"id": b}, "to": {"id": a}, "associationSpec": inverse},
    ]


def labels_pair(linker: Linker, pair: Resolved, a: int, b: int, keys: set[Any]) -> dict[str, Any]:
    return {
        "fromObjectTypeId": pair.from_ot.id,
        "fromObjectId": a,
        "toObjectTypeId": pair.to_ot.id,
        "toObjectId": b,
        "labels": linker.labels(pair.from_ot, pair.to_ot, keys),
    }


# Single pairs -----------------------------------------------------------------------------------


def create_default(
    rt: Runtime, caller: Caller, from_key: str, from_id: str, to_key: str, to_id: str
) -> list[dict[str, Any]]:
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        default = linker.defs.require_default(pair.from_ot, pair.to_ot)
        a, b = linker.pair_ids(pair.from_ot, from_id, pair.to_ot, to_id)
        linker.link(pair.from_ot, a, pair.to_ot, b, [])
        linker.finish()
        return default_results(str(a), str(b), default)


def create_labelled(
    rt: Runtime, caller: Caller, from_key: str, from_id: str, to_key: str, to_id: str, raw: Any
) -> dict[str, Any]:
    """Sets the pair's labels to exactly those given (plus the unlabeled default)."""
    specs = parse_specs(raw)
    if not specs:
        raise validation_error("At least one association spec is required")
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        types = linker.types(pair.from_ot, pair.to_ot, specs)
        a, b = linker.pair_ids(pair.from_ot, from_id, pair.to_ot, to_id)
        keys = linker.link(pair.from_ot, a, pair.to_ot, b, types, replace=True)
        linker.finish()
        return labels_pair(linker, pair, a, b, keys)


def remove(
    rt: Runtime, caller: Caller, from_key: str, from_id: str, to_key: str, to_id: str
) -> None:
    """Removes every association between two records; unknown ids are no error (204)."""
    with rt.store.write() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_write(caller, pair)
        linker = Linker(rt, conn, caller)
        found_from, _ = linker.live(pair.from_ot, [from_id])
        found_to, _ = linker.live(pair.to_ot, [to_id])
        if found_from and found_to:
            linker.unlink_all(pair.from_ot, found_from[from_id], pair.to_ot, found_to[to_id])
        linker.finish()


def check_limit(limit: int) -> None:
    if limit < 1 or limit > MAX_PAGE:
        raise validation_error(
            f"limit must be between 1 and {MAX_PAGE}", context={"limit": [str(limit)]}
        )


def list_associations(
    rt: Runtime,
    caller: Caller,
    from_key: str,
    from_id: str,
    to_key: str,
    limit: int,
    after: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a record's associations of one object type; a missing record has none."""
    check_limit(limit)
    start = parse_after(after)
    with rt.store.read() as conn:
        pair = resolve_pair(conn, caller, from_key, to_key)
        check_read(caller, pair)
        linker = Linker(rt, conn, caller)
        found, _ = linker.live(pair.from_ot, [from_id])
        if not found:
            return [], None
        results, last = page_of(
            conn, linker.defs, pair.from_ot, found[from_id], pair.to_ot, limit, start
        )
        return results, str(last) if last is not None else None


# v3: associations in record reads and create bodies ---------------------------------------------


@dataclass(frozen=True)
class NewAssociation:
    """One entry of a v3 create body's ``associations``."""

    to_id: str
    specs: list[Spec]


def object_id(item: dict[str, Any], side: str, position: int, listed: str = "inputs") -> str:
    """``item[side].id`` as text; ``listed[position]`` is where the item stands in the body."""
    ref = item.get(side)
    value = ref.get("id") if isinstance(ref, dict) else None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise validation_error(
            f"Invalid input JSON: {listed}[{position}].{side}.id is required",
            errors=[{"message": f"{side}.id is required", "code": "REQUIRED", "in": side}],
        )
    return str(value)


def parse_v3_inputs(raw: Any) -> list[NewAssociation]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise validation_error("Invalid input JSON: associations must be a list of objects")
    out = []
    for n, item in enumerate(raw):
        to_id = object_id(item, "to", n, "associations")
        specs = parse_specs(item.get("types"), f"associations[{n}].types")
        if not specs:
            raise validation_error(
                f"Invalid input JSON: associations[{n}].types must name at least one "
                "association type",
                errors=[
                    {"message": "types is required", "code": "REQUIRED", "in": f"associations[{n}]"}
                ],
            )
        out.append(NewAssociation(to_id, specs))
    return out


def link_new_record(
    rt: Runtime,
    conn: Connection,
    caller: Caller,
    object_type: ObjectType,
    record_id: int,
    wanted: list[NewAssociation],
) -> None:
    """Associates a record being created, inside its transaction; targets must exist."""
    if not wanted:
        return
    linker = Linker(rt, conn, caller)
    for entry in wanted:
        types = []
        for spec in entry.specs:
            found = linker.defs.by_type_id(object_type.id, spec.category, spec.type_id)
            if found is None:
                raise invalid_type(spec.category, spec.type_id, object_type, None)
            types.append(found)
        to_types = {t.to_type for t in types}
        if len(to_types) != 1:
            raise validation_error(
                "All association types of one associations entry must lead to the same object type",
                context={"toObjectId": [entry.to_id]},
            )
        to_ot = object_types.resolve(conn, caller.hub_id, to_types.pop())
        policy.check_association_write(caller, object_type.id, to_ot.id)
        _, to_id = _pair_for_new(linker, object_type, record_id, to_ot, entry.to_id)
        linker.link(object_type, record_id, to_ot, to_id, types)
    linker.finish()


def _pair_for_new(
    linker: Linker, object_type: ObjectType, record_id: int, to_ot: ObjectType, key: str
) -> tuple[int, int]:
    found, missing = linker.live(to_ot, [key])
    if missing:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"The associated {to_ot.singular} {key} does not exist or is archived",
            sub_category="crm.associations.INVALID_OBJECT_IDS",
            context={"toObjectId": [key]},
        )
    return record_id, found[key]


def v3_associations(
    rt: Runtime, caller: Caller, object_key: str, record_ids: list[str], to_keys: list[str]
) -> dict[str, dict[str, Any]]:
    """{record id: v3 ``associations``} for the object types named; unknown names are ignored."""
    out: dict[str, dict[str, Any]] = {rid: {} for rid in record_ids}
    if not to_keys or not record_ids:
        return out
    with rt.store.read() as conn:
        from_ot = object_types.resolve(conn, caller.hub_id, object_key)
        linker = Linker(rt, conn, caller)
        for to_key in dict.fromkeys(to_keys):
            try:
                to_ot = object_types.resolve(conn, caller.hub_id, to_key)
            except HubSpotError:
                continue
            policy.check_association_read(caller, from_ot.id, to_ot.id)
            for rid in record_ids:
                record_id = parse_id(rid)
                if record_id is None:
                    continue
                page, _ = page_of(conn, linker.defs, from_ot, record_id, to_ot, V3_MAX, 0)
                # TODO(associations): v3 reads list the first V3_MAX associated records of each
                # type and give no paging link for the rest.
                entries = [
                    {"id": str(p["toObjectId"]), "type": _v3_name(linker, from_ot, to_ot, s)}
                    for p in page
                    for s in p["associationTypes"]
                ]
                if entries:
                    out[rid][to_key] = {"results": entries}
    return out


def _v3_name(linker: Linker, from_ot: ObjectType, to_ot: ObjectType, spec: dict[str, Any]) -> str:
    for t in linker.defs.between(from_ot.id, to_ot.id):
        if t.category == spec["category"] and t.type_id == spec["typeId"]:
            return t.name
    return str(spec["typeId"])
