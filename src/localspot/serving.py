"""How ``localspot serve`` speaks HTTP: uvicorn's httptools protocol, writing each response in
one piece, bounding each request's head in size and time, and answering a request it cannot
parse or refuses with HubSpot's error body."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson

from localspot.errors import HubSpotError

log = logging.getLogger(__name__)


class CoalescingTransport:
    """A transport whose writes made in one turn of the event loop go out as one.

    uvicorn writes a response's head and its body separately: two system calls, and on a
    connection over loopback each of them also runs the receiving side of TCP. Most of our
    responses are one small body, so writing the two together saved about a fifth of the CPU
    of a request answered from memory. Everything but writing and closing goes to the
    transport itself.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self._flush()  # before the transport closes, as its own buffer would be
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# httptools stops reading a URL at 64 KiB; a URL at least this long when parsing failed is why.
_URL_GIVEN_UP = 65_000
# httptools sets no bound on a request's head: a 200 MB header held the event loop for a
# minute, and a client that never finished its head held its connection for ever.
MAX_HEAD_BYTES = 1 << 20


def unparsed_request(too_long: bool) -> HubSpotError:
    if too_long:
        return HubSpotError(414, "VALIDATION_ERROR", "The request URI is too long.")
    return HubSpotError(400, "VALIDATION_ERROR", "Invalid HTTP request received.")


def http_protocol(head_timeout_seconds: float = 30.0) -> type | str:
    """What ``uvicorn.run(http=...)`` gets: uvicorn's httptools protocol over a
    ``CoalescingTransport``, or plain ``"httptools"`` should a uvicorn release move the class
    this builds on (it is not part of uvicorn's public API): slower, never broken."""
    try:
        from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
    except ImportError:
        log.warning("uvicorn's httptools protocol moved; serving without write coalescing")
        return "httptools"

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's transports are not asyncio.Transport subclasses, though they behave so.
            wrapped = CoalescingTransport(transport, self.loop)  # type: ignore[arg-type]
            super().connection_made(wrapped)  # type: ignore[arg-type]
            # Until a request's head is complete: its bytes so far, and when it must end.
            self._head_bytes: int | None = 0
            self._head_timer: asyncio.TimerHandle | None = None
            # A head refused as too large: what the client still sends is dropped.
            self._dropping = False
            self._head_begins()

        def _head_begins(self) -> None:
            self._head_bytes = 0
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(head_timeout_seconds, self._head_too_slow)

        def _head_ends(self) -> None:
            self._head_bytes = None
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def data_received(self, data: bytes) -> None:
            if self._dropping:
                return
            if self._head_bytes is not None:
                self._head_bytes += len(data)
            if self._head_bytes is None or self._head_bytes <= MAX_HEAD_BYTES:
                super().data_received(data)
                return
            self._head_ends()
            self._dropping = True
            too_large = "The request's header fields are too large."
            # Closing with the client's bytes unread would reset the connection before it
            # reads the answer: drop what it still sends for a moment, then close.
            self._refuse(HubSpotError(431, "VALIDATION_ERROR", too_large), linger=True)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_bytes is None:  # the next request of a kept-alive connection
                self._head_begins()

        def on_headers_complete(self) -> None:
            self._head_ends()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_ends()
            super().connection_lost(exc)

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self._head_bytes is not None and not self.transport.is_closing():
                late = "The request's headers did not arrive in time."
                self._refuse(HubSpotError(408, "VALIDATION_ERROR", late))

        def send_400_response(self, msg: str) -> None:
            # uvicorn answers bytes httptools cannot parse in plain text, before any app sees
            # them; a client of HubSpot's API expects its error body.
            self._head_ends()
            self._refuse(unparsed_request(len(getattr(self, "url", b"")) >= _URL_GIVEN_UP))

        def _refuse(self, error: HubSpotError, linger: bool = False) -> None:
            """Answers ``error`` in HubSpot's body and closes the connection (a second later
            with ``linger``)."""
            correlation_id = str(uuid.uuid4())
            body = orjson.dumps(error.body(correlation_id))
            head = [STATUS_LINE[error.status]]
            for name, value in self.server_state.default_headers:
                head.extend([name, b": ", value, b"\r\n"])
            head += [
                b"content-type: application/json;charset=utf-8\r\n",
                b"x-hubspot-correlation-id: " + correlation_id.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
            self.transport.write(b"".join(head))
            if linger:
                self.loop.call_later(1.0, self.transport.close)
            else:
                self.transport.close()

    return CoalescingHttpToolsProtocol
