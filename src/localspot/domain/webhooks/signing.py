"""Request signatures of webhook deliveries (SPEC §5.4), for sending and for verifying."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

from localspot.validation import whole_number

# v3 hashes the URI with these escapes decoded; every other escape stays as it was sent.
_V3_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


def v1(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


def v2(secret: str, method: str, uri: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + method.encode() + uri.encode() + body).hexdigest()


def v3_uri(uri: str) -> str:
    for escape in _V3_DECODED:
        uri = uri.replace(escape, unquote(escape)).replace(escape.lower(), unquote(escape))
    return uri


def v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    message = method.encode() + v3_uri(uri).encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def headers(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """What a delivery carries: v3 plus v1 for receivers that check only the older one."""
    return {
        "X-HubSpot-Signature": v1(secret, body),
        "X-HubSpot-Signature-Version": "v1",
        "X-HubSpot-Signature-v3": v3(secret, method, uri, body, timestamp_ms),
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
    }


def verify(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    received: dict[str, str],
    now_ms: int,
    max_age_ms: int | None = 300_000,
) -> str | None:
    """Which version verified (``"v3"``, ``"v1"``, ``"v2"``), or None; headers lower-cased.

    A v3 signature older than ``max_age_ms`` is refused, as HubSpot asks receivers to do.
    """
    signature_v3 = received.get("x-hubspot-signature-v3")
    timestamp = received.get("x-hubspot-request-timestamp", "")
    sent_ms = whole_number(timestamp)
    if signature_v3 and sent_ms is not None:
        fresh = max_age_ms is None or now_ms - sent_ms <= max_age_ms
        expected = v3(secret, method, uri, body, timestamp)
        if fresh and hmac.compare_digest(expected, signature_v3):
            return "v3"
    signature = received.get("x-hubspot-signature")
    if signature:
        version = received.get("x-hubspot-signature-version", "v1").lower()
        if version == "v1" and hmac.compare_digest(v1(secret, body), signature):
            return "v1"
        if version == "v2" and hmac.compare_digest(v2(secret, method, uri, body), signature):
            return "v2"
    return None
