"""A custom object schema's association definitions (SPEC §3.5): POST and DELETE
``/{objectType}/associations``.

A definition is the unlabeled pair of association types between the schema's object and
another object type, both ways, as ``associatedObjects`` makes them at schema creation
(``association_definitions.define_pair``); schema reads list them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from localspot.domain import association_definitions as defs
from localspot.domain import association_types as at
from localspot.domain import object_types, schemas
from localspot.domain.object_types import ObjectType
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import (
    association_definitions,
    object_schemas,
    record_associations,
    records,
)
from localspot.validation import whole_number

ad = association_definitions
ra = record_associations
_USER_DEFINED = at.CATEGORY_CODE[at.USER_DEFINED]


def _text(raw: dict[str, Any], field: str, required: bool) -> str | None:
    value = raw.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise validation_error(
            f"Invalid input JSON: {field} must be a non-empty string",
            errors=[{"message": f"{field} is required", "code": "REQUIRED", "in": field}],
        )
    return value.strip()


def _object_type(conn: Connection, hub_id: int, field: str, key: str) -> ObjectType:
    try:
        return object_types.resolve(conn, hub_id, key)
    except HubSpotError:
        raise validation_error(
            f"{field} {key} is not an object type of this account (archived custom objects "
            "are not)",
            context={field: [key]},
        ) from None


def _touch(conn: Connection, type_ids: Iterable[str], now: Any) -> None:
    """Locks the custom objects on either side, in id order, and marks them updated: their
    schema reads change. The lock keeps two requests from defining (or deleting) the same
    pair at once on PostgreSQL; SQLite's writers are serial anyway."""
    ids = sorted({int(t[2:]) for t in type_ids if t.startswith("2-")})
    if not ids:
        return
    conn.execute(
        select(object_schemas.c.id)
        .where(object_schemas.c.id.in_(ids))
        .order_by(object_schemas.c.id)
        .with_for_update()
    )
    conn.execute(update(object_schemas).where(object_schemas.c.id.in_(ids)).values(updated_at=now))


def _check_name_free(conn: Connection, hub_id: int, own: ObjectType, name: str) -> None:
    taken = conn.scalar(
        select(ad.c.id)
        .where(
            ad.c.hub_id == hub_id,
            ad.c.from_object_type_id == own.id,
            ad.c.label.is_(None),
            func.lower(ad.c.name) == name.lower(),
        )
        .limit(1)
    )
    if taken is not None:
        raise conflict(
            f"{own.name} already has an association named {name}",
            category="OBJECT_ALREADY_EXISTS",
            context={"name": [name]},
        )


def create_association(
    rt: Runtime, caller: Caller, key: str, raw: dict[str, Any]
) -> dict[str, Any]:
    """Defines the pair from the schema in the path to ``toObjectTypeId``; 201's body is the
    definition seen from the schema's side."""
    caller.require_any(schemas.SCHEMA_WRITE)
    from_key = _text(raw, "fromObjectTypeId", True)
    to_key = _text(raw, "toObjectTypeId", True)
    name = _text(raw, "name", False)
    assert from_key is not None and to_key is not None
    if name is not None and not defs.NAME_PATTERN.match(name):
        raise validation_error(
            f"Association name {name!r} may hold only letters, digits and underscores, "
            "up to 100 of them",
            context={"name": [name]},
        )
    with rt.store.write() as conn:
        own = schemas.object_type_of(schemas.require_schema(conn, caller.hub_id, key))
        from_ot = _object_type(conn, caller.hub_id, "fromObjectTypeId", from_key)
        if from_ot.id != own.id:
            # The definition belongs to the schema in the path, and its DELETE lives there.
            raise validation_error(
                f"fromObjectTypeId {from_key} is not the object schema of this path ({own.id}). "
                "Define an association from the schema the path names.",
                context={"fromObjectTypeId": [from_key]},
            )
        to_ot = _object_type(conn, caller.hub_id, "toObjectTypeId", to_key)
        _touch(conn, (own.id, to_ot.id), rt.clock.now())
        existing = defs.Definitions(conn, caller.hub_id).default(own.id, to_ot.id)
        if existing is not None:
            raise conflict(
                f"An association between {own.name} and {to_ot.name} is already defined, "
                f"with id {existing.type_id}",
                category="OBJECT_ALREADY_EXISTS",
                context={"id": [str(existing.type_id)], "toObjectTypeId": [to_ot.id]},
            )
        _check_name_free(
            conn, caller.hub_id, own, name or f"{defs.word(own)}_to_{defs.word(to_ot)}"
        )
        made = defs.define_pair(conn, caller.hub_id, own, to_ot, rt.clock.millis(), name=name)
        row = conn.execute(select(ad).where(ad.c.id == made.type_id - defs.TYPE_ID_OFFSET)).one()
        return defs.render_definition(row)


