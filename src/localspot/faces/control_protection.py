"""Control plane for protection (SPEC Part C): the audit trail and the keyring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson
from pydantic import StrictBool
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from localspot.domain import audit, keys
from localspot.errors import HubSpotError, validation_error
from localspot.faces.control import PREFIX, _admin, _Body
from localspot.faces.http import JSON, Ctx, route
from localspot.protection import KeyringError

MAX_LIMIT = 1000


class Rotate(_Body):
    retire: StrictBool = False


def _int_param(ctx: Ctx, name: str) -> int | None:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        raise validation_error(f"{name} must be a number", context={name: [raw]})
    return int(raw)


def _time_param(ctx: Ctx, name: str) -> int | None:
    """Epoch milliseconds, or an ISO 8601 timestamp with its zone."""
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise validation_error(
            f"{name} must be epoch milliseconds or an ISO 8601 time with a zone",
            context={name: [raw]},
        )
    return int(moment.timestamp() * 1000)


def _filters(ctx: Ctx) -> audit.Filters:
    filters = audit.Filters(
        hub_id=_int_param(ctx, "hubId"),
        action=ctx.query.get("action") or None,
        since_ms=_time_param(ctx, "since"),
        until_ms=_time_param(ctx, "until"),
        property_name=ctx.query.get("property") or None,
        object_type_id=ctx.query.get("objectTypeId") or None,
        app_id=_int_param(ctx, "appId"),
        app_kind=ctx.query.get("appKind") or None,
        user_id=_int_param(ctx, "userId"),
    )
    filters.check()
    return filters


def list_audit(ctx: Ctx) -> Response:
    _admin(ctx)
    filters = _filters(ctx)
    if ctx.choice("format", ("json", "jsonl"), "json") == "jsonl":
        return StreamingResponse(_lines(audit.export(ctx.runtime, filters)), media_type=JSONL)
    limit = _int_param(ctx, "limit")
    limit = 100 if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}")
    after = _int_param(ctx, "after") or 0
    rows = audit.query(ctx.runtime, filters, after, limit)
    body: dict[str, object] = {"results": rows}
    if len(rows) == limit:
        body["paging"] = {"next": {"after": str(rows[-1]["seq"])}}
    return JSON(body)


JSONL = "application/x-ndjson"


def _lines(rows: Iterator[dict[str, object]]) -> Iterator[bytes]:
    for row in rows:
        yield orjson.dumps(row) + b"\n"


def verify_audit(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON(audit.verify(ctx.runtime).render())


def key_status(ctx: Ctx) -> Response:
    _admin(ctx)
    return JSON(keys.status(ctx.runtime))


def _from_environment() -> HubSpotError:
    return HubSpotError(
        409,
        "CONFLICT",
        "This server's keyring comes from LOCALSPOT_KEYRING, which it cannot rewrite. Run "
        "`localspot keys rotate` where that variable is managed: it prints the new keyring to "
        "deploy, and servers started with it re-encrypt in the background.",
    )


def rotate_keys(ctx: Ctx) -> Response:
    _admin(ctx)
    body = ctx.model(Rotate, ctx.json_object() if ctx.body.strip() else {})
    if ctx.runtime.keyring_source.from_environment:
        raise _from_environment()
    keys.rotate(ctx.runtime, retire=body.retire)
    return JSON(keys.status(ctx.runtime), status_code=202)


def retire_keys(ctx: Ctx) -> Response:
    _admin(ctx)
    if ctx.runtime.keyring_source.from_environment:
        raise _from_environment()
    try:
        retired, _ = keys.retire(ctx.runtime)
    except KeyringError as exc:
        raise HubSpotError(409, "CONFLICT", str(exc)) from None
    return JSON({"retired": retired, **keys.status(ctx.runtime)})


def routes() -> list[BaseRoute]:
    table = [
        ("/audit", ["GET"], list_audit),
        ("/audit/verify", ["GET"], verify_audit),
        ("/keys", ["GET"], key_status),
        ("/keys/rotate", ["POST"], rotate_keys),
        ("/keys/retire", ["POST"], retire_keys),
    ]
    return [route(PREFIX + path, methods, fn) for path, methods, fn in table]
