"""Webhook delivery end to end: the server's worker POSTs signed batches to a real receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from hubspot.utils.signature import Signature
from sqlalchemy import select

from localspot.domain.webhooks.delivery import BACKOFF_SECONDS
from localspot.domain.webhooks.events import ChangeEvent, SensitiveValueInEvent
from localspot.runtime import Runtime
from localspot.scopes import all_scopes
from localspot.store.schema import webhook_events
from localspot.testing import LocalSpotServer
from tests.webhook_helpers import client, emit_now, open_runtime, property_change, wire
from tests.webhook_receiver import Receiver

SECRET_VALUE = "P-83920147-SECRET"


@pytest.fixture(scope="module")
def rt(server: LocalSpotServer) -> Iterator[Runtime]:
    runtime = open_runtime(server)
    yield runtime
    runtime.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _sensitive_property(server: LocalSpotServer, app, name: str, level: str = "sensitive") -> None:
    with client(server, app) as http:
        made = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "dataSensitivity": level,
            },
        )
        assert made.status_code == 201, made.text


def _verify_with_hubspot_client(request, secret: str, url: str) -> None:
    body = request.body.decode()
    assert Signature.is_valid(
        signature=request.headers["x-hubspot-signature"],
        client_secret=secret,
        request_body=body,
        signature_version="v1",
    )
    assert request.headers["x-hubspot-signature-version"] == "v1"
    assert Signature.is_valid(
        signature=request.headers["x-hubspot-signature-v3"],
        client_secret=secret,
        request_body=body,
        http_uri=url,
        http_method="POST",
        signature_version="v3",
        timestamp=request.headers["x-hubspot-request-timestamp"],
    )


def test_property_changes_arrive_signed_with_sensitive_value_redacted(
    server: LocalSpotServer, rt: Runtime, receiver: Receiver
) -> None:
    app = server.new_app(all_scopes())
    _sensitive_property(server, app, "passport_number")
    secret, (first_sub, passport_sub) = wire(
        server,
        app,
        receiver.url,
        [
            {"eventType": "contact.propertyChange", "propertyName": "firstname"},
            {"eventType": "contact.propertyChange", "propertyName": "passport_number"},
        ],
    )

    emit_now(
        rt,
        [
            property_change(rt, app, 501, "firstname", "Ana"),
            property_change(rt, app, 501, "passport_number", "REDACTED"),
        ],
    )

    events = receiver.wait_events(2)
    by_name = {e["propertyName"]: e for e in events}
    assert by_name["firstname"]["propertyValue"] == "Ana"
    assert by_name["passport_number"]["propertyValue"] == "REDACTED"
    first = by_name["firstname"]
    assert first["subscriptionId"] == int(first_sub)
    assert by_name["passport_number"]["subscriptionId"] == int(passport_sub)
    assert first["portalId"] == app.hub_id and first["appId"] == app.app_id
    assert first["subscriptionType"] == "contact.propertyChange"
    assert first["attemptNumber"] == 0 and first["objectId"] == 501
    assert first["changeSource"] == "API" and first["sourceId"] == str(app.app_id)
    assert isinstance(first["eventId"], int) and isinstance(first["occurredAt"], int)
    for request in receiver.requests:
        _verify_with_hubspot_client(request, secret, receiver.url)


def test_emit_refuses_a_sensitive_value_and_queues_nothing(
    server: LocalSpotServer, rt: Runtime
) -> None:
    app = server.new_app(all_scopes())
    _sensitive_property(server, app, "passport_number")
    _sensitive_property(server, app, "ssn", "highly_sensitive")
    wire(
        server,
        app,
        "http://127.0.0.1:9/unused",
        [
            {"eventType": "contact.propertyChange", "propertyName": "firstname"},
            {"eventType": "contact.propertyChange", "propertyName": "passport_number"},
        ],
    )
    for name in ("passport_number", "ssn"):
        with pytest.raises(SensitiveValueInEvent) as caught:
            emit_now(
                rt,
                [
                    property_change(rt, app, 7, "firstname", "Ana"),
                    property_change(rt, app, 7, name, SECRET_VALUE),
                ],
            )
        assert SECRET_VALUE not in str(caught.value)

    # Highly sensitive properties raise no events at all (SPEC Part B7).
    emit_now(rt, [property_change(rt, app, 7, "ssn", "REDACTED")])
    with rt.store.read() as conn:
        rows = conn.execute(
            select(webhook_events.c.payload).where(webhook_events.c.app_id == app.app_id)
        ).all()
    assert rows == []  # the failed transactions took their firstname events with them


def test_batches_of_up_to_100_events_per_post(
    server: LocalSpotServer, rt: Runtime, receiver: Receiver
) -> None:
    app = server.new_app(all_scopes())
    wire(server, app, receiver.url, [{"eventType": "contact.creation"}])
    emit_now(
        rt,
        [
            ChangeEvent(app.hub_id, "0-1", 1000 + i, "creation", rt.clock.millis(), "API", None)
            for i in range(250)
        ],
    )
    events = receiver.wait_events(250)
    assert sorted(e["objectId"] for e in events) == [1000 + i for i in range(250)]
    assert all(len(r.events) <= 100 for r in receiver.requests)
    assert len(receiver.requests) >= 3
    assert all(e["changeFlag"] == "NEW" and "sourceId" not in e for e in events)


def test_generic_object_subscription_carries_object_type_id(
    server: LocalSpotServer, rt: Runtime, receiver: Receiver
) -> None:
    app = server.new_app(all_scopes())
    wire(server, app, receiver.url, [{"eventType": "object.deletion", "objectTypeId": "0-1"}])
    emit_now(
        rt,
        [ChangeEvent(app.hub_id, "0-1", 42, "privacyDeletion", rt.clock.millis(), "CRM_UI", None)],
    )
    (event,) = receiver.wait_events(1)
    assert event["subscriptionType"] == "object.deletion"
    assert event["objectTypeId"] == "0-1" and event["objectId"] == 42


def _deliveries(server: LocalSpotServer, app_id: int) -> list[dict]:
    return server.control("GET", f"/webhooks/private-apps/{app_id}/deliveries")["results"]


def _wait_finished(server: LocalSpotServer, app_id: int, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = [d for d in _deliveries(server, app_id) if d["outcome"] != "in_flight"]
        if len(done) >= count:
            return done
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} finished deliveries")


def test_failed_tries_are_retried_on_the_clock_with_attempt_numbers(
    server: LocalSpotServer, rt: Runtime
) -> None:
    receiver = Receiver(respond=lambda n: 503 if n < 3 else 200)
    try:
        app = server.new_app(all_scopes())
        wire(
            server,
            app,
            receiver.url,
            [{"eventType": "contact.propertyChange", "propertyName": "firstname"}],
        )
        emit_now(rt, [property_change(rt, app, 9, "firstname", "Bo")])
        for tries in range(1, 4):
            _wait_finished(server, app.app_id, tries)
            assert len(receiver.requests) == tries
            # Nothing more until the back-off has passed on the server clock.
            time.sleep(0.3)
            assert len(receiver.requests) == tries
            server.advance_clock(seconds=3 * 3600)
        receiver.wait_for(lambda r: len(r.requests) == 4)
        attempts = [r.events[0]["attemptNumber"] for r in receiver.requests]
        assert attempts == [0, 1, 2, 3]
        assert len({r.events[0]["eventId"] for r in receiver.requests}) == 1
        outcomes = [d["outcome"] for d in _wait_finished(server, app.app_id, 4)]
        assert outcomes == ["success", "http_error", "http_error", "http_error"]
        assert _deliveries(server, app.app_id)[1]["statusCode"] == 503
    finally:
        receiver.close()


def test_slow_receiver_counts_as_failure(server: LocalSpotServer, rt: Runtime) -> None:
    release = threading.Event()
    receiver = Receiver(respond=lambda n: (release.wait(8), 200)[1] if n == 0 else 200)
    try:
        app = server.new_app(all_scopes())
        wire(server, app, receiver.url, [{"eventType": "contact.deletion"}])
        emit_now(
            rt, [ChangeEvent(app.hub_id, "0-1", 5, "deletion", rt.clock.millis(), "API", None)]
        )
        (finished,) = _wait_finished(server, app.app_id, 1)
        release.set()
        assert finished["outcome"] == "timeout"
        assert finished["durationMs"] >= 4900
    finally:
        release.set()
        receiver.close()


def test_records_patch_sends_both_events(server: LocalSpotServer, receiver: Receiver) -> None:
    """The issue's end-to-end check, through the records API: a 404 there fails the test."""
    app = server.new_app(all_scopes())
    _sensitive_property(server, app, "passport_number")
    secret, _ = wire(
        server,
        app,
        receiver.url,
        [
            {"eventType": "contact.propertyChange", "propertyName": "firstname"},
            {"eventType": "contact.propertyChange", "propertyName": "passport_number"},
        ],
    )
    with client(server, app) as http:
        made = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "Ana"}})
        assert made.status_code == 201, made.text
        contact_id = made.json()["id"]
        changed = http.patch(
            f"/crm/v3/objects/contacts/{contact_id}",
            json={"properties": {"firstname": "Ada", "passport_number": SECRET_VALUE}},
        )
        assert changed.status_code == 200, changed.text

    receiver.wait_for(lambda r: {"Ada", "REDACTED"} <= {e.get("propertyValue") for e in r.events()})
    by_name = {e["propertyName"]: e for e in receiver.events() if e["objectId"] == int(contact_id)}
    assert by_name["firstname"]["propertyValue"] == "Ada"
    assert by_name["passport_number"]["propertyValue"] == "REDACTED"
    for request in receiver.requests:
        _verify_with_hubspot_client(request, secret, receiver.url)
        assert SECRET_VALUE.encode() not in request.body

    rt = open_runtime(server)
    try:
        with rt.store.read() as conn:
            outbox = [str(p) for (p,) in conn.execute(select(webhook_events.c.payload))]
    finally:
        rt.close()
    assert not any(SECRET_VALUE in p for p in outbox)
    assert SECRET_VALUE not in server.log_text()
    deliveries = httpx.get(
        f"{server.url}/localspot/v1/webhooks/private-apps/{app.app_id}/events",
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    assert SECRET_VALUE not in deliveries.text


def test_a_failing_event_gets_the_first_try_and_ten_retries_over_a_day(
    server: LocalSpotServer, rt: Runtime
) -> None:
    assert len(BACKOFF_SECONDS) == 10
    assert 22 * 3600 < sum(BACKOFF_SECONDS) <= 24 * 3600
    receiver = Receiver(respond=lambda n: 500)
    try:
        app = server.new_app(all_scopes())
        wire(server, app, receiver.url, [{"eventType": "contact.deletion"}])
        emit_now(
            rt, [ChangeEvent(app.hub_id, "0-1", 7, "deletion", rt.clock.millis(), "API", None)]
        )
        for tries in range(1, 12):
            _wait_finished(server, app.app_id, tries)
            if tries < 11:
                server.advance_clock(seconds=9 * 3600)  # past the longest back-off and jitter
        assert [r.events[0]["attemptNumber"] for r in receiver.requests] == list(range(11))
        server.advance_clock(days=2)
        time.sleep(0.5)
        assert len(receiver.requests) == 11
    finally:
        receiver.close()