def _definition(conn: Connection, hub_id: int, own: ObjectType, identifier: str) -> Any:
    """The unlabeled definition, either way round, that a schema read of ``own`` lists under
    ``identifier``."""
    number = whole_number(identifier)
    row = None
    if number is not None and number > defs.TYPE_ID_OFFSET:
        row = conn.execute(
            select(ad).where(
                ad.c.id == number - defs.TYPE_ID_OFFSET,
                ad.c.hub_id == hub_id,
                ad.c.label.is_(None),
                (ad.c.from_object_type_id == own.id) | (ad.c.to_object_type_id == own.id),
            )
        ).first()
    if row is None:
        raise not_found(
            f"Unable to find association {identifier} of object schema {own.name}",
            context={"associationIdentifier": [identifier]},
        )
    return row


def _live_users(conn: Connection, own: ObjectType, other_id: str, type_ids: list[int]) -> int:
    """How many live ``own`` records hold an association of these types with a live record."""
    source, target = records.alias("source"), records.alias("target")
    return int(
        conn.scalar(
            select(func.count(func.distinct(ra.c.from_id)))
            .select_from(ra)
            .join(source, and_(source.c.id == ra.c.from_id, source.c.archived.is_(False)))
            .join(target, and_(target.c.id == ra.c.to_id, target.c.archived.is_(False)))
            .where(
                ra.c.category == _USER_DEFINED,
                ra.c.type_id.in_(type_ids),
                ra.c.to_object_type_id == other_id,
                source.c.object_type_id == own.id,
            )
        )
        or 0
    )


def _name_of(conn: Connection, hub_id: int, object_type_id: str) -> str:
    try:
        return object_types.resolve(conn, hub_id, object_type_id).name
    except HubSpotError:
        return object_type_id  # an archived custom object


def delete_association(rt: Runtime, caller: Caller, key: str, identifier: str) -> None:
    """Deletes the pair (both ways, and the labels defined on it) while no live records are
    associated through it; a refusal changes nothing."""
    caller.require_any(schemas.SCHEMA_WRITE)
    with rt.store.write() as conn:
        own = schemas.object_type_of(schemas.require_schema(conn, caller.hub_id, key))
        found = _definition(conn, caller.hub_id, own, identifier)
        a, b = found.from_object_type_id, found.to_object_type_id
        other_id = b if a == own.id else a
        _touch(conn, (a, b), rt.clock.now())
        rows = conn.execute(
            select(ad.c.id).where(
                ad.c.hub_id == caller.hub_id,
                ((ad.c.from_object_type_id == a) & (ad.c.to_object_type_id == b))
                | ((ad.c.from_object_type_id == b) & (ad.c.to_object_type_id == a)),
            )
        ).scalars()
        ids = list(rows)
        type_ids = [i + defs.TYPE_ID_OFFSET for i in ids]
        in_use = _live_users(conn, own, other_id, type_ids)
        if in_use:
            raise validation_error(
                f"{in_use} {own.name} record{'' if in_use == 1 else 's'} still "
                f"{'has' if in_use == 1 else 'have'} associations with "
                f"{_name_of(conn, caller.hub_id, other_id)} records through association "
                f"{identifier}. Remove those associations first.",
                context={"associationIdentifier": [identifier]},
            )
        # What is left belongs to archived records, which no read shows and no API call can
        # unlink: it goes with the definition, so a restore brings back no orphaned type.
        conn.execute(delete(ra).where(ra.c.category == _USER_DEFINED, ra.c.type_id.in_(type_ids)))
        conn.execute(delete(ad).where(ad.c.id.in_(ids)))
