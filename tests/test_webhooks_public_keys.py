"""A key rotation reseals the client secrets public apps sign webhooks with, so retiring the old
key leaves them readable."""

from __future__ import annotations

import time

from sqlalchemy import select

from localspot.domain import public_apps
from localspot.store.schema import public_apps as apps_table
from tests.oauth_helpers import new_public_app
from tests.protection_support import own_server, runtime_of
from tests.public_webhook_helpers import READ


def test_rotation_and_retire_keep_public_app_secrets_readable() -> None:
    with own_server() as server:
        app = new_public_app(server, [READ])
        before = server.control("GET", "/keys")
        assert before["sealedValues"] >= 1  # the client secret counts as a sealed value

        rotated = server.control("POST", "/keys/rotate", json={"retire": False})
        deadline = time.monotonic() + 60
        while server.control("GET", "/keys")["rotation"]["state"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        retired = server.control("POST", "/keys/retire")
        assert before["primary"] in retired["retired"]
        assert [k["id"] for k in retired["keys"]] == [rotated["primary"]]

        rt = runtime_of(server)
        try:
            with rt.store.read() as conn:
                opened = public_apps.signing_secret(conn, rt.protector, app.id)
                sealed = conn.scalar(
                    select(apps_table.c.client_secret_ct).where(apps_table.c.id == app.id)
                )
        finally:
            rt.close()
        assert opened == app.client_secret
        assert rt.protector.key_id_of(bytes(sealed)) == rotated["primary"]
