"""``localspot webhooks listen``: a small receiver for developers.

It checks each delivery's signature (v3, else v1/v2) with the app secret, prints what verified,
and can forward verified deliveries, headers included, to the app under development. Unverified
requests get 401, so LocalSpot retries them as HubSpot would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from localspot.domain.webhooks import signing

FORWARDED_HEADERS = (
    "content-type",
    "x-hubspot-signature",
    "x-hubspot-signature-version",
    "x-hubspot-signature-v3",
    "x-hubspot-request-timestamp",
)


class Listener:
    def __init__(
        self,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 8099,
        forward: str | None = None,
        max_age_seconds: float | None = 300,
        out: Callable[[str], None] = print,
    ) -> None:
        self.secret = secret
        self.forward = forward
        self.max_age_ms = None if not max_age_seconds else int(max_age_seconds * 1000)
        self.out = out
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.port = self.server.server_address[1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = listener.handle(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        uri = f"http://{lowered.get('host', '')}{path}"
        version = signing.verify(
            self.secret, method, uri, body, lowered, int(time.time() * 1000), self.max_age_ms
        )
        if version is None:
            self.out(json.dumps({"verified": False, "path": path, "bytes": len(body)}))
            return 401
        try:
            events = json.loads(body)
        except ValueError:
            events = None
        self.out(json.dumps({"verified": version, "path": path, "events": events}, indent=2))
        if self.forward is None:
            return 200
        kept = {k: v for k, v in lowered.items() if k in FORWARDED_HEADERS}
        try:
            response = httpx.post(self.forward, content=body, headers=kept, timeout=5)
        except httpx.HTTPError as exc:
            self.out(json.dumps({"forwarded": False, "error": type(exc).__name__}))
            return 502
        self.out(json.dumps({"forwarded": True, "status": response.status_code}))
        return response.status_code

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
