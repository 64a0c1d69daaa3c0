"""No leaks: canary values must never reach logs, error output or the raw store.

Canaries are planted as sealed sensitive values (as the Records domain stores them) and sent
in request bodies, query strings, paths and tokens of requests that fail. Then every route on
this branch is driven with tokens of several scope combinations, a key rotation runs, and the
log, the raw database (SQLite files or every PostgreSQL column) and the audit export are
scanned. TODO(protection): extend to records, search, forms and webhooks once they land.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from bench.protection import seed, sensitive_properties

from localspot import log as ls_log
from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests import leakcheck
from tests.protection_support import own_server, runtime_of

SCOPE_SETS = {
    "full": all_scopes(),
    "plain": [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.write",
    ],
    "sensitive-read-only": ["crm.objects.contacts.sensitive.read.v2"],
    "none": ["oauth"],
}


@pytest.fixture(scope="module")
def own() -> Iterator[LocalSpotServer]:
    with own_server() as server:
        yield server


def _drive(server: LocalSpotServer, token: str, planted: list[str]) -> list[httpx.Response]:
    """Every property route, with canaries in the places a failing request could echo."""
    c = iter(planted)
    base = "/crm/v3/properties/contacts"
    dated = "/crm/properties/2026-03/contacts"
    good = {
        "label": "L",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
        "dataSensitivity": "sensitive",
    }
    calls: list[tuple[str, str, dict]] = [
        ("GET", f"{base}?dataSensitivity=sensitive", {}),
        ("GET", f"{base}?archived={next(c)}", {}),
        ("GET", f"{base}/{next(c)}", {}),
        ("GET", f"{dated}/passport_number?idProperty={next(c)}", {}),
        ("POST", base, {"json": {**good, "name": "leak_a", "type": next(c)}}),
        ("POST", base, {"json": {**good, "name": "leak_b", "unknownField": next(c)}}),
        ("POST", base, {"content": '{"name": "' + next(c) + '", broken', "headers": _json()}),
        ("POST", base, {"json": {**good, "name": "leak_c", "description": 7, "x": next(c)}}),
        (
            "POST",
            base,
            {
                "json": {
                    **good,
                    "name": "health",
                    "dataSensitivity": "highly_sensitive",
                    "description": next(c),
                    "options": [{"label": next(c), "value": 1}],
                }
            },
        ),
        ("PATCH", f"{base}/passport_number", {"json": {"label": 5, "hidden": next(c)}}),
        ("PATCH", f"{base}/passport_number", {"json": {"name": next(c)}}),
        ("POST", f"{base}/batch/read", {"json": {"inputs": [{"name": next(c)}], "x": next(c)}}),
        ("POST", f"{base}/batch/create", {"json": {"inputs": [{**good, "type": next(c)}]}}),
        ("POST", f"{base}/batch/archive", {"json": {"inputs": next(c)}}),
        ("DELETE", f"{base}/{next(c)}", {}),
        ("GET", f"/crm/v3/objects/contacts/1?properties={next(c)}", {}),
        ("PUT", f"{base}/passport_number", {"json": {"value": next(c)}}),
    ]
    responses = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for method, path, extra in calls:
            headers = {"Authorization": f"Bearer {token}", **extra.pop("headers", {})}
            response = client.request(method, path, headers=headers, **extra)
            assert response.status_code < 500, (method, path, response.text)
            responses.append(response)
        # A token that is itself a canary, and an admin key that is one.
        bad = client.get(base, headers={"Authorization": f"Bearer pat-na1-{next(c)}"})
        assert bad.status_code == 401
        admin = client.get("/localspot/v1/keys", headers={"Authorization": f"Bearer {next(c)}"})
        assert admin.status_code == 401
    return responses


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def test_canaries_reach_no_log_and_no_raw_store(own: LocalSpotServer) -> None:
    stored = leakcheck.canaries(40, "SEALED")
    sent = leakcheck.canaries(200, "SENT")

    # Sensitive values at rest, with history, sealed as the Records domain seals them.
    rt = runtime_of(own)
    try:
        hub_id = own.new_account()
        ids = sensitive_properties(rt, hub_id, ["passport_number", "health_note"])
        for value in stored:
            seed(rt, hub_id, ids, 1, value=value)
    finally:
        rt.close()

    responses: list[httpx.Response] = []
    remaining = list(sent)
    for scopes in SCOPE_SETS.values():
        app = own.new_app(scopes, hub_id=hub_id)
        responses += _drive(own, app.token, remaining[:30])
        remaining = remaining[30:]

    # Control plane: audit queries and export, key rotation and status.
    own.control("GET", f"/audit?property={remaining[0]}")
    assert own.admin.get(f"/localspot/v1/audit?action={remaining[1]}").status_code == 400
    own.control("POST", "/keys/rotate", json={})
    deadline = time.monotonic() + 60
    while own.control("GET", "/keys")["rotation"]["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    export = own.admin.get("/localspot/v1/audit?format=jsonl").text
    verify = own.admin.get("/localspot/v1/audit/verify").text

    time.sleep(0.3)  # let the server flush its last log lines
    assert leakcheck.scan_everywhere(own, stored + sent) == []
    # Stored values reach no response at all on this branch (no records API yet).
    bodies = "".join(r.text for r in responses) + export + verify
    assert leakcheck.scan_text("responses", bodies, stored) == []
    assert leakcheck.scan_text("audit export", export, sent) == []
    # The harness itself finds what it should: the server did see the sent canaries.
    assert leakcheck.scan_text("responses", bodies, sent), "harness found nothing at all"


def test_the_harness_finds_planted_canaries(own: LocalSpotServer) -> None:
    """A canary stored in plain text (a property label) is found in the raw store."""
    planted = leakcheck.canary("LABEL")
    app = own.new_app(all_scopes())
    body = {
        "name": "visible",
        "label": planted,
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
    }
    response = httpx.post(
        own.url + "/crm/v3/properties/contacts",
        json=body,
        headers={"Authorization": f"Bearer {app.token}"},
    )
    assert response.status_code == 201
    assert leakcheck.scan_store(own, [planted]) != []
    assert leakcheck.scan_log(own, [planted]) == []


def test_logged_exceptions_and_crashes_carry_no_text() -> None:
    secret = leakcheck.canary("EXC")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ls_log.JsonFormatter())
    logger = logging.getLogger("localspot.test.leak")
    logger.addHandler(handler)
    try:
        try:
            value = secret  # a local holding a value, as a frame would
            raise ValueError(f"bad value {value}")
        except ValueError:
            logger.exception("failed")
        root = logging.getLogger()
        saved = root.handlers[:]
        root.handlers[:] = [handler]
        try:
            thread = threading.Thread(target=_raise_with, args=(secret,))
            previous = threading.excepthook
            threading.excepthook = ls_log._uncaught_in_thread
            thread.start()
            thread.join()
            threading.excepthook = previous
        finally:
            root.handlers[:] = saved
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert '"exception":"ValueError"' in output and '"exception":"KeyError"' in output
    assert secret not in output


def _raise_with(secret: str) -> None:
    raise KeyError(secret)
