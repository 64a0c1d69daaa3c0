"""Association definitions an account holds: labels, and the pairs its custom objects declare.

HubSpot-defined types come from ``association_types``; this module adds the stored ones
(category USER_DEFINED, their ``typeId`` derived from their row id) and answers, for any two object
types, which types exist between them (v4 labels API, SPEC issue #10).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from localspot import policy
from localspot.clock import iso
from localspot.domain import association_types as at
from localspot.domain import object_types
from localspot.domain.association_types import AssociationType
from localspot.domain.object_types import ObjectType
from localspot.domain.property_models import MAX_LABEL
from localspot.errors import HubSpotError, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import association_definitions, record_associations
from localspot.validation import whole_number

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,100}$")
# Stored definitions' typeIds are their row id plus this, so that within one object pair a
# user-defined typeId never equals a HubSpot-defined one (HubSpot's run below 2,000).
TYPE_ID_OFFSET = 100_000


def _from_row(row: Any) -> AssociationType:
    return AssociationType(
        at.USER_DEFINED,
        row.id + TYPE_ID_OFFSET,
        row.from_object_type_id,
        row.to_object_type_id,
        row.label,
        row.name,
        (row.inverse_id if row.inverse_id is not None else row.id) + TYPE_ID_OFFSET,
        default=row.label is None,
    )


def word(object_type: ObjectType) -> str:
    """How HubSpot names an object type inside an association name: ``contact``, ``car``."""
    return object_type.name.lower() if object_type.is_custom else object_type.singular


class Definitions:
    """The association types of one account, loaded once per pair within a transaction."""

    def __init__(self, conn: Connection, hub_id: int) -> None:
        self.conn, self.hub_id = conn, hub_id
        self._pairs: dict[tuple[str, str], list[AssociationType]] = {}

    def between(self, from_type: str, to_type: str) -> list[AssociationType]:
        """Every type from one object type to the other; the unlabeled default comes first."""
        key = (from_type, to_type)
        if key not in self._pairs:
            found = at.hubspot_defined(from_type, to_type)
            rows = self.conn.execute(
                select(association_definitions)
                .where(
                    association_definitions.c.hub_id == self.hub_id,
                    association_definitions.c.from_object_type_id == from_type,
                    association_definitions.c.to_object_type_id == to_type,
                )
                .order_by(association_definitions.c.id)
            ).all()
            stored = [_from_row(r) for r in rows]
            self._pairs[key] = [*found, *sorted(stored, key=lambda t: not t.default)]
        return self._pairs[key]

    def default(self, from_type: str, to_type: str) -> AssociationType | None:
        types = self.between(from_type, to_type)
        return types[0] if types and types[0].default else None

    def require_default(self, from_ot: ObjectType, to_ot: ObjectType) -> AssociationType:
        found = self.default(from_ot.id, to_ot.id)
        if found is None:
            raise validation_error(
                f"{from_ot.name} and {to_ot.name} cannot be associated: no association is "
                "defined between them",
                sub_category="crm.associations.INVALID_OBJECT_TYPE_PAIR",
                context={"fromObjectType": [from_ot.id], "toObjectType": [to_ot.id]},
            )
        return found

    def find(
        self, from_ot: ObjectType, to_ot: ObjectType, category: str, type_id: int
    ) -> AssociationType:
        for t in self.between(from_ot.id, to_ot.id):
            if t.category == category and t.type_id == type_id:
                return t
        raise invalid_type(category, type_id, from_ot, to_ot)

    def by_type_id(self, from_type: str, category: str, type_id: int) -> AssociationType | None:
        """The type a v3 create body names, whose target object type it does not say."""
        if category == at.HUBSPOT_DEFINED:
            for t in at.CATALOG:
                if t.from_type == from_type and t.type_id == type_id:
                    return t
            return None
        row = self.conn.execute(
            select(association_definitions).where(
                association_definitions.c.id == type_id - TYPE_ID_OFFSET,
                association_definitions.c.hub_id == self.hub_id,
                association_definitions.c.from_object_type_id == from_type,
            )
        ).first()
        return _from_row(row) if row is not None and category == at.USER_DEFINED else None


def invalid_type(
    category: str, type_id: int, from_ot: ObjectType, to_ot: ObjectType | None
) -> HubSpotError:
    """The spec as the caller wrote it. The ``<category code>-<typeId>`` form printed before read
    like object type ids (``1-100002``) and named neither field the caller had sent."""
    between = f"from {from_ot.name}" + (f" to {to_ot.name}" if to_ot is not None else "")
    context = {
        "associationCategory": [category],
        "associationTypeId": [str(type_id)],
        "fromObjectType": [from_ot.id],
    }
    if to_ot is not None:
        context["toObjectType"] = [to_ot.id]
    return validation_error(
        f"associationCategory {category} with associationTypeId {type_id} is not a valid "
        f"association type {between}",
        sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
        context=context,
    )


# Custom object pairs ----------------------------------------------------------------------------


def define_pair(
    conn: Connection,
    hub_id: int,
    a: ObjectType,
    b: ObjectType,
    now_ms: int,
    name: str | None = None,
) -> AssociationType:
    """The unlabeled default types between two object types, unless they exist already;
    ``name`` names the ``a`` to ``b`` side (``<a>_to_<b>`` when not given)."""
    existing = Definitions(conn, hub_id).default(a.id, b.id)
    if existing is not None:
        return existing
    forward_name = name or f"{word(a)}_to_{word(b)}"
    forward = _insert(conn, hub_id, a.id, b.id, forward_name, None, now_ms)
    if a.id == b.id:
        _link(conn, forward, forward)
    else:
        backward = _insert(conn, hub_id, b.id, a.id, f"{word(b)}_to_{word(a)}", None, now_ms)
        _link(conn, forward, backward)
    return Definitions(conn, hub_id).require_default(a, b)


def define_for_schema(
    conn: Connection, hub_id: int, object_type: ObjectType, associated: Iterable[str], now_ms: int
) -> None:
    """The pairs a new custom object schema declares in ``associatedObjects``."""
    for key in dict.fromkeys(associated):
        other = object_types.resolve(conn, hub_id, key)
        define_pair(conn, hub_id, object_type, other, now_ms)


def schema_associations(
    conn: Connection, hub_id: int, object_type_id: str, audit: bool = True
) -> list[dict[str, Any]]:
    """The ``associations`` of a custom object schema read: its unlabeled pairs, both ways."""
    rows = conn.execute(
        select(association_definitions)
        .where(
            association_definitions.c.hub_id == hub_id,
            association_definitions.c.label.is_(None),
            (association_definitions.c.from_object_type_id == object_type_id)
            | (association_definitions.c.to_object_type_id == object_type_id),
        )
        .order_by(association_definitions.c.id)
    ).all()
    return [render_definition(r, audit) for r in rows]


def render_definition(row: Any, audit: bool = True) -> dict[str, Any]:
    """HubSpot's AssociationDefinition: its ``id`` is the type id that record associations
    of this direction carry (category USER_DEFINED)."""
    out: dict[str, Any] = {
        "id": str(row.id + TYPE_ID_OFFSET),
        "fromObjectTypeId": row.from_object_type_id,
        "toObjectTypeId": row.to_object_type_id,
        "name": row.name.upper(),
    }
    if audit:
        # A definition is never edited: it is created, then deleted.
        out["createdAt"] = out["updatedAt"] = iso(
            datetime.fromtimestamp(row.created_ms / 1000, UTC)
        )
    return out


def purge_object_type(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """Deletes the association types to and from a purged custom object. Its records, and so
    their associations, are already gone."""
    conn.execute(
        delete(association_definitions).where(
            association_definitions.c.hub_id == hub_id,
            (association_definitions.c.from_object_type_id == object_type_id)
            | (association_definitions.c.to_object_type_id == object_type_id),
        )
    )


def purge_account(conn: Connection, hub_id: int) -> None:
    """Deletes every association type an account made (HubSpot's own live in code). Its
    records, and so their associations, are already gone."""
    conn.execute(delete(association_definitions).where(association_definitions.c.hub_id == hub_id))


def _insert(
    conn: Connection,
    hub_id: int,
    from_type: str,
    to_type: str,
    name: str,
    label: str | None,
    now_ms: int,
) -> int:
    return int(
        conn.execute(
            insert(association_definitions).values(
                hub_id=hub_id,
                from_object_type_id=from_type,
                to_object_type_id=to_type,
                name=name,
                label=label,
                created_ms=now_ms,
            )
        ).inserted_primary_key[0]
    )


def _link(conn: Connection, a: int, b: int) -> None:
    conn.execute(
        update(association_definitions)
        .where(association_definitions.c.id == a)
        .values(inverse_id=b)
    )
    conn.execute(
        update(association_definitions)
        .where(association_definitions.c.id == b)
        .values(inverse_id=a)
    )


# The v4 labels API ------------------------------------------------------------------------------


def _pair(
    conn: Connection, caller: Caller, from_key: str, to_key: str
) -> tuple[ObjectType, ObjectType]:
    return (
        object_types.resolve(conn, caller.hub_id, from_key),
        object_types.resolve(conn, caller.hub_id, to_key),
    )


def _associable(defs: Definitions, a: ObjectType, b: ObjectType) -> None:
    defs.require_default(a, b)


def list_labels(rt: Runtime, caller: Caller, from_key: str, to_key: str) -> list[dict[str, Any]]:
    with rt.store.read() as conn:
        a, b = _pair(conn, caller, from_key, to_key)
        policy.check_association_definition_read(caller, a.id, b.id)
        return [t.spec() for t in Definitions(conn, caller.hub_id).between(a.id, b.id)]


def _text(raw: dict[str, Any], field: str, required: bool) -> str | None:
    value = raw.get(field)
    if value is None and not required:
        return None
    # A value of the wrong type was given, not left out: say so, as REQUIRED would mislead.
    if value is not None and not isinstance(value, str):
        raise validation_error(
            f"Invalid input JSON: {field} must be a string, not {_json_type(value)}",
            errors=[{"message": f"{field} must be a string", "code": "INVALID_TYPE", "in": field}],
        )
    if value is None or not value.strip():
        raise validation_error(
            f"Invalid input JSON: {field} must be a non-empty string",
            errors=[{"message": f"{field} is required", "code": "REQUIRED", "in": field}],
        )
    # Labels are shown where property labels are, and stored in as many characters.
    if len(value.strip()) > MAX_LABEL:
        raise validation_error(
            f"{field} must be at most {MAX_LABEL} characters",
            errors=[
                {
                    "message": f"{field} is longer than {MAX_LABEL} characters",
                    "code": "TOO_LONG",
                    "in": field,
                }
            ],
        )
    return value.strip()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def create_label(
    rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: dict[str, Any]
) -> list[dict[str, Any]]:
    """A user-defined label, and its inverse (paired label) when the pair has two sides."""
    label = _text(raw, "label", True)
    name = _text(raw, "name", True)
    inverse_label = _text(raw, "inverseLabel", False)
    assert label is not None and name is not None
    if not NAME_PATTERN.match(name):
        raise validation_error(
            f"Association label name {name!r} may hold only letters, digits and underscores",
            context={"name": [name]},
        )
    with rt.store.write() as conn:
        a, b = _pair(conn, caller, from_key, to_key)
        policy.check_association_definition_write(caller, a.id)
        defs = Definitions(conn, caller.hub_id)
        _associable(defs, a, b)
        user = [t for t in defs.between(a.id, b.id) if t.category == at.USER_DEFINED and t.label]
        if any(t.name.lower() == name.lower() for t in user):
            raise validation_error(
                f"An association label named {name} already exists between {a.name} and {b.name}",
                sub_category="crm.associations.LABEL_ALREADY_EXISTS",
                context={"name": [name]},
            )
        if len(user) >= rt.settings.associations_max_labels_per_pair:
            raise validation_error(
                f"{a.name} and {b.name} already have "
                f"{rt.settings.associations_max_labels_per_pair} association labels, the most "
                "an object pair may have",
                sub_category="crm.associations.TOO_MANY_LABELS",
            )
        now_ms = rt.clock.millis()
        forward = _insert(conn, caller.hub_id, a.id, b.id, name, label, now_ms)
        if a.id == b.id and inverse_label is None:
            _link(conn, forward, forward)
            ids = [forward]
        else:
            backward = _insert(
                conn, caller.hub_id, b.id, a.id, name, inverse_label or label, now_ms
            )
            _link(conn, forward, backward)
            ids = [forward, backward]
        rows = conn.execute(
            select(association_definitions).where(association_definitions.c.id.in_(ids))
        ).all()
        return [_from_row(r).spec() for r in sorted(rows, key=lambda r: ids.index(r.id))]


def _user_label(conn: Connection, hub_id: int, a: ObjectType, b: ObjectType, type_id: Any) -> Any:
    if isinstance(type_id, bool) or not isinstance(type_id, int):
        raise validation_error("associationTypeId must be a whole number")
    row = conn.execute(
        select(association_definitions).where(
            association_definitions.c.id == type_id - TYPE_ID_OFFSET,
            association_definitions.c.hub_id == hub_id,
            association_definitions.c.from_object_type_id == a.id,
            association_definitions.c.to_object_type_id == b.id,
            association_definitions.c.label.is_not(None),
        )
    ).first()
    if row is None:
        raise not_found(
            f"No user-defined association label {type_id} between {a.name} and {b.name}",
            context={"associationTypeId": [str(type_id)]},
        )
    return row


def update_label(
    rt: Runtime, caller: Caller, from_key: str, to_key: str, raw: dict[str, Any]
) -> None:
    label = _text(raw, "label", True)
    inverse_label = _text(raw, "inverseLabel", False)
    with rt.store.write() as conn:
        a, b = _pair(conn, caller, from_key, to_key)
        policy.check_association_definition_write(caller, a.id)
        row = _user_label(conn, caller.hub_id, a, b, raw.get("associationTypeId"))
        conn.execute(
            update(association_definitions)
            .where(association_definitions.c.id == row.id)
            .values(label=label)
        )
        if inverse_label is not None and row.inverse_id not in (None, row.id):
            conn.execute(
                update(association_definitions)
                .where(association_definitions.c.id == row.inverse_id)
                .values(label=inverse_label)
            )


def delete_label(rt: Runtime, caller: Caller, from_key: str, to_key: str, type_id: str) -> None:
    """Removes the label (both sides); associations keep their other types."""
    if whole_number(type_id) is None:
        raise validation_error("associationTypeId must be a whole number")
    with rt.store.write() as conn:
        a, b = _pair(conn, caller, from_key, to_key)
        policy.check_association_definition_write(caller, a.id)
        row = _user_label(conn, caller.hub_id, a, b, int(type_id))
        ids = list({row.id, row.inverse_id if row.inverse_id is not None else row.id})
        code = at.CATEGORY_CODE[at.USER_DEFINED]
        # TODO(webhooks): removing a label drops it from every association that carried it;
        # HubSpot may emit associationChange events for those, which LocalSpot does not yet.
        conn.execute(
            delete(record_associations).where(
                record_associations.c.category == code,
                record_associations.c.type_id.in_([i + TYPE_ID_OFFSET for i in ids]),
            )
        )
        conn.execute(delete(association_definitions).where(association_definitions.c.id.in_(ids)))
