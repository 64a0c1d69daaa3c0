"""Delivery signatures (SPEC §5.4) against the vectors there and HubSpot's own helper, and the
``localspot webhooks listen`` receiver."""

from __future__ import annotations

import threading
import time

import httpx
from hubspot.utils.signature import Signature

from localspot.domain.webhooks import signing
from localspot.webhook_listener import Listener
from tests.webhook_receiver import Receiver

DOCS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOCS_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)
OUR_SECRET = "test-client-secret"
OUR_URI = "https://example.test/hooks/hubspot?x=1"
OUR_BODY = b'[{"eventId":7}]'


def test_v1_docs_vector() -> None:
    expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert signing.v1(DOCS_SECRET, DOCS_BODY) == expected


def test_v2_and_v3_vectors() -> None:
    assert signing.v3(OUR_SECRET, "POST", OUR_URI, OUR_BODY, 1700000000000) == (
        "dBYzxOG3/6yCwd6V08WDt9PshXXG8lmnPk9BHlbjEMY="
    )
    assert signing.v2(OUR_SECRET, "POST", OUR_URI, OUR_BODY) == (
        "770d16baa1667f4f508cdcf67c3530ab5999f67d88c8e0862d94cfe302914dd9"
    )


def test_v3_decodes_the_listed_escapes_only() -> None:
    encoded = "https://example.test/a%3Ab?next=%2Fhome%20x"
    assert signing.v3_uri(encoded) == "https://example.test/a:b?next=/home%20x"
    plain = signing.v3(OUR_SECRET, "POST", "https://example.test/a:b", OUR_BODY, 1)
    assert signing.v3(OUR_SECRET, "POST", "https://example.test/a%3Ab", OUR_BODY, 1) == plain


def test_headers_verify_with_hubspot_api_client() -> None:
    now = int(time.time() * 1000)
    headers = signing.headers(OUR_SECRET, "POST", OUR_URI, OUR_BODY, now)
    body = OUR_BODY.decode()
    assert Signature.is_valid(
        headers["X-HubSpot-Signature"], OUR_SECRET, body, signature_version="v1"
    )
    assert Signature.is_valid(
        headers["X-HubSpot-Signature-v3"],
        OUR_SECRET,
        body,
        OUR_URI,
        "POST",
        "v3",
        headers["X-HubSpot-Request-Timestamp"],
    )
    assert not Signature.is_valid(
        headers["X-HubSpot-Signature"], "other", body, signature_version="v1"
    )


def test_verify_rejects_stale_or_forged_signatures() -> None:
    now = 1_700_000_000_000
    lowered = {
        k.lower(): v for k, v in signing.headers(OUR_SECRET, "POST", OUR_URI, OUR_BODY, now).items()
    }
    assert signing.verify(OUR_SECRET, "POST", OUR_URI, OUR_BODY, lowered, now) == "v3"
    late = now + 301_000
    # v3 too old: falls back to v1, which has no timestamp.
    assert signing.verify(OUR_SECRET, "POST", OUR_URI, OUR_BODY, lowered, late) == "v1"
    only_v3 = {k: v for k, v in lowered.items() if k != "x-hubspot-signature"}
    assert signing.verify(OUR_SECRET, "POST", OUR_URI, OUR_BODY, only_v3, late) is None
    assert signing.verify(OUR_SECRET, "POST", OUR_URI, b"[]", lowered, now) is None
    assert signing.verify("wrong", "POST", OUR_URI, OUR_BODY, lowered, now) is None


def test_listener_verifies_prints_and_forwards() -> None:
    printed: list[str] = []
    app = Receiver(respond=lambda n: 202)
    listener = Listener(OUR_SECRET, port=0, forward=app.url, out=printed.append)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.port}/hook?x=1"
        headers = signing.headers(OUR_SECRET, "POST", url, OUR_BODY, int(time.time() * 1000))
        ok = httpx.post(url, content=OUR_BODY, headers=headers)
        assert ok.status_code == 202  # the forwarded app's answer
        assert '"verified": "v3"' in printed[0] and '"eventId": 7' in printed[0]
        assert app.requests[0].body == OUR_BODY
        assert (
            app.requests[0].headers["x-hubspot-signature-v3"] == headers["X-HubSpot-Signature-v3"]
        )

        forged = httpx.post(url, content=b'[{"eventId":8}]', headers=headers)
        assert forged.status_code == 401
        assert len(app.requests) == 1
    finally:
        listener.close()
        app.close()
