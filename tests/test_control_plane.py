"""LocalSpot's own surface (SPEC Part C): the control plane over HTTP, and the CLI."""

from __future__ import annotations

import json
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localspot.testing import LocalSpotServer
from tests.conftest import Serve, clean_env

CONTROL = "/localspot/v1"


def admin_error(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["category"]) == ("error", category)
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    return body


# Admin key ------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/accounts"),
    ("POST", "/accounts"),
    ("GET", "/accounts/1"),
    ("PATCH", "/accounts/1"),
    ("GET", "/accounts/1/users"),
    ("POST", "/accounts/1/users"),
    ("GET", "/accounts/1/private-apps"),
    ("POST", "/accounts/1/private-apps"),
    ("GET", "/private-apps/1"),
    ("PATCH", "/private-apps/1"),
    ("POST", "/private-apps/1/rotate-token"),
    ("GET", "/clock"),
    ("POST", "/clock/advance"),
    ("POST", "/clock/reset"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_control_plane_needs_the_admin_key(
    server: LocalSpotServer, full_app: Any, method: str, path: str
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer lsadm-wrong"},
        {"Authorization": f"Bearer {full_app.token}"},  # an API token is no admin key
        {"Authorization": f"Basic {server.admin_key}"},
    ):
        response = httpx.request(method, server.url + CONTROL + path, headers=headers, json={})
        admin_error(response, 401, "INVALID_AUTHENTICATION")


# Accounts, users, apps ------------------------------------------------------------------


def test_accounts(server: LocalSpotServer) -> None:
    admin = server.admin
    made = admin.post(f"{CONTROL}/accounts", json={"name": "Acme", "tier": "professional"})
    assert made.status_code == 201
    hub_id = made.json()["hubId"]
    assert made.json()["tier"] == "professional"
    assert admin.get(f"{CONTROL}/accounts/{hub_id}").json()["name"] == "Acme"
    assert hub_id in {a["hubId"] for a in admin.get(f"{CONTROL}/accounts").json()["results"]}

    changed = admin.patch(f"{CONTROL}/accounts/{hub_id}", json={"tier": "enterprise"})
    assert changed.json()["tier"] == "enterprise"
    admin_error(
        admin.patch(f"{CONTROL}/accounts/{hub_id}", json={"tier": "gold"}), 400, "VALIDATION_ERROR"
    )
    admin_error(admin.post(f"{CONTROL}/accounts", json={"tier": "gold"}), 400, "VALIDATION_ERROR")

    # Generated hub ids stay below 10^8, so this one is free whatever ran before.
    chosen = 10**9 + secrets.randbelow(10**9)
    assert admin.post(f"{CONTROL}/accounts", json={"hubId": chosen}).json()["hubId"] == chosen
    admin_error(admin.post(f"{CONTROL}/accounts", json={"hubId": chosen}), 409, "CONFLICT")
    admin_error(admin.get(f"{CONTROL}/accounts/12"), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # Regressions: each of these answered 500.
        ("GET", "/accounts/%C2%B2", None),  # "²" passes str.isdigit() but not int()
        ("GET", "/accounts/99999999999999999999999", None),
        ("GET", "/private-apps/%D9%A3", None),
        ("POST", "/accounts", {"hubId": 2**63 + 1}),
        ("POST", "/accounts", {"name": "x" * 201}),
        ("POST", "/accounts", {"name": "NUL \u0000"}),
        ("POST", "/clock/advance", {"days": 1e12}),
        ("POST", "/clock/advance", {"seconds": 1e300}),
        # And the ordinary refusals.
        ("POST", "/clock/advance", {"days": -1}),
        ("POST", "/clock/advance", {"minutes": 5}),
        ("POST", "/accounts", {"tier": "enterprise", "region": "eu"}),
        ("GET", "/accounts/abc", None),
    ],
)
def test_bad_control_requests_are_400(
    server: LocalSpotServer, method: str, path: str, body: Any
) -> None:
    response = server.admin.request(method, CONTROL + path, json=body)
    admin_error(response, 400, "VALIDATION_ERROR")
    assert server.admin.get(f"{CONTROL}/clock").status_code == 200


def test_users(server: LocalSpotServer) -> None:
    hub_id = server.new_account()
    users = f"{CONTROL}/accounts/{hub_id}/users"
    made = server.admin.post(users, json={"email": "Ana@Example.org", "role": "super_admin"})
    assert made.status_code == 201
    assert (made.json()["email"], made.json()["role"]) == ("ana@example.org", "super_admin")
    admin_error(server.admin.post(users, json={"email": "ana@example.org"}), 409, "CONFLICT")
    admin_error(
        server.admin.post(users, json={"email": "b@x.org", "role": "owner"}),
        400,
        "VALIDATION_ERROR",
    )
    admin_error(server.admin.post(users, json={"email": "nobody"}), 400, "VALIDATION_ERROR")
    admin_error(
        server.admin.post(users, json={"email": "a" * 400 + "@x.org"}), 400, "VALIDATION_ERROR"
    )
    listed = server.admin.get(users).json()["results"]
    assert [u["email"] for u in listed] == ["ana@example.org"]
    assert "password_hash" not in listed[0] and "passwordHash" not in listed[0]


