"""Key rotation: under load, interrupted and resumed, from the CLI and the control plane."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.protection import Seeded, seed, sensitive_properties
from sqlalchemy import insert, select, update

from localspot.domain import keys
from localspot.protection import Keyring, ValueRef
from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.store.schema import record_history, record_values
from localspot.testing import LocalSpotServer
from tests.protection_support import fresh_database_url, own_server, runtime_of

CONTACTS = "0-1"


@pytest.fixture(scope="module")
def own() -> Iterator[LocalSpotServer]:
    with own_server() as server:
        yield server


def _seeded(rt: Runtime, server: LocalSpotServer | None, n_records: int) -> Seeded:
    hub_id = server.new_account() if server else _account(rt)
    ids = sensitive_properties(rt, hub_id, ["passport_number", "health_note"])
    return seed(rt, hub_id, ids, n_records)


def _account(rt: Runtime) -> int:
    from localspot.domain import admin

    return int(admin.create_account(rt, "rotation test", "enterprise", None)["hub_id"])


def _check_all(rt: Runtime, seeded: Seeded) -> int:
    """Every value and history entry of the seeded records opens; values match expectations."""
    names = {v: k for k, v in seeded.property_ids.items()}
    checked = 0
    with rt.store.read() as conn:
        for table in (record_values, record_history):
            rows = conn.execute(
                select(table.c.record_id, table.c.property_id, table.c.value_ct).where(
                    table.c.record_id.in_(seeded.record_ids)
                )
            )
            for record_id, property_id, sealed in rows:
                name = names[property_id]
                plain = rt.protector.open(
                    ValueRef(seeded.hub_id, CONTACTS, record_id, name), sealed
                )
                if table is record_values:
                    assert plain == seeded.expected[(record_id, name)]
                checked += 1
    return checked


def _wait_for(server: LocalSpotServer, done: object, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = server.control("GET", "/keys")
        if done(status):  # type: ignore[operator]
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


class Client(threading.Thread):
    """Writes and reads sensitive values as the Records domain would, during a rotation."""

    def __init__(self, rt: Runtime, seeded: Seeded) -> None:
        super().__init__(daemon=True)
        self.rt, self.seeded = rt, seeded
        self.stop = threading.Event()
        self.writes = self.reads = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _loop(self) -> None:
        rt, seeded = self.rt, self.seeded
        pairs = list(seeded.expected)
        rng = random.Random(7)
        while not self.stop.is_set():
            if self.writes % 20 == 0:
                keys.refresh(rt)  # as a server's background loop does every second
            record_id, name = rng.choice(pairs)
            ref = ValueRef(seeded.hub_id, CONTACTS, record_id, name)
            plain = f"W{self.writes}-{rng.random()}"
            property_id = seeded.property_ids[name]
            with rt.store.write() as conn:
                conn.execute(
                    update(record_values)
                    .where(
                        record_values.c.record_id == record_id,
                        record_values.c.property_id == property_id,
                    )
                    .values(value_ct=rt.protector.seal(ref, plain))
                )
                conn.execute(
                    insert(record_history).values(
                        record_id=record_id,
                        property_id=property_id,
                        value_ct=rt.protector.seal(ref, plain),
                        timestamp_ms=rt.clock.millis(),
                        source_type="API",
                    )
                )
            seeded.expected[(record_id, name)] = plain
            self.writes += 1
            record_id, name = rng.choice(pairs)
            with rt.store.read() as conn:
                sealed = conn.scalar(
                    select(record_values.c.value_ct).where(
                        record_values.c.record_id == record_id,
                        record_values.c.property_id == seeded.property_ids[name],
                    )
                )
            ref = ValueRef(seeded.hub_id, CONTACTS, record_id, name)
            assert rt.protector.open(ref, sealed) == seeded.expected[(record_id, name)]
            self.reads += 1


def test_rotation_under_load_loses_and_garbles_nothing(own: LocalSpotServer) -> None:
    rt = runtime_of(own)
    try:
        seeded = _seeded(rt, own, 3000)
        before = own.control("GET", "/keys")
        client = Client(rt, seeded)
        client.start()
        time.sleep(0.5)
        rotated = own.control("POST", "/keys/rotate", json={})
        new = rotated["primary"]
        assert new != before["primary"] and rotated["activePrimary"] == new
        status = _wait_for(own, lambda s: s["rotation"]["state"] == "done")
        time.sleep(0.5)
        client.stop.set()
        client.join(30)
        assert client.error is None, repr(client.error)
        assert client.writes > 20 and client.reads > 20

        assert status["valuesUnderOldKeys"] == 0, status
        assert {k["id"] for k in status["keys"]} == {before["primary"], new}
        keys.refresh(rt)
        assert _check_all(rt, seeded) >= 4 * 3000
        # Any value the client sealed under the old key after the sweep passed it is caught by
        # the next pass; after the client stopped, one more rotation leaves nothing behind.
        with rt.store.read() as conn:
            for table in (record_values, record_history):
                for (sealed,) in conn.execute(select(table.c.value_ct)):
                    assert rt.protector.key_id_of(sealed) == new
    finally:
        rt.close()


def test_rotation_under_api_load_serves_every_value_as_last_written(own: LocalSpotServer) -> None:
    """An app writing and reading through the Objects API while the server re-encrypts."""
    import httpx

    from localspot.scopes import all_scopes

    rt = runtime_of(own)
    try:
        seeded = _seeded(rt, own, 3000)
    finally:
        rt.close()
    app = own.new_app(all_scopes(), hub_id=seeded.hub_id)
    expected = {rid: seeded.expected[(rid, "passport_number")] for rid in seeded.record_ids}
    stop, problems, counts = threading.Event(), [], {"writes": 0, "reads": 0}

    def work() -> None:
        rng = random.Random(11)
        headers = {"Authorization": f"Bearer {app.token}"}
        with httpx.Client(base_url=own.url, headers=headers, timeout=30) as http:
            while not stop.is_set():
                record_id = rng.choice(seeded.record_ids)
                value = f"API{counts['writes']}-{rng.random()}"
                path = f"/crm/v3/objects/contacts/{record_id}"
                written = http.patch(path, json={"properties": {"passport_number": value}})
                if written.status_code != 200:
                    problems.append(written.text)
                    return
                expected[record_id] = value
                counts["writes"] += 1
                record_id = rng.choice(seeded.record_ids)
                read = http.get(
                    f"/crm/v3/objects/contacts/{record_id}",
                    params={"properties": "passport_number"},
                )
                got = read.json()["properties"]["passport_number"] if read.is_success else None
                if got != expected[record_id]:
                    problems.append(f"{record_id}: {read.status_code}")
                    return
                counts["reads"] += 1

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    time.sleep(0.5)
    own.control("POST", "/keys/rotate", json={})
    _wait_for(own, lambda s: s["rotation"]["state"] == "done")
    time.sleep(0.5)
    stop.set()
    worker.join(30)
    assert problems == []
    assert counts["writes"] > 20 and counts["reads"] > 20, counts

    headers = {"Authorization": f"Bearer {app.token}"}
    with httpx.Client(base_url=own.url, headers=headers, timeout=30) as http:
        for start in range(0, len(seeded.record_ids), 100):
            chunk = seeded.record_ids[start : start + 100]
            read = http.post(
                "/crm/v3/objects/contacts/batch/read",
                json={"inputs": [{"id": str(i)} for i in chunk], "properties": ["passport_number"]},
            )
            assert read.status_code == 200, read.text
            got = {int(r["id"]): r["properties"]["passport_number"] for r in read.json()["results"]}
            assert got == {i: expected[i] for i in chunk}


def test_an_interrupted_rotation_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database_url() as url:
        settings = Settings(
            data_dir=tmp_path, database_url=url, rotation_batch=500, rotation_settle_seconds=0
        )
        rt = Runtime.open(settings)
        seeded = _seeded(rt, None, 1000)  # 4000 sealed values
        keys.rotate(rt)
        real = keys._compare_and_set
        calls = []

        def crash_on_third(*args: object) -> None:
            calls.append(1)
            real(*args)  # type: ignore[arg-type]
            if len(calls) == 3:
                raise RuntimeError("power cut")

        monkeypatch.setattr(keys, "_compare_and_set", crash_on_third)
        with pytest.raises(RuntimeError, match="power cut"):
            keys.run(rt)
        rt.close()
        monkeypatch.setattr(keys, "_compare_and_set", real)

        restarted = Runtime.open(settings)
        try:
            status = keys.status(restarted)
            assert status["rotation"]["state"] == "running"
            assert status["rotation"]["resealed"] == 1000  # two committed batches
            assert status["valuesUnderOldKeys"] == 3000  # the third batch rolled back
            progress = keys.run(restarted)
            assert progress.done and progress.resealed == 3000
            status = keys.status(restarted)
            assert status["valuesUnderOldKeys"] == 0 and status["rotation"]["resealed"] == 4000
            assert _check_all(restarted, seeded) == 4000
        finally:
            restarted.close()


def _cli(data_dir: Path, url: str, *args: str, env: dict | None = None):
    environment = {**os.environ, "LOCALSPOT_DATABASE_URL": url, **(env or {})}
    if env is None:
        environment.pop("LOCALSPOT_KEYRING", None)
    command = [sys.executable, "-m", "localspot", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)


def test_cli_rotation_is_followed_by_the_running_server_and_can_retire(
    own: LocalSpotServer,
) -> None:
    rt = runtime_of(own)
    try:
        seeded = _seeded(rt, own, 200)
    finally:
        rt.close()
    before = own.control("GET", "/keys")
    done = _cli(own.data_dir, own.database_url, "keys", "rotate", "--retire")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["primary"] != before["primary"]
    assert printed["valuesUnderOldKeys"] == 0
    assert [k["id"] for k in printed["keys"]] == [printed["primary"]]
    assert before["primary"] in printed["retired"]

    status = _wait_for(own, lambda s: s["activePrimary"] == printed["primary"], timeout=10)
    assert status["primary"] == printed["primary"]
    rt = runtime_of(own)
    try:
        assert _check_all(rt, seeded) == 4 * 200
    finally:
        rt.close()


def test_control_plane_retire_keeps_keys_that_still_hold_values(own: LocalSpotServer) -> None:
    rotated = own.control("POST", "/keys/rotate", json={"retire": False})
    _wait_for(own, lambda s: s["rotation"]["state"] == "done")
    retired = own.control("POST", "/keys/retire")
    assert retired["primary"] == rotated["primary"]
    assert [k["id"] for k in retired["keys"]] == [rotated["primary"]]
    assert retired["retired"]


def test_rotate_index_is_not_there_yet() -> None:
    command = [sys.executable, "-m", "localspot", "keys", "rotate-index"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "not implemented" in done.stderr


def test_environment_keyring_rotation_prints_the_new_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database_url() as url:
        ring = Keyring.generate()
        env = {"LOCALSPOT_KEYRING": ring.to_json(indent=None)}
        assert _cli(tmp_path, url, "keys", "status", env=env).returncode == 0
        monkeypatch.setenv("LOCALSPOT_KEYRING", env["LOCALSPOT_KEYRING"])
        rt = Runtime.open(Settings(data_dir=tmp_path, database_url=url))
        try:
            seeded = _seeded(rt, None, 50)
        finally:
            rt.close()

        done = _cli(tmp_path, url, "keys", "rotate", env=env)
        assert done.returncode == 0, done.stderr
        assert "LOCALSPOT_KEYRING" in done.stderr
        new = Keyring.from_json(done.stdout)
        assert new.primary != ring.primary and ring.primary in new.keys
        assert not (tmp_path / "keys.json").exists()
        status = json.loads(_cli(tmp_path, url, "keys", "status", env=env).stdout)
        assert status["primary"] == ring.primary  # nothing changed until deployed

        # A process started with the new keyring promotes it; re-encryption follows.
        new_env = {"LOCALSPOT_KEYRING": new.to_json(indent=None)}
        status = json.loads(_cli(tmp_path, url, "keys", "status", env=new_env).stdout)
        assert status["primary"] == new.primary and status["rotation"]["state"] == "running"
        assert status["source"] == "environment"
        # The old keyring is now refused at start, loudly.
        stale = _cli(tmp_path, url, "keys", "status", env=env)
        assert stale.returncode == 2 and "does not open this store" in stale.stderr

        monkeypatch.setenv("LOCALSPOT_KEYRING", new.to_json(indent=None))
        rt = Runtime.open(Settings(data_dir=tmp_path, database_url=url))
        try:
            assert keys.run(rt).done
            assert keys.status(rt)["valuesUnderOldKeys"] == 0
            assert _check_all(rt, seeded) == 4 * 50
        finally:
            rt.close()


def test_control_plane_rotation_refuses_environment_keyrings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCALSPOT_KEYRING", Keyring.generate().to_json(indent=None))
    with own_server() as server:
        response = server.admin.post("/localspot/v1/keys/rotate", json={})
        assert response.status_code == 409
        assert "localspot keys rotate" in response.json()["message"]
        assert server.control("GET", "/keys")["source"] == "environment"
