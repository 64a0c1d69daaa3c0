"""A real HTTP receiver on loopback for webhook tests, run on a thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.time() on arrival

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(json.loads(self.body))


class Receiver:
    """Records every POST. ``respond(n)`` gives the status for the n-th request (0-based); it
    may block, to hold a delivery in flight."""

    def __init__(self, respond: Callable[[int], int] | None = None) -> None:
        self.respond = respond or (lambda _n: 200)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    n = len(receiver.requests)
                    receiver.requests.append(Received(self.path, headers, body, time.time()))
                status = receiver.respond(n)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hubspot?x=1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for r in self.requests for e in r.events]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"receiver: condition not met; got {len(self.requests)} requests")

    def wait_events(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        self.wait_for(lambda r: len(r.events()) >= count, timeout)
        return self.events()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
