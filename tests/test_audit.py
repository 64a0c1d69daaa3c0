"""The audit trail over the control plane: what is recorded, queries, export, verification."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import text

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.conftest import http_client
from tests.oauth_helpers import bearer, exchange, install, new_public_app, new_user
from tests.protection_support import engine_of, own_server

PASSPORT = {
    "name": "passport_number",
    "label": "Passport",
    "type": "string",
    "fieldType": "text",
    "groupName": "contactinformation",
}


@pytest.fixture(scope="module")
def own() -> Iterator[LocalSpotServer]:
    """A server of this module's own: these tests edit, delete and prune audit rows."""
    with own_server() as server:
        yield server


def _rows(server: LocalSpotServer, **params: object) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return server.control("GET", f"/audit?{query}&limit=1000")["results"]


def test_sensitive_definition_changes_and_denials_are_recorded(server: LocalSpotServer) -> None:
    app = server.new_app(all_scopes())
    with http_client(server, app) as http:
        assert http.post(
            "/crm/v3/properties/contacts", json={**PASSPORT, "name": "plain"}
        ).is_success
        made = http.post(
            "/crm/v3/properties/contacts", json={**PASSPORT, "dataSensitivity": "sensitive"}
        )
        assert made.status_code == 201
        assert http.patch(
            "/crm/v3/properties/contacts/passport_number", json={"label": "Pass"}
        ).is_success
        assert http.delete("/crm/v3/properties/contacts/passport_number").status_code == 204
    weak = server.new_app(["crm.schemas.contacts.write"], hub_id=app.hub_id)
    with http_client(server, weak) as http:
        refused = http.post(
            "/crm/v3/properties/contacts",
            json={**PASSPORT, "name": "health", "dataSensitivity": "highly_sensitive"},
        )
        assert refused.status_code == 403
        assert refused.json()["category"] == "MISSING_SCOPES"

    rows = _rows(server, hubId=app.hub_id)
    changes = [r for r in rows if r["action"] == "definition_change"]
    assert [r["detail"]["operation"] for r in changes] == ["create", "update", "archive"]
    assert all(r["propertyNames"] == ["passport_number"] for r in changes)
    assert changes[0]["actor"] == {
        "appId": app.app_id,
        "appKind": "private",
        "tokenId": f"pat:{app.app_id}",
        "userId": None,
    }
    assert changes[0]["correlationId"] == made.headers["x-hubspot-correlation-id"]
    assert changes[1]["detail"]["fields"] == ["label"]
    assert "plain" not in {n for r in rows for n in r["propertyNames"]}

    (denied,) = [r for r in rows if r["action"] == "denied"]
    assert denied["propertyNames"] == ["health"]
    assert denied["actor"]["appId"] == weak.app_id
    assert denied["correlationId"] == refused.headers["x-hubspot-correlation-id"]
    assert denied["detail"] == {"access": "write", "status": 403}

    assert _rows(server, hubId=app.hub_id, action="denied") == [denied]
    assert _rows(server, hubId=app.hub_id, property="health") == [denied]
    assert _rows(server, hubId=app.hub_id, property="health_") == []
    assert _rows(server, hubId=app.hub_id, appId=weak.app_id) == [denied]
    last = changes[-1]["atMs"]
    assert _rows(server, hubId=app.hub_id, since=last + 1, action="definition_change") == []
    assert len(_rows(server, hubId=app.hub_id, until=changes[1]["at"].replace("+", "%2B"))) == 1


def test_export_as_json_lines_and_paging(server: LocalSpotServer) -> None:
    app = server.new_app(all_scopes())
    with http_client(server, app) as http:
        for i in range(3):
            body = {**PASSPORT, "name": f"secret_{i}", "dataSensitivity": "sensitive"}
            assert http.post("/crm/v3/properties/contacts", json=body).status_code == 201
    response = server.admin.get(f"/localspot/v1/audit?hubId={app.hub_id}&format=jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.text.splitlines()]
    assert [r["propertyNames"] for r in lines] == [["secret_0"], ["secret_1"], ["secret_2"]]

    page = server.control("GET", f"/audit?hubId={app.hub_id}&limit=2")
    assert len(page["results"]) == 2
    after = page["paging"]["next"]["after"]
    rest = server.control("GET", f"/audit?hubId={app.hub_id}&limit=2&after={after}")
    assert [r["propertyNames"] for r in rest["results"]] == [["secret_2"]]
    assert "paging" not in rest


@pytest.mark.parametrize(
    "query",
    ["action=peek", "since=yesterday", "hubId=abc", "limit=0", "format=xml", "since=2026-01-01"],
)
def test_bad_audit_queries_get_hubspot_400s(server: LocalSpotServer, query: str) -> None:
    response = server.admin.get(f"/localspot/v1/audit?{query}")
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_audit_needs_the_admin_key(server: LocalSpotServer) -> None:
    for path in ("/audit", "/audit/verify", "/keys"):
        assert httpx.get(server.url + "/localspot/v1" + path).status_code == 401


def _make_rows(server: LocalSpotServer, n: int) -> int:
    app = server.new_app(all_scopes())
    with http_client(server, app) as http:
        for i in range(n):
            body = {**PASSPORT, "name": f"chain_{i}", "dataSensitivity": "sensitive"}
            assert http.post("/crm/v3/properties/contacts", json=body).status_code == 201
    return app.hub_id


def _verify(server: LocalSpotServer) -> dict:
    return server.control("GET", "/audit/verify")


def test_an_edited_row_is_detected_and_named(own: LocalSpotServer) -> None:
    hub_id = _make_rows(own, 4)
    assert _verify(own)["ok"] is True
    seqs = [r["seq"] for r in _rows(own, hubId=hub_id)]
    engine = engine_of(own)
    try:
        with engine.begin() as conn:
            original = conn.execute(
                text("SELECT property_names FROM audit_log WHERE seq = :s"), {"s": seqs[1]}
            ).scalar_one()
            conn.execute(
                text("UPDATE audit_log SET property_names = :p WHERE seq = :s"),
                {"p": '["innocent"]', "s": seqs[1]},
            )
        verdict = _verify(own)
        assert verdict["ok"] is False
        assert verdict["firstBrokenSeq"] == seqs[1]
        assert "edited" in verdict["reason"]
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET property_names = :p WHERE seq = :s"),
                {"p": original, "s": seqs[1]},
            )
        assert _verify(own)["ok"] is True
    finally:
        engine.dispose()


