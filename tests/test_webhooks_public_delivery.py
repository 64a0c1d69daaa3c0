"""Webhooks of public apps end to end: an app installed through OAuth receives its accounts'
events on a real receiver, signed with its client secret (SPEC §5.4, issues #5 and #7)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from localspot.scopes import all_scopes
from localspot.store.schema import public_apps
from localspot.testing import LocalSpotServer
from tests.oauth_helpers import new_public_app
from tests.public_webhook_helpers import (
    READ,
    developer_key,
    install_into,
    installed_app,
    new_contact,
    patch_contact,
    sensitive_property,
    signatures,
    wire_public,
)
from tests.webhook_helpers import open_runtime, wire
from tests.webhook_receiver import Receiver

PASSPORT = "P-55512345-PUBHOOK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _events(server: LocalSpotServer, app_id: int, status: str | None = None) -> list[dict]:
    query = f"?status={status}" if status else ""
    return server.control("GET", f"/webhooks/public-apps/{app_id}/events{query}")["results"]


def test_installed_app_gets_the_accounts_events_signed_with_its_client_secret(
    server: LocalSpotServer, receiver: Receiver, second_receiver: Receiver
) -> None:
    mine = installed_app(server)
    sensitive_property(server, mine.writer, "passport_number")
    first_sub, passport_sub = wire_public(
        server, mine.app.id, mine.developer_key, receiver.url, ["firstname", "passport_number"]
    )
    # Another developer's app, installed in another account only, with the same subscriptions.
    other = new_public_app(server, [READ])
    other_hub, _ = install_into(server, other)
    wire_public(
        server,
        other.id,
        developer_key(server, other),
        second_receiver.url,
        ["firstname", "passport_number"],
    )

    contact = new_contact(server, mine.writer)
    patch_contact(server, mine.writer, contact, firstname="Ana", passport_number=PASSPORT)

    events = receiver.wait_events(2)
    by_name = {e["propertyName"]: e for e in events}
    assert by_name["firstname"]["propertyValue"] == "Ana"
    assert by_name["passport_number"]["propertyValue"] == "REDACTED"
    assert by_name["firstname"]["subscriptionId"] == int(first_sub)
    assert by_name["passport_number"]["subscriptionId"] == int(passport_sub)
    for event in events:
        assert event["appId"] == mine.app.id and event["portalId"] == mine.hub_id
        assert event["objectId"] == contact and event["attemptNumber"] == 0
    for request in receiver.requests:
        assert signatures(request, mine.app.client_secret, receiver.url) == (True, True)

    # The other app hears its own account, and nothing of the account it is not installed in.
    other_writer = server.new_app(all_scopes(), hub_id=other_hub)
    patch_contact(server, other_writer, new_contact(server, other_writer), firstname="Bo")
    heard = second_receiver.wait_events(1)
    assert [(e["portalId"], e["propertyValue"]) for e in heard] == [(other_hub, "Bo")]
    assert {e["portalId"] for e in _events(server, other.id)} == {other_hub}

    log = server.log_text()
    assert PASSPORT not in log
    assert mine.app.client_secret not in log and other.client_secret not in log


def test_rotating_the_client_secret_signs_new_deliveries_with_the_new_one(
    server: LocalSpotServer, receiver: Receiver
) -> None:
    mine = installed_app(server)
    wire_public(server, mine.app.id, mine.developer_key, receiver.url, ["firstname"])
    contact = new_contact(server, mine.writer)
    patch_contact(server, mine.writer, contact, firstname="Before")
    receiver.wait_events(1)
    old = mine.app.client_secret
    assert signatures(receiver.requests[0], old, receiver.url) == (True, True)

    new = server.control("POST", f"/public-apps/{mine.app.id}/rotate-secret")["clientSecret"]
    assert new != old
    patch_contact(server, mine.writer, contact, firstname="After")
    receiver.wait_events(2)
    last = receiver.requests[-1]
    assert [e["propertyValue"] for e in last.events] == ["After"]
    assert signatures(last, new, receiver.url) == (True, True)
    assert signatures(last, old, receiver.url) == (False, False)
    assert new not in server.log_text()


def test_uninstalling_stops_deliveries_and_discards_waiting_events(
    server: LocalSpotServer, second_receiver: Receiver
) -> None:
    # The receiver takes the first delivery and fails the rest: those events wait for a retry.
    receiver = Receiver(respond=lambda n: 200 if n == 0 else 500)
    try:
        _uninstall_scenario(server, receiver, second_receiver)
    finally:
        receiver.close()


def _uninstall_scenario(server: LocalSpotServer, receiver: Receiver, canary: Receiver) -> None:
    mine = installed_app(server)
    wire_public(server, mine.app.id, mine.developer_key, receiver.url, ["firstname"])
    contact = new_contact(server, mine.writer)
    patch_contact(server, mine.writer, contact, firstname="Installed")
    receiver.wait_events(1)
    patch_contact(server, mine.writer, contact, firstname="Waiting")
    receiver.wait_events(2)
    path = f"/webhooks/public-apps/{mine.app.id}/events?status=pending"
    deadline = time.monotonic() + 20
    while not [e for e in server.control("GET", path)["results"] if e["attempts"] == 1]:
        assert time.monotonic() < deadline, "the failed delivery was not recorded"
        time.sleep(0.05)

    server.control("DELETE", f"/public-apps/{mine.app.id}/installs/{mine.hub_id}")
    assert _events(server, mine.app.id, "pending") == []
    discarded = _events(server, mine.app.id, "discarded")
    assert [e["payload"]["propertyValue"] for e in discarded] == ["Waiting"]

    # A private app of the account as a canary: it hears the next change, the uninstalled app
    # does not, and the discarded event is not retried once its back-off has passed.
    wire(
        server,
        mine.writer,
        canary.url,
        [{"eventType": "contact.propertyChange", "propertyName": "firstname"}],
    )
    server.advance_clock(seconds=90)
    patch_contact(server, mine.writer, contact, firstname="Gone")
    assert [e["propertyValue"] for e in canary.wait_events(1)] == ["Gone"]
    time.sleep(0.5)
    assert len(receiver.requests) == 2
    assert len(_events(server, mine.app.id)) == 2  # Installed and Waiting: no row for Gone


def test_an_app_without_a_kept_secret_fails_its_deliveries_until_rotated(
    server: LocalSpotServer, receiver: Receiver
) -> None:
    mine = installed_app(server)
    wire_public(server, mine.app.id, mine.developer_key, receiver.url, ["firstname"])
    # As an app made before the sealed secret was kept (the migration leaves it NULL).
    rt = open_runtime(server)
    try:
        with rt.store.write() as conn:
            conn.execute(
                update(public_apps)
                .where(public_apps.c.id == mine.app.id)
                .values(client_secret_ct=None)
            )
    finally:
        rt.close()

    contact = new_contact(server, mine.writer)
    patch_contact(server, mine.writer, contact, firstname="Unsigned")
    path = f"/webhooks/public-apps/{mine.app.id}/deliveries"
    deadline = time.monotonic() + 20
    while not (failed := server.control("GET", path)["results"]):
        assert time.monotonic() < deadline, "no delivery recorded"
        time.sleep(0.05)
    assert failed[0]["outcome"] == "signing_error" and failed[0]["statusCode"] is None
    assert "rotate" in failed[0]["error"]
    assert mine.app.client_secret not in failed[0]["error"]
    assert receiver.requests == []  # nothing is ever sent unsigned

    new = server.control("POST", f"/public-apps/{mine.app.id}/rotate-secret")["clientSecret"]
    server.advance_clock(seconds=90)  # past the first back-off (60 s, jittered by 20 %)
    events = receiver.wait_events(1)
    assert events[0]["propertyValue"] == "Unsigned" and events[0]["attemptNumber"] == 1
    assert signatures(receiver.requests[0], new, receiver.url) == (True, True)
