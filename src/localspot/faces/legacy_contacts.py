"""Contacts API v1: profiles by vid and email, batches, writes, listings and search/query.

Sensitive values never appear here and never change: the policy hides and drops them for a
caller of the legacy generation (SPEC §10, Part B8, B9).
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
    contact_exists,
    count_param,
    int_param,
    legacy_route,
    names_param,
    property_list,
)

# Always returned when ``property`` narrows a profile, as HubSpot documents.
ALWAYS = ("lastmodifieddate",)
MODES = ("value_only", "value_and_history")


def _version(name: str, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": version.value,
        "source-type": version.source_type,
        "source-id": version.source_id,
        "source-label": version.source_label,
        "timestamp": version.timestamp_ms,
        "selected": False,
    }
    if version.user_id is not None:
        out["updated-by-user-id"] = version.user_id
    return out


def profile(
    record: LegacyRecord,
    hub_id: int,
    shown: list[str] | None,
    with_history: bool,
    listed: bool = False,
) -> dict[str, Any]:
    """A contact in the v1 shape; ``shown`` narrows the properties (None: all with a value)."""
    props: dict[str, Any] = {}
    for name, value in record.values.items():
        if shown is not None and name not in shown:
            continue
        entry: dict[str, Any] = {"value": value}
        if with_history:
            entry["versions"] = [_version(name, v) for v in record.versions.get(name, [])]
        props[name] = entry
    # TODO(legacy): form submissions and list memberships are always empty, and identity
    # profiles carry only the primary email: LocalSpot keeps no lists, no form-submission
    # history on contacts and no secondary identities yet.
    out: dict[str, Any] = {
        "vid": record.id,
        "canonical-vid": record.id,
        "merged-vids": record.merged_ids,
        "portal-id": hub_id,
        "is-contact": True,
        "properties": props,
        "form-submissions": [],
        "list-memberships": [],
        "identity-profiles": [_identity(record)],
        "merge-audits": [],
    }
    if listed:
        out["addedAt"] = int(record.row.created_ms)
    return out


def _identity(record: LegacyRecord) -> dict[str, Any]:
    identities: list[dict[str, Any]] = []
    email = record.values.get("email")
    if email:
        identities.append(
            {
                "type": "EMAIL",
                "value": email,
                "timestamp": record.last_change_ms("email"),
                "is-primary": True,
            }
        )
    return {
        "vid": record.id,
        "saved-at-timestamp": int(record.row.updated_ms),
        "deleted-changed-timestamp": 0,
        "identities": identities,
    }


def _reading(ctx: Ctx, default_mode: str) -> tuple[list[str] | None, list[str] | None, bool]:
    """(names to load, names to show, with history) from ``property`` and ``propertyMode``."""
    mode = ctx.choice("propertyMode", MODES, default_mode)
    asked = names_param(ctx)
    if asked is None:
        return None, None, mode == "value_and_history"
    shown = list(dict.fromkeys([*asked, *ALWAYS]))
    return [*shown, "email"], shown, mode == "value_and_history"


def get_by_vid(ctx: Ctx) -> Response:
    load, shown, history = _reading(ctx, "value_and_history")
    who = caller(ctx)
    try:
        record = legacy.get_record(ctx.runtime, who, "contacts", ctx.path["vid"], load, history)
    except HubSpotError as exc:
        raise _contact_missing(exc) from None
    return JSON(profile(record, who.hub_id, shown, history))


def get_by_email(ctx: Ctx) -> Response:
    load, shown, history = _reading(ctx, "value_and_history")
    who = caller(ctx)
    try:
        record = legacy.get_contact_by_email(ctx.runtime, who, ctx.path["email"], load, history)
    except HubSpotError as exc:
        raise _contact_missing(exc) from None
    return JSON(profile(record, who.hub_id, shown, history))


def _contact_missing(exc: HubSpotError) -> HubSpotError:
    return not_found("contact does not exist") if exc.status == 404 else exc


def _batch(ctx: Ctx, param: str, id_property: str | None) -> Response:
    keys = ctx.query.getlist(param)
    if not keys:
        raise validation_error(f"At least one {param} is required", context={param: []})
    if len(keys) > legacy.MAX_COUNT:
        raise validation_error(f"At most {legacy.MAX_COUNT} {param} values per request")
    load, shown, history = _reading(ctx, "value_only")
    who = caller(ctx)
    found = legacy.batch_read(ctx.runtime, who, "contacts", keys, id_property, load, history)
    return JSON({str(r.id): profile(r, who.hub_id, shown, history) for r in found})


def batch_by_vid(ctx: Ctx) -> Response:
    return _batch(ctx, "vid", None)


def batch_by_email(ctx: Ctx) -> Response:
    return _batch(ctx, "email", "email")


def create(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "property")
    who = caller(ctx)
    try:
        vid = legacy.create(ctx.runtime, who, "contacts", given)
    except HubSpotError as exc:
        if exc.status == 409:
            return contact_exists(ctx, exc, str(given.get("email", "")))
        raise
    record = legacy.get_record(ctx.runtime, who, "contacts", str(vid))
    return JSON(profile(record, who.hub_id, None, True))


def update_by_vid(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "property")
    try:
        legacy.update_record(ctx.runtime, caller(ctx), "contacts", ctx.path["vid"], given)
    except HubSpotError as exc:
        raise _contact_missing(exc) from None
    return no_content()


def update_by_email(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "property")
    try:
        legacy.update_record(
            ctx.runtime, caller(ctx), "contacts", ctx.path["email"], given, "email"
        )
    except HubSpotError as exc:
        raise _contact_missing(exc) from None
    return no_content()


def create_or_update(ctx: Ctx) -> Response:
    given = property_list(ctx.json_object(), "property")
    vid, is_new = legacy.create_or_update_contact(
        ctx.runtime, caller(ctx), ctx.path["email"], given
    )
    return JSON({"vid": vid, "isNew": is_new})


def delete(ctx: Ctx) -> Response:
    try:
        vid = legacy.delete(ctx.runtime, caller(ctx), "contacts", ctx.path["vid"])
    except HubSpotError as exc:
        raise _contact_missing(exc) from None
    return JSON({"vid": vid, "deleted": True, "reason": "OK"})


def _listing(ctx: Ctx, page: legacy.LegacyPage, hub_id: int) -> dict[str, Any]:
    shown = names_param(ctx)
    return {
        "contacts": [profile(r, hub_id, shown, False, listed=True) for r in page.records],
        "has-more": page.has_more,
        "vid-offset": page.next_id,
    }


def _listed_names(ctx: Ctx) -> list[str] | None:
    """The properties a listing loads: those asked for, and the email that every contact's
    identity profile shows whether asked for or not."""
    asked = names_param(ctx)
    return None if asked is None else [*asked, "email"]


def all_contacts(ctx: Ctx) -> Response:
    who = caller(ctx)
    page = legacy.list_all(
        ctx.runtime,
        who,
        "contacts",
        int_param(ctx, "vidOffset", 0) or 0,
        count_param(ctx),
        _listed_names(ctx),
    )
    return JSON(_listing(ctx, page, who.hub_id))


def recent_contacts(ctx: Ctx) -> Response:
    who = caller(ctx)
    page = legacy.list_recent(
        ctx.runtime,
        who,
        "contacts",
        int_param(ctx, "timeOffset", None),
        int_param(ctx, "vidOffset", None),
        count_param(ctx),
        _listed_names(ctx),
    )
    return JSON({**_listing(ctx, page, who.hub_id), "time-offset": page.next_time_ms})


def search(ctx: Ctx) -> Response:
    q = ctx.query.get("q")
    if q is None:
        raise validation_error("q is required", context={"q": []})
    who = caller(ctx)
    offset = int_param(ctx, "offset", 0) or 0
    found = legacy_search.search_contacts(
        ctx.runtime, who, q, offset, count_param(ctx), names_param(ctx)
    )
    shown = names_param(ctx)
    return JSON(
        {
            "query": q,
            "offset": offset + len(found.records),
            "has-more": found.has_more,
            "total": found.total,
            "contacts": [profile(r, who.hub_id, shown, False) for r in found.records],
        }
    )


def routes() -> list[BaseRoute]:
    base = "/contacts/v1"
    table = [
        ("/contact/vid/{vid}/profile", ["GET"], get_by_vid),
        ("/contact/vid/{vid}/profile", ["POST"], update_by_vid),
        ("/contact/email/{email}/profile", ["GET"], get_by_email),
        ("/contact/email/{email}/profile", ["POST"], update_by_email),
        ("/contact/vids/batch", ["GET"], batch_by_vid),
        ("/contact/vids/batch/", ["GET"], batch_by_vid),
        ("/contact/emails/batch", ["GET"], batch_by_email),
        ("/contact/emails/batch/", ["GET"], batch_by_email),
        ("/contact", ["POST"], create),
        ("/contact/", ["POST"], create),
        ("/contact/createOrUpdate/email/{email}", ["POST"], create_or_update),
        ("/contact/createOrUpdate/email/{email}/", ["POST"], create_or_update),
        ("/contact/vid/{vid}", ["DELETE"], delete),
        ("/lists/all/contacts/all", ["GET"], all_contacts),
        ("/lists/recently_updated/contacts/recent", ["GET"], recent_contacts),
        ("/search/query", ["GET"], search),
    ]
    return [legacy_route(base + path, methods, fn) for path, methods, fn in table]