def test_private_apps(server: LocalSpotServer) -> None:
    hub_id = server.new_account()
    apps = f"{CONTROL}/accounts/{hub_id}/private-apps"
    made = server.admin.post(apps, json={"name": "Sync", "scopes": ["crm.schemas.contacts.read"]})
    assert made.status_code == 201
    app = made.json()
    token = app["accessToken"]
    assert re.fullmatch(r"pat-na1-[0-9a-f-]{36}", token)
    assert app["tokenHint"] == "…" + token[-4:]

    shown = server.admin.get(f"{CONTROL}/private-apps/{app['id']}").json()
    assert "accessToken" not in shown and token not in json.dumps(shown)
    assert [a["id"] for a in server.admin.get(apps).json()["results"]] == [app["id"]]

    edited = server.admin.patch(
        f"{CONTROL}/private-apps/{app['id']}", json={"scopes": ["tickets", "tickets.sensitive.v2"]}
    )
    assert edited.json()["scopes"] == ["tickets", "tickets.sensitive.v2"]
    admin_error(
        server.admin.patch(
            f"{CONTROL}/private-apps/{app['id']}", json={"scopes": ["crm.everything"]}
        ),
        400,
        "VALIDATION_ERROR",
    )
    admin_error(server.admin.get(f"{CONTROL}/private-apps/999999999"), 404, "OBJECT_NOT_FOUND")

    rotated = server.admin.post(f"{CONTROL}/private-apps/{app['id']}/rotate-token").json()
    assert rotated["accessToken"] != token
    read = httpx.get(
        server.url + "/crm/v3/properties/tickets",
        headers={"Authorization": f"Bearer {rotated['accessToken']}"},
    )
    assert read.status_code == 200


def test_clock(server: LocalSpotServer) -> None:
    before = server.control("GET", "/clock")
    after = server.control("POST", "/clock/advance", json={"seconds": 3600})
    assert after["offsetSeconds"] == pytest.approx(before["offsetSeconds"] + 3600)
    assert after["now"] > before["now"]


# CLI ------------------------------------------------------------------------------------


def cli(data_dir: Path, *args: str, ok: bool = True) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "localspot", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    if not ok:
        assert done.returncode != 0
        return done.stderr
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_says_when_it_makes_a_new_store(tmp_path: Path) -> None:
    """A forgotten or mistyped --data-dir would otherwise answer from an empty store."""
    folder = tmp_path / "new"
    command = [sys.executable, "-m", "localspot", "accounts", "list", "--data-dir", str(folder)]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=60)

    first, second = run(), run()
    assert first.returncode == second.returncode == 0
    assert f"no store in {folder.resolve()}; making a new one" in first.stderr
    assert "no store" not in second.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # no one else may read the store


def test_cli_manages_accounts_apps_and_clock(tmp_path: Path) -> None:
    made = cli(tmp_path, "accounts", "create", "--name", "Clinic", "--tier", "professional")
    hub_id = str(made["hubId"])
    assert made["tier"] == "professional"
    assert [a["name"] for a in cli(tmp_path, "accounts", "list")] == ["Clinic"]

    error = cli(
        tmp_path,
        "apps",
        "create",
        hub_id,
        "--scope",
        "crm.objects.contacts.sensitive.read",
        ok=False,
    )
    assert "Enterprise" in error
    assert cli(tmp_path, "accounts", "set-tier", hub_id, "enterprise")["tier"] == "enterprise"
    assert "tier must be one of" in cli(tmp_path, "accounts", "set-tier", hub_id, "gold", ok=False)

    user = cli(tmp_path, "accounts", "add-user", hub_id, "doc@clinic.test", "--role", "admin")
    assert user["role"] == "admin"

    app = cli(
        tmp_path,
        "apps",
        "create",
        hub_id,
        "--name",
        "Intake",
        "--scope",
        "crm.schemas.contacts.write",
        "--scope",
        "crm.objects.contacts.sensitive.write.v2",
    )
    assert app["accessToken"].startswith("pat-na1-")
    listed = cli(tmp_path, "apps", "list", hub_id)
    assert listed == [{"id": app["id"], "name": "Intake", "scopes": app["scopes"]}]
    app_id = str(app["id"])
    scoped = cli(tmp_path, "apps", "set-scopes", app_id, "--scope", "crm.schemas.contacts.read")
    assert scoped["scopes"] == ["crm.schemas.contacts.read"]
    rotated = cli(tmp_path, "apps", "rotate-token", app_id)
    assert rotated["accessToken"] != app["accessToken"]
    assert "No private app" in cli(tmp_path, "apps", "rotate-token", "424242", ok=False)

    shown = cli(tmp_path, "clock", "show")
    advanced = cli(tmp_path, "clock", "advance", "--days", "2")
    assert advanced["offsetSeconds"] == pytest.approx(shown["offsetSeconds"] + 2 * 86_400)
    assert "only moves forward" in cli(tmp_path, "clock", "advance", "--days", "-1", ok=False)
    # Regression: an offset past the year 9999 was stored, and the store then could not tell
    # the time any more.
    assert "9000" in cli(tmp_path, "clock", "advance", "--days", "3000000", ok=False)
    assert cli(tmp_path, "clock", "show")["offsetSeconds"] == advanced["offsetSeconds"]


