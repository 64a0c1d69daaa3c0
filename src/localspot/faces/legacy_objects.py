"""Companies API v2 and Deals API v1: read, create, update, delete, and companies by domain.

Sensitive values never appear here and never change (SPEC §10, Part B8); the domain search
refuses tokens that hold sensitive scopes for companies (Part B9).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.domain import legacy, legacy_search
from localspot.domain.legacy import LegacyRecord, Version
from localspot.errors import HubSpotError, not_found, validation_error
from localspot.faces.http import JSON, Ctx, no_content
from localspot.faces.legacy_common import (
    caller,
    count_param,
    int_param,
    legacy_route,
    names_param,
    property_list,
)
from localspot.policy import Caller


def _version(name: str, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "value": version.value,
        "timestamp": version.timestamp_ms,
        "source": version.source_type,
        "sourceId": version.source_id,
        "sourceVid": [],
    }
    if version.user_id is not None:
        out["updatedByUserId"] = version.user_id
    return out


def _properties(record: LegacyRecord, all_versions: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, value in record.values.items():
        versions = record.versions.get(name, [])
        latest = versions[0] if versions else None
        props[name] = {
            "value": value,
            "timestamp": latest.timestamp_ms if latest else int(record.row.updated_ms),
            "source": latest.source_type if latest else "API",
            "sourceId": latest.source_id if latest else None,
            "versions": [_version(name, v) for v in (versions if all_versions else versions[:1])],
        }
    return props


def company(record: LegacyRecord, hub_id: int) -> dict[str, Any]:
    return {
        "portalId": hub_id,
        "companyId": record.id,
        "isDeleted": bool(record.row.archived),
        "properties": _properties(record, True),
        "additionalDomains": [],
        "stateChanges": [],
        "mergeAudits": [],
    }


def deal(
    record: LegacyRecord, hub_id: int, all_versions: bool, associated: dict[str, list[int]]
) -> dict[str, Any]:
    return {
        "portalId": hub_id,
        "dealId": record.id,
        "isDeleted": bool(record.row.archived),
        "associations": {
            "associatedVids": associated.get("0-1", []),
            "associatedCompanyIds": associated.get("0-2", []),
            "associatedDealIds": associated.get("0-3", []),
            "associatedTicketIds": associated.get("0-5", []),
        },
        "properties": _properties(record, all_versions),
        "imports": [],
        "stateChanges": [],
    }


def _missing(exc: HubSpotError) -> HubSpotError:
    return not_found("resource not found") if exc.status == 404 else exc


def _no_associations(body: dict[str, Any]) -> None:
    # TODO(associations): deal updates still refuse associations; HubSpot documents changing
    # them through the associations API, not this body.
    associations = body.get("associations")
    if associations and any(associations.values() if isinstance(associations, dict) else [1]):
        raise validation_error("LocalSpot does not support associations in deal bodies yet")


# Companies v2 -----------------------------------------------------------------------------------


def create_company(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "name")
    who = caller(ctx)
    company_id = legacy.create(ctx.runtime, who, "companies", given)
    record = legacy.get_record(ctx.runtime, who, "companies", str(company_id))
    return JSON(company(record, who.hub_id))


def get_company(ctx: Ctx) -> Response:
    who = caller(ctx)
    try:
        record = legacy.get_record(ctx.runtime, who, "companies", ctx.path["companyId"])
    except HubSpotError as exc:
        raise _missing(exc) from None
    return JSON(company(record, who.hub_id))


def update_company(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "name")
    who = caller(ctx)
    try:
        company_id = legacy.update_record(
            ctx.runtime, who, "companies", ctx.path["companyId"], given
        )
    except HubSpotError as exc:
        raise _missing(exc) from None
    record = legacy.get_record(ctx.runtime, who, "companies", str(company_id))
    return JSON(company(record, who.hub_id))


def delete_company(ctx: Ctx) -> Response:
    try:
        company_id = legacy.delete(ctx.runtime, caller(ctx), "companies", ctx.path["companyId"])
    except HubSpotError as exc:
        raise _missing(exc) from None
    return JSON({"companyId": company_id, "deleted": True})


def companies_by_domain(ctx: Ctx) -> Response:
    body = ctx.json_object()
    limit = body.get("limit", 100)
    options = body.get("requestOptions") or {}
    names = options.get("properties", []) if isinstance(options, dict) else None
    offset = body.get("offset") or {}
    after = offset.get("companyId", 0) if isinstance(offset, dict) else None
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise validation_error("limit must be a whole number")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise validation_error("requestOptions.properties must be a list of strings")
    if not isinstance(after, int) or isinstance(after, bool):
        raise validation_error("offset.companyId must be a whole number")
    who = caller(ctx)
    page = legacy_search.companies_by_domain(
        ctx.runtime, who, ctx.path["domain"], after, limit, names
    )
    return JSON(
        {
            "results": [company(r, who.hub_id) for r in page.records],
            "hasMore": page.has_more,
            "offset": {"isPrimary": True, "companyId": page.next_id},
        }
    )


# Both paged listings take up to 250 records a page, 100 by default.
PAGED_MOST, PAGED_DEFAULT = 250, 100


def _paged(ctx: Ctx, who: Caller, object_key: str) -> legacy.LegacyPage:
    """A page in id order after ``offset``, with only the ``properties`` asked for: by
    default none, only ids, as HubSpot's paged listings answer."""
    return legacy.list_all(
        ctx.runtime,
        who,
        object_key,
        int_param(ctx, "offset", 0) or 0,
        count_param(ctx, "limit", PAGED_DEFAULT),
        names_param(ctx, "properties") or [],
        count_name="limit",
        most=PAGED_MOST,
    )


