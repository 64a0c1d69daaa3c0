"""Objects API v3, at /crm/v3/objects and the date-versioned /crm/objects/<date> paths."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from localspot.clock import iso
from localspot.domain import associations, record_batches, record_lifecycle, record_writes, records
from localspot.domain.record_batches import BatchOutcome
from localspot.domain.record_writes import WriteInput
from localspot.domain.records import Projection
from localspot.errors import HubSpotError, validation_error
from localspot.faces.http import JSON, Ctx, no_content, route

PREFIXES = ("/crm/v3/objects", "/crm/objects/{version:apiversion}")
_LEGACY_NAME = {"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET"}


def _names(ctx: Ctx, param: str) -> list[str] | None:
    values = ctx.query.getlist(param)
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _projection(ctx: Ctx) -> Projection:
    return Projection(_names(ctx, "properties"), _names(ctx, "propertiesWithHistory"))


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation_error(f"{name} must be a whole number", context={name: [raw]}) from None


def _associations(body: dict[str, Any]) -> list[associations.NewAssociation]:
    return associations.parse_v3_inputs(body.get("associations"))


def _with_associations(ctx: Ctx, results: list[dict[str, Any]]) -> None:
    """Adds v3 ``associations`` to records read, when the request names object types."""
    wanted = _names(ctx, "associations")
    if not wanted:
        return
    found = associations.v3_associations(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], [r["id"] for r in results], wanted
    )
    for record in results:
        if found.get(record["id"]):
            record["associations"] = found[record["id"]]


def list_records(ctx: Ctx) -> Response:
    page = records.list_records(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        _projection(ctx),
        _int_param(ctx, "limit", 10),
        ctx.query.get("after"),
        ctx.flag("archived"),
    )
    _with_associations(ctx, page.results)
    body: dict[str, Any] = {"results": page.results}
    if page.next_after is not None:
        link = ctx.request.url.include_query_params(after=page.next_after)
        body["paging"] = {"next": {"after": page.next_after, "link": str(link)}}
    return JSON(body)


def get_record(ctx: Ctx) -> Response:
    record = records.get_record(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        ctx.path["objectId"],
        _projection(ctx),
        ctx.flag("archived"),
        ctx.query.get("idProperty"),
    )
    _with_associations(ctx, [record])
    return JSON(record)


def _properties(body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("properties", {})
    if not isinstance(given, dict):
        raise validation_error("Invalid input JSON: properties must be an object")
    return given


def create_record(ctx: Ctx) -> Response:
    body = ctx.json_object()
    created = record_writes.create_record(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], _properties(body), _associations(body)
    )
    return JSON(created, status_code=201)


def update_record(ctx: Ctx) -> Response:
    body = ctx.json_object()
    return JSON(
        record_writes.update_record(
            ctx.runtime,
            ctx.caller(),
            ctx.path["objectType"],
            ctx.path["objectId"],
            _properties(body),
            ctx.query.get("idProperty"),
        )
    )


def archive_record(ctx: Ctx) -> Response:
    record_writes.archive_records(
        ctx.runtime, ctx.caller(), ctx.path["objectType"], [ctx.path["objectId"]]
    )
    return no_content()


# Batches ----------------------------------------------------------------------------------------


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation_error(
            "Invalid input JSON: inputs must be a list of objects",
            errors=[{"message": "inputs is required", "code": "REQUIRED", "in": "inputs"}],
        )
    if len(inputs) > record_batches.MAX_BATCH:
        raise validation_error(f"Batch requests are limited to {record_batches.MAX_BATCH} inputs")
    return inputs


def _input_id(item: dict[str, Any], position: int) -> str:
    """An input's id, which HubSpot's input model requires as a string or a number."""
    record_id = item.get("id")
    # bool is an int to Python, but not a number in JSON.
    if isinstance(record_id, bool) or not isinstance(record_id, str | int | float):
        raise validation_error(
            f"Invalid input JSON: inputs[{position}].id must be a string or a number",
            errors=[
                {
                    "message": "id must be a string or a number",
                    "code": "INVALID_INPUT",
                    "in": f"inputs[{position}].id",
                }
            ],
        )
    return str(record_id)


def _input_ids(body: dict[str, Any]) -> list[str]:
    return [_input_id(item, n) for n, item in enumerate(_inputs(body))]


def _write_inputs(body: dict[str, Any], with_id: bool) -> list[WriteInput]:
    out = []
    for position, item in enumerate(_inputs(body)):
        if with_id and item.get("associations"):
            raise validation_error("Invalid input JSON: associations are only accepted on create")
        trace = item.get("objectWriteTraceId")
        out.append(
            WriteInput(
                properties=_properties(item),
                id=_input_id(item, position) if with_id else None,
                id_property=item.get("idProperty"),
                trace_id=str(trace) if trace is not None else None,
                associations=[] if with_id else _associations(item),
            )
        )
    if with_id:
        _no_repeats(out)
    return out


def _no_repeats(inputs: list[WriteInput]) -> None:
    """HubSpot refuses a batch that names one record twice, rather than apply both inputs."""
    seen: set[tuple[str, str]] = set()
    repeated: list[str] = []
    for item in inputs:
        key = (item.id_property or "hs_object_id", (item.id or "").strip().lower())
        if key in seen:
            repeated.append(item.id or "")
        seen.add(key)
    if not repeated:
        return
    if any(i.id_property not in (None, "hs_object_id") for i in inputs):
        # A unique property's value may be sensitive: name no value.
        raise validation_error("Duplicate IDs found in batch input. IDs must be unique")
    shown = list(dict.fromkeys(repeated))
    raise validation_error(
        f"Duplicate IDs found in batch input: [{', '.join(shown)}]. IDs must be unique",
        context={"ids": shown},
    )


def _batch(
    ctx: Ctx, started: str, outcome: BatchOutcome, status: int, upsert: bool = False
) -> Response:
    results = []
    for written in outcome.results:
        item = dict(written.body)
        if upsert:
            item["new"] = written.new
        results.append(item)
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso(ctx.clock.now()),
    }
    if outcome.errors:
        body["numErrors"] = len(outcome.errors)
        body["errors"] = outcome.errors
        status = 207
    return JSON(body, status_code=status)


def batch_create(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    inputs = _write_inputs(ctx.json_object(), with_id=False)
    outcome = record_batches.batch_create(ctx.runtime, ctx.caller(), ctx.path["objectType"], inputs)
    return _batch(ctx, started, outcome, 201)


def batch_update(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    inputs = _write_inputs(ctx.json_object(), with_id=True)
    outcome = record_batches.batch_update(ctx.runtime, ctx.caller(), ctx.path["objectType"], inputs)
    return _batch(ctx, started, outcome, 200)


def batch_upsert(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    inputs = _write_inputs(ctx.json_object(), with_id=True)
    outcome = record_batches.batch_upsert(ctx.runtime, ctx.caller(), ctx.path["objectType"], inputs)
    return _batch(ctx, started, outcome, 200, upsert=True)


def batch_archive(ctx: Ctx) -> Response:
    keys = _input_ids(ctx.json_object())
    record_writes.archive_records(ctx.runtime, ctx.caller(), ctx.path["objectType"], keys)
    return no_content()


def _string_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation_error(f"Invalid input JSON: {name} must be a list of strings")
    return value


def batch_read(ctx: Ctx) -> Response:
    started = iso(ctx.clock.now())
    body = ctx.json_object()
    keys = _input_ids(body)
    projection = Projection(
        _string_list(body, "properties"), _string_list(body, "propertiesWithHistory")
    )
    found, missing = records.batch_read(
        ctx.runtime,
        ctx.caller(),
        ctx.path["objectType"],
        keys,
        projection,
        ctx.flag("archived"),
        body.get("idProperty"),
    )
    errors = []
    if missing:
        kind = ctx.path["objectType"]
        label = _LEGACY_NAME.get(kind, kind.upper().rstrip("S"))
        errors.append(
            HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                f"Could not get some {label} objects, they may be deleted or not exist. "
                "Check that ids are valid.",
                context={"ids": missing},
            ).as_batch_error()
        )
    return _batch(
        ctx, started, BatchOutcome([record_writes.Written(r) for r in found], errors), 200
    )


def merge(ctx: Ctx) -> Response:
    body = ctx.json_object()
    primary, merged = body.get("primaryObjectId"), body.get("objectIdToMerge")
    if not isinstance(primary, str | int) or not isinstance(merged, str | int):
        raise validation_error(
            "Invalid input JSON: primaryObjectId and objectIdToMerge are required"
        )
    return JSON(
        record_lifecycle.merge(
            ctx.runtime, ctx.caller(), ctx.path["objectType"], str(primary), str(merged)
        )
    )


def gdpr_delete(ctx: Ctx) -> Response:
    if ctx.path["objectType"] not in ("contacts", "0-1"):
        raise validation_error("GDPR delete applies to contacts only")
    body = ctx.json_object()
    object_id = body.get("objectId")
    if not isinstance(object_id, str | int):
        raise validation_error("Invalid input JSON: objectId is required")
    record_lifecycle.gdpr_delete(ctx.runtime, ctx.caller(), str(object_id), body.get("idProperty"))
    return no_content()


def routes() -> list[BaseRoute]:
    table = [
        ("/{objectType}/batch/read", ["POST"], batch_read),
        ("/{objectType}/batch/create", ["POST"], batch_create),
        ("/{objectType}/batch/update", ["POST"], batch_update),
        ("/{objectType}/batch/upsert", ["POST"], batch_upsert),
        ("/{objectType}/batch/archive", ["POST"], batch_archive),
        ("/{objectType}/merge", ["POST"], merge),
        ("/{objectType}/gdpr-delete", ["POST"], gdpr_delete),
        ("/{objectType}", ["GET"], list_records),
        ("/{objectType}", ["POST"], create_record),
        ("/{objectType}/{objectId}", ["GET"], get_record),
        ("/{objectType}/{objectId}", ["PATCH"], update_record),
        ("/{objectType}/{objectId}", ["DELETE"], archive_record),
    ]
    return [
        route(prefix + path, methods, fn, reads_only=fn is batch_read)
        for prefix in PREFIXES
        for path, methods, fn in table
    ]
