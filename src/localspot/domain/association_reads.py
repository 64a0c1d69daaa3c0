"""Reading association rows back: pages of a record's associations for the API, and the
subquery search uses for its ``associations.{type}`` pseudo-property.

Archived records drop out of reads (their rows stay, so a restore brings the associations
back). An association read never returns property values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, select

from localspot.domain.association_definitions import Definitions
from localspot.domain.association_types import AssociationType
from localspot.domain.object_types import ObjectType
from localspot.errors import validation_error
from localspot.store.schema import record_associations, records
from localspot.validation import whole_number

MAX_PAGE = 500

ra = record_associations


def _live_targets() -> Any:
    return and_(records.c.id == ra.c.to_id, records.c.archived.is_(False))


def page_of(
    conn: Connection,
    defs: Definitions,
    from_ot: ObjectType,
    from_id: int,
    to_ot: ObjectType,
    limit: int,
    after: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of a record's associated records of one type, ordered by id."""
    ids = (
        conn.execute(
            select(ra.c.to_id)
            .join(records, _live_targets())
            .where(ra.c.from_id == from_id, ra.c.to_object_type_id == to_ot.id, ra.c.to_id > after)
            .group_by(ra.c.to_id)
            .order_by(ra.c.to_id)
            .limit(limit + 1)
        )
        .scalars()
        .all()
    )
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return [], None
    rows = conn.execute(
        select(ra.c.to_id, ra.c.category, ra.c.type_id).where(
            ra.c.from_id == from_id, ra.c.to_id.in_(ids)
        )
    ).all()
    types = {t.key: t for t in defs.between(from_ot.id, to_ot.id)}
    found: dict[int, list[AssociationType]] = {i: [] for i in ids}
    for to_id, code, type_id in rows:
        t = types.get((code, type_id))
        if t is not None:
            found[to_id].append(t)
    results = [
        {
            "toObjectId": to_id,
            "associationTypes": [
                t.spec() for t in sorted(kinds, key=lambda t: (t.key[0], not t.default, t.type_id))
            ],
        }
        for to_id, kinds in found.items()
        if kinds
    ]
    return results, ids[-1] if more else None


def parse_after(after: str | None) -> int:
    if not after:
        return 0
    cursor = whole_number(after)
    if cursor is None:
        raise validation_error(
            "after must be a paging cursor from a previous page", context={"after": [after]}
        )
    return cursor


def associated_ids_subquery(hub_id: int, from_type: str, to_type: str, to_id: int) -> Select[Any]:
    """Ids of live ``from_type`` records associated with live record ``to_id`` of ``to_type``.

    For search's ``associations.{type}`` pseudo-property: ``records.c.id.in_(this)``. It reads
    the rows stored from ``to_id``'s side, so it is one range of the listing index.
    """
    del hub_id  # record ids are unique across accounts; the outer query scopes by account
    target = records.alias("associated_record")
    return (
        select(ra.c.to_id)
        .join(target, and_(target.c.id == ra.c.to_id, target.c.archived.is_(False)))
        .where(
            ra.c.from_id == to_id,
            ra.c.to_object_type_id == from_type,
            # the anchor must be of the named type and live: reads hide an archived record's
            # associations (they come back on restore), so search must not match through them
            ra.c.from_id.in_(
                select(records.c.id).where(
                    records.c.object_type_id == to_type, records.c.archived.is_(False)
                )
            ),
        )
        .distinct()
    )
