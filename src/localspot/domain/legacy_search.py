"""Legacy search: contacts v1 ``search/query`` and companies v2 by domain.

The policy refuses these to any caller holding a sensitive scope for the object (SPEC Part
B9); for the others only non-sensitive values are searched.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select

from localspot import policy
from localspot.domain import object_types, property_lookup
from localspot.domain.legacy import (
    LegacyPage,
    LegacyReader,
    LegacyRecord,
    active_records,
    check_count,
)
from localspot.errors import validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import record_values, records

# What contacts v1 search/query matches: email, names, phone number and company name.
CONTACT_SEARCH_PROPERTIES = ("email", "firstname", "lastname", "phone", "company")


@dataclass(frozen=True)
class Found:
    records: list[LegacyRecord]
    total: int
    has_more: bool


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_contacts(
    rt: Runtime, caller: Caller, q: str, offset: int, count: int, names: list[str] | None
) -> Found:
    """Contacts whose email, name, phone or company contains every word of ``q``.

    Only non-sensitive definitions are searched: the policy has refused any caller that could
    see sensitive data, and sensitive values have no plaintext to match anyway.
    """
    check_count(count)
    if offset < 0:
        raise validation_error("offset must not be negative", context={"offset": [str(offset)]})
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "contacts")
        policy.check_legacy_search(caller, object_type.id)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions=False)
        searched = policy.legacy_visible(
            property_lookup.definitions_by_name(
                conn, caller.hub_id, object_type, list(CONTACT_SEARCH_PROPERTIES)
            ).values()
        )
        ids = [d.id for d in searched]
        condition = active_records(caller.hub_id, object_type)
        words = q.split()
        if not ids and words:
            return Found([], 0, False)
        for word in words:
            condition = and_(
                condition,
                exists().where(
                    record_values.c.record_id == records.c.id,
                    record_values.c.property_id.in_(ids),
                    record_values.c.value_norm.like(_like(word), escape="\\"),
                ),
            )
        total = conn.scalar(select(func.count()).select_from(records).where(condition)) or 0
        rows = conn.execute(
            select(records).where(condition).order_by(records.c.id).offset(offset).limit(count)
        ).all()
        return Found(reader.load(rows), int(total), offset + len(rows) < total)


def companies_by_domain(
    rt: Runtime, caller: Caller, domain: str, after_id: int, limit: int, names: list[str]
) -> LegacyPage:
    """Companies whose ``domain`` is exactly ``domain`` (case-insensitive), in id order."""
    check_count(limit, "limit")
    with rt.store.read() as conn:
        object_type = object_types.resolve(conn, caller.hub_id, "companies")
        policy.check_legacy_search(caller, object_type.id)
        reader = LegacyReader(rt, conn, caller, object_type, names, with_versions=True)
        searched = policy.legacy_visible(
            property_lookup.definitions_by_name(
                conn, caller.hub_id, object_type, ["domain"]
            ).values()
        )
        if not searched:
            return LegacyPage([], False, after_id)
        rows = conn.execute(
            select(records)
            .where(
                active_records(caller.hub_id, object_type),
                records.c.id > after_id,
                exists().where(
                    record_values.c.record_id == records.c.id,
                    record_values.c.property_id == searched[0].id,
                    record_values.c.value_norm == domain.strip().lower(),
                ),
            )
            .order_by(records.c.id)
            .limit(limit + 1)
        ).all()
        page = rows[:limit]
        last = page[-1].id if page else after_id
        return LegacyPage(reader.load(page), len(rows) > limit, last)
