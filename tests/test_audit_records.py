"""Reads and writes of sensitive record values leave audit rows: names and ids, never values."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from localspot.domain import audit
from localspot.testing import LocalSpotServer
from tests.records_helpers import add_property
from tests.webhook_helpers import open_runtime


def _rows(server: LocalSpotServer, hub_id: int, action: str) -> list[dict]:  # type: ignore[type-arg]
    response = server.admin.get("/localspot/v1/audit", params={"hubId": hub_id, "action": action})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_sensitive_reads_and_writes_are_audited(
    server: LocalSpotServer, http: httpx.Client, full_app
) -> None:  # type: ignore[no-untyped-def]
    add_property(http, "contacts", "contactinformation")
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "au@example.org", "passport_number": "AUD-1"}},
    )
    record_id = int(made.json()["id"])
    http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "passport_number"})
    http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "email"})

    writes = _rows(server, full_app.hub_id, "write")
    assert [(w["recordIds"], w["propertyNames"]) for w in writes] == [
        ([record_id], ["passport_number"])
    ]
    reads = _rows(server, full_app.hub_id, "read")
    assert [(r["recordIds"], r["propertyNames"]) for r in reads] == [
        ([record_id], ["passport_number"])
    ]
    assert reads[0]["correlationId"]
    exported = server.admin.get(
        "/localspot/v1/audit", params={"hubId": full_app.hub_id, "format": "jsonl"}
    )
    assert "AUD-1" not in exported.text


def test_a_flush_waits_for_rows_another_flush_is_still_writing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: the audit query flushes before it reads, but a background flush that had
    already taken the pending rows and was still committing them made that flush a no-op, so
    the query could miss a read made just before it (seen as a flaky audit test)."""
    committing, release, written = threading.Event(), threading.Event(), []

    class SlowStore:
        @contextlib.contextmanager
        def write(self) -> Iterator[None]:
            committing.set()
            release.wait(5)
            yield None

    def record_many(_conn: object, entries: list[object]) -> None:
        written.extend(entries)

    monkeypatch.setattr(audit, "record_many", record_many)
    monkeypatch.setattr(audit.ReadLog, "FLUSH_SECONDS", 60.0)
    rt = SimpleNamespace(store=SlowStore(), clock=SimpleNamespace(millis=lambda: 0))
    reads = audit.ReadLog(rt)  # type: ignore[arg-type]
    try:
        reads.add(None, "read", "0-1", [1], ["passport_number"])
        background = threading.Thread(target=reads.flush)
        background.start()
        assert committing.wait(5)
        querying = threading.Thread(target=reads.flush)
        querying.start()
        querying.join(0.3)
        assert querying.is_alive(), "the second flush returned before the first had committed"
        release.set()
        querying.join(5)
        background.join(5)
        assert len(written) == 1
    finally:
        release.set()
        reads.close()


def test_an_audit_query_sees_rows_another_thread_flushed_during_its_request(
    server: LocalSpotServer,
) -> None:
    """Regression: a request's reads share one transaction from its start (Store.shared_reads).
    When the background thread had flushed the read rows meanwhile, the query's own flush
    found nothing to write, and its read, in that older snapshot on SQLite, missed them."""
    rt = open_runtime(server)
    probe = f"probe_{uuid.uuid4().hex[:12]}"
    try:
        with rt.store.shared_reads():
            with rt.store.read() as conn:  # the request's first read: its snapshot starts here
                conn.exec_driver_sql("SELECT count(*) FROM audit_log").all()

            def elsewhere() -> None:
                rt.audit_reads.add(None, "read", "0-1", [1], [probe])
                rt.audit_reads.flush()

            flusher = threading.Thread(target=elsewhere)
            flusher.start()
            flusher.join(10)
            rows = audit.query(rt, audit.Filters(property_name=probe))
        assert [r["propertyNames"] for r in rows] == [[probe]]
    finally:
        rt.close()
