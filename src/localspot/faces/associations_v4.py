"""Associations API v4, at /crm/v4/... and the date-versioned /crm/<family>/<date>/... paths."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import association_batches, associations
from localspot.domain import association_definitions as definitions
from localspot.domain.association_batches import BatchOutcome
from localspot.errors import validation_error
from localspot.faces.http import JSON, Ctx, no_content, route

RECORD_PREFIXES = ("/crm/v4/objects", "/crm/objects/{version:apiversion}")
PAIR_PREFIXES = ("/crm/v4/associations", "/crm/associations/{version:apiversion}")


def _limit(ctx: Ctx) -> int:
    raw = ctx.query.get("limit")
    if raw is None or raw == "":
        return associations.MAX_PAGE
    try:
        return int(raw)
    except ValueError:
        raise validation_error("limit must be a whole number", context={"limit": [raw]}) from None


# Record ids in these bodies: numbers in v4's spec, strings in the date-versioned one's.
_RECORD_ID_KEYS = frozenset({"fromObjectId", "toObjectId"})


def _ids_as_versioned(ctx: Ctx, value: Any) -> Any:
    """``value`` with its record ids as strings on a date-versioned path; as it is on v4."""
    if "version" not in ctx.path:
        return value
    return _stringified(value)


def _stringified(value: Any) -> Any:
    if isinstance(value, list):
        return [_stringified(v) for v in value]
    if isinstance(value, dict):
        return {
            k: str(v) if k in _RECORD_ID_KEYS and isinstance(v, int) else _stringified(v)
            for k, v in value.items()
        }
    return value


def _batch(ctx: Ctx, started: str, outcome: BatchOutcome, status: int) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": _ids_as_versioned(ctx, outcome.results),
        "startedAt": started,
        "completedAt": iso(ctx.clock.now()),
    }
    if outcome.errors:
        body["numErrors"] = len(outcome.errors)
        body["errors"] = outcome.errors
        status = 207
    return JSON(body, status_code=status)


# One record -------------------------------------------------------------------------------------


def create_default(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    p = ctx.path
    results = associations.create_default(
        ctx.runtime,
        ctx.caller(),
        p["fromObjectType"],
        p["fromObjectId"],
        p["toObjectType"],
        p["toObjectId"],
    )
    return _batch(ctx, started, BatchOutcome(results, []), 200)


def create_labelled(ctx: Ctx) -> Response:
    p = ctx.path
    caller = ctx.caller()
    body = associations.create_labelled(
        ctx.runtime,
        caller,
        p["objectType"],
        p["objectId"],
        p["toObjectType"],
        p["toObjectId"],
        ctx.json(),
    )
    return JSON(_ids_as_versioned(ctx, body), status_code=201)


def remove(ctx: Ctx) -> Response:
    p = ctx.path
    associations.remove(
        ctx.runtime,
        ctx.caller(),
        p["objectType"],
        p["objectId"],
        p["toObjectType"],
        p["toObjectId"],
    )
    return no_content()


def list_page(ctx: Ctx) -> Response:
    p = ctx.path
    results, next_after = associations.list_associations(
        ctx.runtime,
        ctx.caller(),
        p["objectType"],
        p["objectId"],
        p["toObjectType"],
        _limit(ctx),
        ctx.query.get("after"),
    )
    body: dict[str, Any] = {"results": _ids_as_versioned(ctx, results)}
    if next_after is not None:
        link = ctx.request.url.include_query_params(after=next_after)
        body["paging"] = {"next": {"after": next_after, "link": str(link)}}
    return JSON(body)


# Pairs of object types: batches -------------------------------------------------------------------


def _pair(ctx: Ctx) -> tuple[str, str]:
    return ctx.path["fromObjectType"], ctx.path["toObjectType"]


def batch_create(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    outcome = association_batches.batch_create(
        ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object()
    )
    return _batch(ctx, started, outcome, 201)


def batch_create_default(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    outcome = association_batches.batch_create_default(
        ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object()
    )
    return _batch(ctx, started, outcome, 200)


def batch_read(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    outcome = association_batches.batch_read(
        ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object()
    )
    return _batch(ctx, started, outcome, 200)


def batch_archive(ctx: Ctx) -> Response:
    association_batches.batch_archive(ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object())
    return no_content()


def batch_archive_labels(ctx: Ctx) -> Response:
    association_batches.batch_archive_labels(
        ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object()
    )
    return no_content()


# Pairs of object types: labels ------------------------------------------------------------------


def list_labels(ctx: Ctx) -> Response:
    return JSON({"results": definitions.list_labels(ctx.runtime, ctx.caller(), *_pair(ctx))})


def create_label(ctx: Ctx) -> Response:
    results = definitions.create_label(ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object())
    return JSON({"results": results}, status_code=200)


def update_label(ctx: Ctx) -> Response:
    definitions.update_label(ctx.runtime, ctx.caller(), *_pair(ctx), ctx.json_object())
    return no_content()


def delete_label(ctx: Ctx) -> Response:
    definitions.delete_label(ctx.runtime, ctx.caller(), *_pair(ctx), ctx.path["associationTypeId"])
    return no_content()


def routes() -> list[BaseRoute]:
    record = [
        (
            "/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
            ["PUT"],
            create_default,
        ),
        (
            "/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
            ["PUT"],
            create_labelled,
        ),
        ("/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}", ["DELETE"], remove),
        ("/{objectType}/{objectId}/associations/{toObjectType}", ["GET"], list_page),
    ]
    pair = [
        ("/{fromObjectType}/{toObjectType}/batch/create", ["POST"], batch_create),
        (
            "/{fromObjectType}/{toObjectType}/batch/associate/default",
            ["POST"],
            batch_create_default,
        ),
        ("/{fromObjectType}/{toObjectType}/batch/read", ["POST"], batch_read),
        ("/{fromObjectType}/{toObjectType}/batch/archive", ["POST"], batch_archive),
        ("/{fromObjectType}/{toObjectType}/batch/labels/archive", ["POST"], batch_archive_labels),
        ("/{fromObjectType}/{toObjectType}/labels", ["GET"], list_labels),
        ("/{fromObjectType}/{toObjectType}/labels", ["POST"], create_label),
        ("/{fromObjectType}/{toObjectType}/labels", ["PUT"], update_label),
        ("/{fromObjectType}/{toObjectType}/labels/{associationTypeId}", ["DELETE"], delete_label),
    ]
    out = [route(pre + path, m, fn) for pre in RECORD_PREFIXES for path, m, fn in record]
    out += [route(pre + path, m, fn) for pre in PAIR_PREFIXES for path, m, fn in pair]
    return out