def companies_paged(ctx: Ctx) -> Response:
    who = caller(ctx)
    page = _paged(ctx, who, "companies")
    return JSON(
        {
            "companies": [company(r, who.hub_id) for r in page.records],
            "has-more": page.has_more,
            "offset": page.next_id,
        }
    )


# Deals v1 ---------------------------------------------------------------------------------------


def _deal_response(ctx: Ctx, who: Caller, deal_id: int, all_versions: bool) -> Response:
    record = legacy.get_record(ctx.runtime, who, "deals", str(deal_id))
    associated = legacy.associated_ids(ctx.runtime, who, "deals", record.id)
    return JSON(deal(record, who.hub_id, all_versions, associated))


def create_deal(ctx: Ctx) -> Response:
    body = ctx.json_object()
    associated = legacy.parse_associations(body.get("associations"))
    given = property_list(body, "name")
    who = caller(ctx)
    deal_id = legacy.create(ctx.runtime, who, "deals", given, associated)
    return _deal_response(ctx, who, deal_id, True)


def get_deal(ctx: Ctx) -> Response:
    who = caller(ctx)
    try:
        record = legacy.get_record(ctx.runtime, who, "deals", ctx.path["dealId"])
    except HubSpotError as exc:
        raise _missing(exc) from None
    return _deal_response(ctx, who, record.id, ctx.flag("includePropertyVersions"))


def update_deal(ctx: Ctx) -> Response:
    body = ctx.json_object()
    _no_associations(body)
    given = property_list(body, "name")
    who = caller(ctx)
    try:
        deal_id = legacy.update_record(ctx.runtime, who, "deals", ctx.path["dealId"], given)
    except HubSpotError as exc:
        raise _missing(exc) from None
    return _deal_response(ctx, who, deal_id, False)


def deals_paged(ctx: Ctx) -> Response:
    who = caller(ctx)
    page = _paged(ctx, who, "deals")
    with_associations = ctx.flag("includeAssociations")
    deals = [
        deal(
            r,
            who.hub_id,
            False,
            legacy.associated_ids(ctx.runtime, who, "deals", r.id) if with_associations else {},
        )
        for r in page.records
    ]
    return JSON({"deals": deals, "hasMore": page.has_more, "offset": page.next_id})


def delete_deal(ctx: Ctx) -> Response:
    try:
        legacy.delete(ctx.runtime, caller(ctx), "deals", ctx.path["dealId"])
    except HubSpotError as exc:
        raise _missing(exc) from None
    return no_content()


def routes() -> list[BaseRoute]:
    # Deals v1 documents no search route. The paged listings come before the routes whose id
    # would take "paged" for one.
    # TODO(legacy): /deals/v1/deal/recent/modified and /companies/v2/companies/recent/modified.
    table = [
        ("/companies/v2/companies", ["POST"], create_company),
        ("/companies/v2/companies/", ["POST"], create_company),
        ("/companies/v2/companies/paged", ["GET"], companies_paged),
        ("/deals/v1/deal/paged", ["GET"], deals_paged),
        ("/companies/v2/companies/{companyId}", ["GET"], get_company),
        ("/companies/v2/companies/{companyId}", ["PUT"], update_company),
        ("/companies/v2/companies/{companyId}", ["DELETE"], delete_company),
        ("/companies/v2/domains/{domain}/companies", ["POST"], companies_by_domain),
        ("/deals/v1/deal", ["POST"], create_deal),
        ("/deals/v1/deal/", ["POST"], create_deal),
        ("/deals/v1/deal/{dealId}", ["GET"], get_deal),
        ("/deals/v1/deal/{dealId}", ["PUT"], update_deal),
        ("/deals/v1/deal/{dealId}", ["DELETE"], delete_deal),
    ]
    return [legacy_route(path, methods, fn) for path, methods, fn in table]
