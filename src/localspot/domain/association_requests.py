"""What an association request names, checked: association specs, record ids, and the pair of
object types it reads or writes, with the scopes that pair needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from localspot import policy
from localspot.domain import association_types as at
from localspot.domain import object_types
from localspot.domain.object_types import ObjectType
from localspot.errors import HubSpotError, validation_error
from localspot.policy import Caller
from localspot.validation import whole_number


@dataclass(frozen=True)
class Spec:
    category: str
    type_id: int


def parse_specs(raw: Any, where: str = "body") -> list[Spec]:
    """``[{associationCategory, associationTypeId}]`` or HubSpot's 400."""
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise validation_error(
            f"Invalid input JSON: {where} must be a list of association specs "
            "({associationCategory, associationTypeId})"
        )
    specs = []
    for item in raw:
        category = item.get("associationCategory")
        type_id = item.get("associationTypeId")
        if category not in at.CATEGORIES:
            raise validation_error(
                f"Invalid input JSON: associationCategory must be one of "
                f"{', '.join(at.CATEGORIES)}",
                context={"associationCategory": [str(category)]},
            )
        if isinstance(type_id, str) and whole_number(type_id) is not None:
            type_id = int(type_id)
        if isinstance(type_id, bool) or not isinstance(type_id, int):
            raise validation_error(
                "Invalid input JSON: associationTypeId must be a whole number",
                context={"associationTypeId": [str(type_id)]},
            )
        specs.append(Spec(category, type_id))
    return specs


def parse_id(raw: Any) -> int | None:
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    return whole_number(text)


def invalid_ids(
    from_ot: ObjectType, bad_from: list[str], to_ot: ObjectType, bad_to: list[str]
) -> HubSpotError:
    named = [f"{from_ot.singular} {i}" for i in bad_from] + [
        f"{to_ot.singular} {i}" for i in bad_to
    ]
    context: dict[str, list[str]] = {}
    if bad_from:
        context["fromObjectId"] = bad_from
    if bad_to:
        context["toObjectId"] = bad_to
    return validation_error(
        f"These records do not exist or are archived: {', '.join(named)}",
        sub_category="crm.associations.INVALID_OBJECT_IDS",
        context=context,
    )


@dataclass
class Resolved:
    from_ot: ObjectType
    to_ot: ObjectType
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_pair(conn: Connection, caller: Caller, from_key: str, to_key: str) -> Resolved:
    return Resolved(
        object_types.resolve(conn, caller.hub_id, from_key),
        object_types.resolve(conn, caller.hub_id, to_key),
    )


def check_read(caller: Caller, pair: Resolved) -> None:
    policy.check_association_read(caller, pair.from_ot.id, pair.to_ot.id)


def check_write(caller: Caller, pair: Resolved) -> None:
    policy.check_association_write(caller, pair.from_ot.id, pair.to_ot.id)