def test_deleted_rows_are_detected_in_the_middle_and_at_the_end(own: LocalSpotServer) -> None:
    hub_id = _make_rows(own, 3)
    seqs = [r["seq"] for r in _rows(own, hubId=hub_id)]
    engine = engine_of(own)
    try:
        with engine.begin() as conn:
            saved = (
                conn.execute(
                    text("SELECT * FROM audit_log WHERE seq IN (:a, :b)"),
                    {"a": seqs[1], "b": seqs[2]},
                )
                .mappings()
                .all()
            )
            conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[1]})
        verdict = _verify(own)
        assert (verdict["ok"], verdict["firstBrokenSeq"]) == (False, seqs[1])
        assert "deleted" in verdict["reason"]
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": seqs[0]})
        verdict = _verify(own)
        assert (verdict["ok"], verdict["firstBrokenSeq"]) == (False, seqs[1])
        assert "end" in verdict["reason"]
        # The CLI says the same, with a failing exit code.
        done = _cli(own, "audit", "verify")
        assert done.returncode == 1 and '"ok": false' in done.stdout
        with engine.begin() as conn:
            for row in saved:
                columns = ", ".join(row.keys())
                marks = ", ".join(f":{k}" for k in row)
                conn.execute(text(f"INSERT INTO audit_log ({columns}) VALUES ({marks})"), dict(row))
        assert _verify(own)["ok"] is True
    finally:
        engine.dispose()


def _cli(server: LocalSpotServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALSPOT_DATABASE_URL": server.database_url}
    command = [sys.executable, "-m", "localspot", *args, "--data-dir", str(server.data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_cli_export_and_verify(own: LocalSpotServer) -> None:
    hub_id = _make_rows(own, 2)
    done = _cli(own, "audit", "export", "--hub-id", str(hub_id), "--action", "definition_change")
    assert done.returncode == 0, done.stderr
    rows = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [r["propertyNames"] for r in rows] == [["chain_0"], ["chain_1"]]
    assert _cli(own, "audit", "verify").returncode == 0


def test_retention_prunes_old_rows_and_the_chain_still_verifies(own: LocalSpotServer) -> None:
    old_hub = _make_rows(own, 2)
    assert _verify(own)["ok"] is True
    own.advance_clock(days=366)  # past the default retention; advancing runs the purge
    assert _rows(own, hubId=old_hub) == []
    verdict = _verify(own)
    assert verdict["ok"] is True and verdict["anchorSeq"] > 0
    new_hub = _make_rows(own, 1)
    assert len(_rows(own, hubId=new_hub)) == 1
    assert _verify(own)["ok"] is True


def test_rows_say_which_kind_of_app_acted(server: LocalSpotServer) -> None:
    """Private and public apps number their ids apart: appKind tells their rows apart."""
    hub_id, email = new_user(server)
    public = new_public_app(server, ["crm.schemas.contacts.write"])
    token = exchange(
        server, public, install(server, public, email, ["crm.schemas.contacts.write"])
    ).json()["access_token"]
    private = server.new_app(["crm.schemas.contacts.write"], hub_id=hub_id)
    sensitive = {**PASSPORT, "dataSensitivity": "sensitive"}
    with bearer(server, token) as http:
        assert http.post("/crm/v3/properties/contacts", json=sensitive).status_code == 403
    with http_client(server, private) as http:
        assert http.post("/crm/v3/properties/contacts", json=sensitive).status_code == 403

    by_kind = {
        kind: [(r["actor"]["appKind"], r["actor"]["appId"]) for r in _rows(server, **params)]
        for kind, params in {
            "public": {"hubId": hub_id, "appKind": "public"},
            "private": {"hubId": hub_id, "appKind": "private"},
        }.items()
    }
    assert by_kind == {"public": [("public", public.id)], "private": [("private", private.app_id)]}
    refused = server.admin.get(f"/localspot/v1/audit?hubId={hub_id}&appKind=both")
    assert refused.status_code == 400