@pytest.fixture
def serve() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for process in started:
        process.stop()


def test_an_ephemeral_store_is_gone_once_sigterm_stopped_the_server(tmp_path: Path) -> None:
    """Its folder holds the keys that open every sealed value."""
    running = Serve("--ephemeral", env={"TMPDIR": str(tmp_path)})
    try:
        printed = running.read_banner()
        assert printed.keys() == {"hub id", "access token", "admin key", "store"}
        running.wait_until_listening()
        [store] = tmp_path.iterdir()
        assert (store / "keys.json").exists()
        # The banner tells where it is, so that the CLI can reach it.
        assert printed["store"] == f"{store.resolve()} (removed at exit)"
        [account] = cli(store, "accounts", "list")
        assert account["hubId"] == int(printed["hub id"])
    finally:
        running.process.terminate()  # SIGTERM, as a service manager stops it
        assert running.process.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_serve_ephemeral_prints_a_working_token(serve: list[Serve]) -> None:
    running = Serve("--ephemeral")
    serve.append(running)
    printed = running.read_banner()
    assert printed.keys() == {"hub id", "access token", "admin key", "store"}
    running.wait_until_listening()
    headers = {"Authorization": f"Bearer {printed['access token']}"}
    listed = httpx.get(running.url + "/crm/v3/properties/contacts", headers=headers)
    assert listed.status_code == 200
    assert "email" in {p["name"] for p in listed.json()["results"]}
    created = httpx.post(
        running.url + "/crm/v3/properties/contacts",
        headers=headers,
        json={
            "name": "passport_number",
            "label": "Passport Number",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "dataSensitivity": "sensitive",
        },
    )
    assert created.status_code == 201, created.text
    control = {"Authorization": f"Bearer {printed['admin key']}"}
    accounts = httpx.get(running.url + "/localspot/v1/accounts", headers=control).json()
    assert [a["hubId"] for a in accounts["results"]] == [int(printed["hub id"])]


def test_serve_uses_the_store_the_cli_manages(tmp_path: Path, serve: list[Serve]) -> None:
    first = Serve("--data-dir", str(tmp_path))
    serve.append(first)
    printed = first.read_banner()
    assert (tmp_path / "credentials.json").exists()
    first.wait_until_listening()
    first.stop()

    hub_id = str(cli(tmp_path, "accounts", "create", "--tier", "enterprise")["hubId"])
    token = cli(tmp_path, "apps", "create", hub_id, "--scope", "tickets")["accessToken"]

    second = Serve("--data-dir", str(tmp_path))
    serve.append(second)
    assert second.read_banner()["access token"] == printed["access token"]
    second.wait_until_listening()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(second.url + "/crm/v3/properties/tickets", headers=headers).status_code == 200
    refused = httpx.get(second.url + "/crm/v3/properties/contacts", headers=headers)
    assert refused.status_code == 403


def test_a_running_server_sees_cli_changes_at_once(
    server: LocalSpotServer, serve: list[Serve]
) -> None:
    """The server keeps who a token is and the definitions it read while nothing commits; a
    commit by another process (the CLI here) must end that at once, as the guide promises for
    scope edits. On SQLite "at once" is exact: the server's next request asks the database's
    data version. On PostgreSQL the server hears of the commit as a notification, which may
    land a moment after the CLI has returned (README: what the store remembers), so the check
    polls for a bounded time there."""
    store = ["--database-url", server.database_url] if server.database_url else []
    running = Serve("--data-dir", str(server.data_dir), *store)
    serve.append(running)
    running.wait_until_listening()

    def run(*args: str) -> Any:
        return cli(server.data_dir, *args, *store)

    hub_id = str(run("accounts", "create", "--tier", "enterprise")["hubId"])
    app = run("apps", "create", hub_id, "--scope", "crm.schemas.contacts.read")
    app_id = str(app["id"])
    settle = 5.0 if server.database_url else 0.0

    def read(token: str, expected: int) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        url = running.url + "/crm/v3/properties/contacts/email"
        deadline = time.monotonic() + settle
        while True:
            for _ in range(3):  # the second and third answer from what the server kept
                status = httpx.get(url, headers=headers).status_code
            if status == expected or time.monotonic() >= deadline:
                return status
            time.sleep(0.01)

    assert read(app["accessToken"], 200) == 200
    run("apps", "set-scopes", app_id, "--scope", "tickets")
    assert read(app["accessToken"], 403) == 403
    run("apps", "set-scopes", app_id, "--scope", "crm.objects.contacts.read")
    assert read(app["accessToken"], 200) == 200
    rotated = run("apps", "rotate-token", app_id)["accessToken"]
    assert read(app["accessToken"], 401) == 401
    assert read(rotated, 200) == 200
