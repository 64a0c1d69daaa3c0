"""Reads are tried on the event loop and move to a worker thread when they prove long: the
answer, and the audit trail it leaves, are the same either way."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import http_client
from tests.protection_support import fresh_database_url
from tests.records_helpers import add_property


@pytest.fixture(scope="module")
def hasty_server() -> Iterator[LocalSpotServer]:
    """A server whose reads on the event loop all run out of time: every one goes to a thread.
    (The allowance is SQLite's; on PostgreSQL only remembered reads run on the loop.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALSPOT_ON_LOOP_MS", "0.001")
        with fresh_database_url() as url, LocalSpotServer(database_url=url) as running:
            yield running


def _reads(server: LocalSpotServer, hub_id: int) -> list[tuple[str, list[int]]]:
    response = server.admin.get("/localspot/v1/audit", params={"hubId": hub_id})
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    return sorted(
        (r["action"], r["recordIds"]) for r in rows if r["action"] in ("read", "search_hit")
    )


@pytest.mark.parametrize("budget", ["default", "exhausted"])
def test_reads_answer_and_audit_once_wherever_they_run(
    server: LocalSpotServer, hasty_server: LocalSpotServer, budget: str
) -> None:
    running = server if budget == "default" else hasty_server
    app = running.new_app(all_scopes())
    with http_client(running, app) as http:
        add_property(http, "contacts", "contactinformation")
        made = http.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "loop@example.org", "passport_number": "LOOP-1"}},
        )
        assert made.status_code == 201, made.text
        record_id = made.json()["id"]

        one = http.get(
            f"/crm/v3/objects/contacts/{record_id}", params={"properties": "passport_number"}
        )
        assert one.status_code == 200, one.text
        assert one.json()["properties"]["passport_number"] == "LOOP-1"

        batch = http.post(
            "/crm/v3/objects/contacts/batch/read",
            json={"inputs": [{"id": record_id}], "properties": ["passport_number"]},
        )
        assert batch.status_code == 200, batch.text
        assert batch.json()["results"][0]["properties"]["passport_number"] == "LOOP-1"

        found = http.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "passport_number", "operator": "EQ", "value": "LOOP-1"}
                        ]
                    }  # fmt: skip
                ]
            },
        )
        assert found.status_code == 200, found.text
        assert [r["id"] for r in found.json()["results"]] == [record_id]

        for word in ("loop", "loop@example.org"):  # counted, and a range of the index
            worded = http.post("/crm/v3/objects/contacts/search", json={"query": word})
            assert worded.status_code == 200, worded.text
            assert (worded.json()["total"], [r["id"] for r in worded.json()["results"]]) == (
                1,
                [record_id],
            )

        missing = http.get("/crm/v3/objects/contacts/999999999")
        assert missing.status_code == 404

    assert _reads(running, app.hub_id) == [
        ("read", [int(record_id)]),
        ("read", [int(record_id)]),
        ("search_hit", [int(record_id)]),
    ]


def test_a_long_list_still_pages_to_the_end(hasty_server: LocalSpotServer) -> None:
    app = hasty_server.new_app(all_scopes())
    with http_client(hasty_server, app) as http:
        inputs = [{"properties": {"email": f"p{i}@example.org"}} for i in range(30)]
        assert http.post(
            "/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}
        ).is_success
        seen, after = 0, None
        while True:
            page = _page(http, after)
            seen += len(page["results"])
            if "paging" not in page:
                break
            after = page["paging"]["next"]["after"]
        assert seen == 30


def _page(http: httpx.Client, after: str | None) -> dict:  # type: ignore[type-arg]
    params = {"limit": 7, **({"after": after} if after else {})}
    response = http.get("/crm/v3/objects/contacts", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
