"""What every face shares: the request context, body parsing, auth and JSON responses."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localspot.domain import accounts, audit
from localspot.errors import (
    HubSpotError,
    invalid_authentication,
    not_implemented,
    validation_error,
)
from localspot.policy import Caller, SensitiveAccessDenied
from localspot.runtime import Runtime
from localspot.store.engine import WouldWait
from localspot.validation import parse_input

log = logging.getLogger("localspot.http")

CORRELATION_HEADER = "X-HubSpot-Correlation-Id"
M = TypeVar("M", bound=BaseModel)


class JSON(Response):
    media_type = "application/json;charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def no_content() -> Response:
    return Response(status_code=204)


class EncodedOnce:
    """The JSON of values the domain hands out again and again, encoded once: a remembered
    property listing is the very same list until its definitions change, and encoding 500
    definitions was a third of the CPU of listing them. An entry holds its value, so that the
    value's id names nothing else while it is kept."""

    def __init__(self, most_bytes: int) -> None:
        self._most = most_bytes
        self._held: OrderedDict[int, tuple[Any, orjson.Fragment, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, value: Any) -> orjson.Fragment:
        key = id(value)
        with self._lock:
            held = self._held.get(key)
            if held is not None and held[0] is value:
                self._held.move_to_end(key)
                return held[1]
        encoded = orjson.dumps(value)
        fragment = orjson.Fragment(encoded)
        with self._lock:
            old = self._held.pop(key, None)
            self._bytes -= old[2] if old else 0
            self._held[key] = (value, fragment, len(encoded))
            self._bytes += len(encoded)
            while self._bytes > self._most and len(self._held) > 1:
                _, (_, _, size) = self._held.popitem(last=False)
                self._bytes -= size
        return fragment


class Ctx:
    """One request as a face sees it, with the server's runtime at hand."""

    def __init__(self, request: Request, body: bytes) -> None:
        self.request = request
        self.body = body
        self.runtime: Runtime = request.app.state.runtime
        self.path = request.path_params
        self.query = request.query_params
        self._caller: Caller | None = None

    @property
    def correlation_id(self) -> str:
        return str(self.request.scope["state"]["correlation_id"])

    @property
    def store(self) -> Any:
        return self.runtime.store

    @property
    def clock(self) -> Any:
        return self.runtime.clock

    def caller(self) -> Caller:
        """The authenticated caller; 401 when the bearer token is missing or unknown."""
        if self._caller is None:
            header = self.request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise invalid_authentication()
            caller = accounts.caller_for_token(self.store, token.strip(), self.clock)
            if caller is None:
                raise invalid_authentication()
            self._caller = caller.for_request(self.correlation_id)
        return self._caller

    def json(self) -> Any:
        """The body as JSON, or HubSpot's 400 (415 for another content type)."""
        content_type = self.request.headers.get("content-type", "application/json")
        if "json" not in content_type.split(";")[0].lower():
            raise HubSpotError(
                415,
                "VALIDATION_ERROR",
                f"Content type '{content_type}' is not supported. Send application/json.",
            )
        if not self.body.strip():
            raise validation_error("Invalid input JSON: the request body is empty")
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise validation_error(f"Invalid input JSON on {_position(exc)}: {exc.msg}") from None
        if b"\\u0000" in self.body and _holds_nul(data):
            raise validation_error(f"Invalid input JSON: {NUL_REFUSED}")
        return data

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise validation_error("Invalid input JSON: expected a JSON object")
        return data

    def model(self, model: type[M], data: Any = None) -> M:
        return parse_input(model, self.json_object() if data is None else data)

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise validation_error(f"{name} must be true or false", context={name: [raw]})

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        if raw not in allowed:
            raise validation_error(
                f"{name} must be one of: {', '.join(allowed)}", context={name: [raw]}
            )
        return raw


def _position(exc: orjson.JSONDecodeError) -> str:
    return f"line {exc.lineno}, column {exc.colno}"


# PostgreSQL text cannot hold U+0000, so it is refused at the door on both stores alike.
NUL_REFUSED = "text may not contain the NUL character (\\u0000)"


def _holds_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(item) for item in data)
    return False


def _check_no_nul(scope: Scope) -> None:
    """Path parameters and the query string, where a NUL would reach a SQL parameter. Path
    parameters come from the decoded path, and a query string decodes to a NUL only from
    ``%00``, so the raw forms tell without parsing either."""
    query = scope["query_string"]
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        raise validation_error(f"Invalid input: {NUL_REFUSED}")


