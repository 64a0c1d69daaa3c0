"""Rows a batch create leaves out of the store (derived history, whole-value terms), through a
migration down to the store format that kept them and back up, with data: answers unchanged."""

from __future__ import annotations

from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from localspot.scopes import all_scopes
from localspot.store.engine import _MIGRATIONS
from localspot.testing import LocalSpotServer
from tests.conftest import http_client
from tests.protection_support import engine_of, own_server
from tests.records_helpers import add_property

# The last revision whose stores kept a history row for every creation value and a term row
# for every whole string value.
BEFORE = "e2a05e9e16d5"
NAMES = "firstname,lastname,email,phone,passport_number"


def _migrate(server: LocalSpotServer, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine_of(server).connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # as Store.migrate: a rebuilt table must not cascade its DROP
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        with conn.begin():
            config.attributes["connection"] = conn
            command.downgrade(config, revision)


def _count(conn: Connection, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one())


def _answers(http: httpx.Client, ids: list[str]) -> list[Any]:
    out: list[Any] = []
    for record_id in ids:
        got = http.get(
            f"/crm/v3/objects/contacts/{record_id}",
            params={"properties": NAMES, "propertiesWithHistory": NAMES},
        )
        assert got.status_code == 200, got.text
        out.append(got.json())
    for name, token in (
        ("firstname", "ana"),
        ("firstname", "ana maria"),
        ("lastname", "ruiz*"),
        ("lastname", "*"),
        ("phone", "+351 912 345 678"),
        ("email", "*@example.org"),
    ):
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": name, "operator": "CONTAINS_TOKEN", "value": token}]}
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        }
        found = http.post("/crm/v3/objects/contacts/search", json=body)
        assert found.status_code == 200, found.text
        out.append([r["id"] for r in found.json()["results"]])
    found = http.post("/crm/v3/objects/contacts/search", json={"query": "ruiz"})
    assert found.status_code == 200, found.text
    out.append(sorted(r["id"] for r in found.json()["results"]))
    return out


def test_a_store_migrated_down_and_up_again_answers_alike() -> None:
    with own_server() as server:
        app = server.new_app(all_scopes())
        with http_client(server, app) as http:
            add_property(http, "contacts", "contactinformation")
            made = http.post(
                "/crm/v3/objects/contacts/batch/create",
                json={
                    "inputs": [
                        {
                            "properties": {
                                "email": "ana@example.org",
                                "firstname": "Ana Maria",
                                "lastname": "Ruiz",
                                "phone": "+351 912 345 678",
                                "passport_number": "X1234567",
                            }
                        },
                        {"properties": {"email": "bea@example.org", "firstname": "Ana"}},
                        {"properties": {"email": "cid@example.org", "lastname": "   "}},
                    ]
                },
            )
            assert made.status_code == 201, made.text
            ids = sorted((r["id"] for r in made.json()["results"]), key=int)
            server.advance_clock(seconds=5)
            changed = http.patch(
                f"/crm/v3/objects/contacts/{ids[1]}", json={"properties": {"lastname": "Ruiz-Diaz"}}
            )
            assert changed.status_code == 200, changed.text
            before = _answers(http, ids)
        searches = before[len(ids) :]
        # ana, "ana maria", ruiz*, * (a blank value has no term), the phone, the domain, query
        assert searches == [ids[:2], ids[:1], ids[:2], ids[:2], ids[:1], ids, sorted(ids[:2])]
        server.stop()

        _migrate(server, BEFORE)
        with engine_of(server).connect() as conn:
            # Every plaintext creation value has its history row again, every whole string
            # value its term row.
            assert (
                _count(
                    conn,
                    "SELECT count(*) FROM record_values v WHERE v.value_ct IS NULL AND NOT EXISTS "
                    "(SELECT 1 FROM record_history h WHERE h.record_id = v.record_id "
                    "AND h.property_id = v.property_id)",
                )
                == 0
            )
            assert _count(conn, "SELECT count(*) FROM record_terms WHERE term = 'ana maria'") == 1
        server.start()
        with engine_of(server).connect() as conn:
            assert _count(conn, "SELECT count(*) FROM record_terms WHERE term = 'ana maria'") == 0
        with http_client(server, app) as http:
            assert _answers(http, ids) == before
