"""What ``localspot serve`` adds to uvicorn: a response's writes go out as one, and requests
its parser refuses get HubSpot's error body."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest

from localspot.serving import CoalescingTransport
from localspot.testing import LocalSpotServer


class _Recorded:
    """A transport that keeps what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 8080) if name == "sockname" else None


def test_writes_of_one_turn_go_out_as_one_write_in_order() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        real = _Recorded()
        coalescing = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        coalescing.write(b"HTTP/1.1 200 OK\r\n\r\n")
        coalescing.write(b'{"a": 1}')
        assert real.calls == []  # nothing yet: the turn is not over
        await asyncio.sleep(0)
        coalescing.write(b"next")
        await asyncio.sleep(0)
        return real.calls

    assert asyncio.run(scenario()) == [
        ("write", b'HTTP/1.1 200 OK\r\n\r\n{"a": 1}'),
        ("write", b"next"),
    ]


def test_close_sends_what_is_pending_first_and_nothing_after() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        real = _Recorded()
        coalescing = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        coalescing.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        coalescing.close()
        coalescing.write(b"too late")
        await asyncio.sleep(0)
        return real.calls

    assert asyncio.run(scenario()) == [
        ("write", b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        ("close", None),
    ]


def test_everything_else_is_the_transports_own() -> None:
    loop = asyncio.new_event_loop()
    try:
        coalescing = CoalescingTransport(_Recorded(), loop)  # type: ignore[arg-type]
        assert coalescing.get_extra_info("sockname") == ("127.0.0.1", 8080)
        assert coalescing.is_closing() is False
    finally:
        loop.close()


def test_serve_falls_back_to_uvicorns_own_protocol_if_its_internals_move(
    monkeypatch: Any,
) -> None:
    import builtins

    from localspot.serving import http_protocol

    assert http_protocol().__name__ == "CoalescingHttpToolsProtocol"  # type: ignore[union-attr]
    real_import = builtins.__import__

    def moved(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvicorn.protocols.http.httptools_impl":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", moved)
    assert http_protocol() == "httptools"


def _raw(server: LocalSpotServer, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """(status line, headers, body) of what the server answers to raw ``request`` bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = dict(line.decode().lower().split(": ", 1) for line in lines)
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /crm/v3/objects/contacts?properties=" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
)
def test_a_request_the_parser_refuses_gets_hubspots_error_body(
    server: LocalSpotServer, request_bytes: bytes, status: int
) -> None:
    line, headers, body = _raw(server, request_bytes)
    assert line.startswith(f"HTTP/1.1 {status} ".encode())
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert error["status"] == "error"
    assert error["category"] == "VALIDATION_ERROR"
    assert error["correlationId"] == headers["x-hubspot-correlation-id"]


def test_a_head_past_a_mebibyte_is_refused_at_once(server: LocalSpotServer) -> None:
    """httptools bounds no header: a 200 MB one held the event loop for a minute."""
    header = b"X-Big: " + b"a" * (3 << 20) + b"\r\n"
    started = time.monotonic()
    line, headers, body = _raw(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n")
    assert line.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body)["correlationId"] == headers["x-hubspot-correlation-id"]
    assert time.monotonic() - started < 5


def test_a_long_url_followed_by_a_bad_header_is_a_plain_400(server: LocalSpotServer) -> None:
    request = (
        b"GET /crm/v3/objects/contacts?x=" + b"a" * 40_000 + b" HTTP/1.1\r\nBad Header: x\r\n\r\n"
    )
    line, _, body = _raw(server, request)
    assert line.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["message"] == "Invalid HTTP request received."


def test_a_head_that_never_completes_gets_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSPOT_HEAD_TIMEOUT_SECONDS", "1")
    with LocalSpotServer() as server:
        for partial in (b"", b"GET / HTTP/1.1\r\nHost: x\r\n"):
            started = time.monotonic()
            line, headers, body = _raw(server, partial)
            assert line.startswith(b"HTTP/1.1 408 "), line
            assert json.loads(body)["correlationId"] == headers["x-hubspot-correlation-id"]
            assert time.monotonic() - started < 5
        # A kept-alive connection's next request gets the same bound.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer.count(b"HTTP/1.1 404 ") == 1 and b"HTTP/1.1 408 " in answer
