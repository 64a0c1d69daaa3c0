"""Events that record and association writes queue, delivered to a real receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.webhook_helpers import client, wire
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_association_change_reaches_both_sides(server: LocalSpotServer, receiver: Receiver) -> None:
    app = server.new_app(all_scopes())
    wire(
        server,
        app,
        receiver.url,
        [{"eventType": "contact.associationChange"}, {"eventType": "company.associationChange"}],
    )
    with client(server, app) as http:
        contact = http.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": "link@example.org"}}
        ).json()["id"]
        company = http.post(
            "/crm/v3/objects/companies", json={"properties": {"name": "Linked"}}
        ).json()["id"]
        linked = http.put(
            f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
        )
        assert linked.status_code in (200, 201), linked.text

    receiver.wait_for(
        lambda r: (
            {"CONTACT_TO_COMPANY", "COMPANY_TO_CONTACT"}
            <= {e.get("associationType") for e in r.events()}
        )
    )
    contact_side = [
        e for e in receiver.events() if e.get("associationType") == "CONTACT_TO_COMPANY"
    ]
    assert contact_side[0]["fromObjectId"] == int(contact)
    assert contact_side[0]["toObjectId"] == int(company)
    assert contact_side[0]["associationRemoved"] is False
    assert contact_side[0]["subscriptionType"] == "contact.associationChange"


def test_creation_and_deletion_events(server: LocalSpotServer, receiver: Receiver) -> None:
    app = server.new_app(all_scopes())
    wire(
        server, app, receiver.url, [{"eventType": "deal.creation"}, {"eventType": "deal.deletion"}]
    )
    with client(server, app) as http:
        deal = http.post("/crm/v3/objects/deals", json={"properties": {"dealname": "D"}}).json()
        assert http.delete(f"/crm/v3/objects/deals/{deal['id']}").status_code == 204
    receiver.wait_for(
        lambda r: {"deal.creation", "deal.deletion"} <= {e["subscriptionType"] for e in r.events()}
    )
    assert {e["objectId"] for e in receiver.events()} == {int(deal["id"])}
