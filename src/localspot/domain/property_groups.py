"""Property groups: the folders that property definitions are filed under (SPEC §2.1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, StrictStr
from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from localspot import policy
from localspot.domain import object_types
from localspot.domain.object_types import ObjectType
from localspot.domain.properties import scope
from localspot.domain.property_checks import check_label
from localspot.domain.property_models import NAME_PATTERN, DisplayOrder, Input
from localspot.errors import HubSpotError, conflict, not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import property_definitions as defs
from localspot.store.schema import property_groups as groups
from localspot.validation import parse_input


class GroupCreate(Input):
    name: StrictStr
    label: StrictStr
    display_order: DisplayOrder = Field(-1, alias="displayOrder")


class GroupUpdate(Input):
    label: StrictStr | None = None
    display_order: DisplayOrder | None = Field(None, alias="displayOrder")


def render(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "label": row.label,
        "displayOrder": row.display_order,
        "archived": row.archived,
    }


def _group_scope(hub_id: int, object_type: ObjectType) -> Any:
    return and_(groups.c.hub_id == hub_id, groups.c.object_type_id == object_type.id)


def list_groups(rt: Runtime, caller: Caller, object_key: str) -> list[Any]:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_read(caller, object_type.id)
        query = select(groups).where(
            _group_scope(caller.hub_id, object_type), groups.c.archived.is_(False)
        )
        return list(conn.execute(query.order_by(groups.c.display_order, groups.c.id)))


def _find_group(conn: Connection, hub_id: int, object_type: ObjectType, name: str) -> Any:
    row = None
    if NAME_PATTERN.fullmatch(name):  # no stored name has another shape
        query = select(groups).where(
            _group_scope(hub_id, object_type), groups.c.name == name, groups.c.archived.is_(False)
        )
        row = conn.execute(query).first()
    if row is None:
        raise not_found(f"Property group {name} does not exist", context={"groupName": [name]})
    return row


def get_group(rt: Runtime, caller: Caller, object_key: str, name: str) -> Any:
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_read(caller, object_type.id)
        return _find_group(conn, caller.hub_id, object_type, name)


def create_group(rt: Runtime, caller: Caller, object_key: str, body: GroupCreate) -> Any:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        return _create_group(conn, caller, object_type, body)


def _create_group(
    conn: Connection, caller: Caller, object_type: ObjectType, body: GroupCreate
) -> Any:
    policy.check_definition_write(caller, object_type.id, "non_sensitive")
    if not NAME_PATTERN.fullmatch(body.name):
        raise validation_error(
            f"Property group name {body.name!r} is not valid: use lowercase letters, digits "
            "and underscores, starting with a letter.",
            context={"groupName": [body.name]},
        )
    check_label(body.label)
    # An archived group keeps its name until the purge, though reads no longer find it.
    archived = conn.scalar(
        select(groups.c.archived).where(
            _group_scope(caller.hub_id, object_type), groups.c.name == body.name
        )
    )
    if archived is not None:
        raise _group_taken(body.name, archived)
    try:
        conn.execute(
            insert(groups).values(
                hub_id=caller.hub_id,
                object_type_id=object_type.id,
                name=body.name,
                label=body.label,
                display_order=body.display_order,
                archived=False,
                hubspot_defined=False,
            )
        )
    except IntegrityError:
        # A concurrent request took the name between our check and the insert (PostgreSQL).
        raise _group_taken(body.name, archived=False) from None
    return _find_group(conn, caller.hub_id, object_type, body.name)


def _group_taken(name: str, archived: bool) -> HubSpotError:
    kind = "an archived property group" if archived else "a property group"
    return conflict(
        f"There is already {kind} named {name} on this object.",
        category="OBJECT_ALREADY_EXISTS",
        context={"groupName": [name]},
    )


def update_group(
    rt: Runtime, caller: Caller, object_key: str, name: str, raw: dict[str, Any]
) -> Any:
    if "name" in raw:
        raise validation_error("name cannot be changed after a property group is created")
    body = parse_input(GroupUpdate, raw)
    if body.label is not None:
        check_label(body.label)
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        policy.check_definition_write(caller, object_type.id, "non_sensitive")
        current = _find_group(conn, caller.hub_id, object_type, name)
        # null means "not given": it never clears a field.
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if changes:
            conn.execute(update(groups).where(groups.c.id == current.id).values(changes))
        return _find_group(conn, caller.hub_id, object_type, name)


def archive_group(rt: Runtime, caller: Caller, object_key: str, name: str) -> None:
    with rt.store.write() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, object_key)
        _archive_group(conn, caller, rt.clock.now(), object_type, name)


def _archive_group(
    conn: Connection, caller: Caller, now: datetime, object_type: ObjectType, name: str
) -> None:
    policy.check_definition_write(caller, object_type.id, "non_sensitive")
    current = _find_group(conn, caller.hub_id, object_type, name)
    if current.hubspot_defined:
        raise validation_error(
            f"Property group {name} is defined by HubSpot and cannot be archived"
        )
    in_use = conn.scalar(
        select(func.count()).where(
            scope(caller.hub_id, object_type),
            defs.c.group_name == name,
            defs.c.archived.is_(False),
        )
    )
    if in_use:
        raise validation_error(
            f"Property group {name} still holds {in_use} properties; move them to another "
            "group first",
            context={"groupName": [name]},
        )
    conn.execute(
        update(groups).where(groups.c.id == current.id).values(archived=True, archived_at=now)
    )


def purge_object_type(conn: Connection, hub_id: int, object_type_id: str) -> None:
    conn.execute(
        delete(groups).where(groups.c.hub_id == hub_id, groups.c.object_type_id == object_type_id)
    )


def purge_custom(conn: Connection, hub_id: int, object_type_id: str) -> None:
    """Deletes the groups an account made on an object; HubSpot-defined ones stay."""
    conn.execute(
        delete(groups).where(
            groups.c.hub_id == hub_id,
            groups.c.object_type_id == object_type_id,
            groups.c.hubspot_defined.is_(False),
        )
    )


def purge_archived(conn: Connection, now: datetime, days: int) -> None:
    cutoff = now - timedelta(days=days)
    conn.execute(delete(groups).where(groups.c.archived.is_(True), groups.c.archived_at <= cutoff))