Handler = Callable[[Ctx], Response]
# As many as anyio's default thread limiter allowed. On SQLite most reads never get here (see
# ``_on_loop``); writes, long reads and PostgreSQL's waits on the network do.
_WORKERS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="localspot-worker")


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 past the configured size before it is all in memory."""
    limit = request.app.state.runtime.settings.max_body_bytes
    headers = request.headers
    declared = headers.get("content-length", "")
    if not declared and "transfer-encoding" not in headers:
        return b""  # HTTP/1.1: a request with neither header has no body (RFC 9112 6.3)
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HubSpotError:
    return HubSpotError(413, "VALIDATION_ERROR", f"The request body is larger than {limit} bytes.")


def route(path: str, methods: list[str], handler: Handler, reads_only: bool = False) -> Route:
    """A route onto a synchronous face function, run on a worker thread with the body read.

    GET routes, and POST routes that only read (``reads_only``: search, batch reads), are
    tried on the event loop first; ``_on_loop`` says how far.
    """
    return Route(path, _Face(path, handler, reads_only), methods=methods, name=handler.__name__)


class _Face:
    """A face function as a plain ASGI app. Starlette wraps a request *function* in an
    exception-handling layer of its own on every call; ``RequestMiddleware`` renders every
    failure already, so the route is handed an app instead."""

    def __init__(self, path: str, handler: Handler, reads_only: bool) -> None:
        self.path = path
        self.handler = handler
        self.reads_only = reads_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    def handle(self, ctx: Ctx) -> Response:
        with ctx.runtime.store.shared_reads():
            return self.handler(ctx)

    async def respond(self, request: Request) -> Response:
        request.scope["state"]["route"] = self.path
        _check_no_nul(request.scope)
        body = await _read_body(request)
        ctx = Ctx(request, body)
        loop = asyncio.get_running_loop()
        try:
            if request.method == "GET" or (self.reads_only and len(body) <= _ON_LOOP_BODY_BYTES):
                with contextlib.suppress(WouldWait), _on_loop(ctx.runtime):
                    return self.handle(ctx)
            # The loop's executor directly: anyio's to_thread costs more per call than the read.
            return await loop.run_in_executor(
                _WORKERS, contextvars.copy_context().run, self.handle, ctx
            )
        except SensitiveAccessDenied as denied:
            # The one place denials reach the audit trail, after the request rolled back.
            await loop.run_in_executor(_WORKERS, audit.record_denial, ctx.runtime, denied)
            raise


# Parsing a body is work the allowance does not see: only small ones are parsed on the loop.
_ON_LOOP_BODY_BYTES = 64 * 1024


def _on_loop(rt: Runtime) -> contextlib.AbstractContextManager[None]:
    """How a read is tried on the event loop, where the hop to a worker thread and back costs
    more than most reads' own work. On SQLite it may read, for a few milliseconds; on a
    store with a network between (PostgreSQL) only what the store remembers. Either way a
    write, or a read that proves long, raises ``WouldWait`` and the request goes to a thread,
    which is why such a handler must be safe to run twice."""
    # Most reads take well under a millisecond; a list page of 100 records about 3.
    budget = rt.settings.on_loop_ms / 1000
    if rt.store.reads_briefly and budget > 0:
        return rt.store.briefly(budget)
    return rt.store.without_waiting()


# Errors and request logging ---------------------------------------------------------------------


def error_response(error: HubSpotError, correlation_id: str) -> Response:
    return JSON(error.body(correlation_id), status_code=error.status, headers=error.headers)


def _routing_error(scope: Scope, exc: HTTPException) -> HubSpotError:
    """The router's 404 and 405, in HubSpot's words."""
    request = Request(scope)
    if exc.status_code == 404:
        return not_implemented(request.method, request.url.path)
    if exc.status_code == 405:
        return HubSpotError(
            405,
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not supported on {request.url.path}.",
        )
    return HubSpotError(exc.status_code, "ERROR", str(exc.detail))


class RequestMiddleware:
    """Correlation ids, HubSpot error bodies for every failure, and one log line per request.

    The app's only layer around the router (see ``app``): Starlette's own error and exception
    middleware would each wrap every request's ``send`` to do what this one does already.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_header(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        except HubSpotError as exc:
            await error_response(exc, correlation_id)(scope, receive, send_with_header)
        except HTTPException as exc:
            error = _routing_error(scope, exc)
            await error_response(error, correlation_id)(scope, receive, send_with_header)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            # Only the type is logged: the text of an exception may quote a value.
            log.error(
                "unhandled error",
                extra={"fields": {"error": type(exc).__name__, "correlationId": correlation_id}},
            )
            if not response_started:
                await error_response(
                    HubSpotError(500, "INTERNAL_ERROR", "An internal error occurred."),
                    correlation_id,
                )(scope, receive, send_with_header)
        finally:
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["state"].get("route", "(unmatched)"),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "correlationId": correlation_id,
                    }
                },
            )
