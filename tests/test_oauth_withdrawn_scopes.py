"""A sensitive scope withdrawn from a public app's installs stays withdrawn (SPEC §8.2).

Denying its review, or dropping it from the app, takes it out of every install's grant, out of
issued access tokens and out of codes not yet exchanged. Approving it again, or listing it
again, gives no install anything back: only a Super admin's new consent does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, insert, select, text

from localspot.scopes import all_scopes
from localspot.settings import Settings
from localspot.store import schema as s
from localspot.store.engine import _MIGRATIONS, Store
from localspot.testing import LocalSpotServer
from tests.conftest import POSTGRES_URL, STORE
from tests.oauth_helpers import (
    SENSITIVE_READ,
    PublicApp,
    bearer,
    exchange,
    install,
    new_public_app,
    new_user,
    refresh,
)
from tests.records_helpers import add_property

READ = "crm.objects.contacts.read"
# The migration that withdraws what older stores only hid, and the revision before it.
WITHDRAWING, BEFORE = "e2a05e9e16d5", "5b2e8c41d7f0"
PASSPORT = "P-WITHDRAWN-7731"


def _contact_with_passport(server: LocalSpotServer, hub_id: int) -> str:
    """A contact holding a sensitive value, written by a private app of the same account."""
    admin = server.new_app(all_scopes(), hub_id=hub_id)
    with bearer(server, admin.token) as api:
        add_property(api, "contacts", "contactinformation")
        created = api.post(
            "/crm/v3/objects/contacts", json={"properties": {"passport_number": PASSPORT}}
        )
        assert created.status_code == 201, created.text
    return f"/crm/v3/objects/contacts/{created.json()['id']}?properties=passport_number"


def _reads_passport(server: LocalSpotServer, token: str, path: str) -> bool:
    with bearer(server, token) as api:
        read = api.get(path)
    if read.status_code == 403:
        assert PASSPORT not in read.text
        return False
    assert read.status_code == 200, read.text
    return read.json()["properties"]["passport_number"] == PASSPORT


def _granted(server: LocalSpotServer, app: PublicApp) -> set[str]:
    (only,) = server.control("GET", f"/public-apps/{app.id}/installs")["results"]
    return set(only["scopes"])


def _withdraw(server: LocalSpotServer, app: PublicApp, how: str) -> None:
    if how == "denied review":
        server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/deny")
    else:
        server.control("PATCH", f"/public-apps/{app.id}", json={"requiredScopes": [READ]})


def _give_back(server: LocalSpotServer, app: PublicApp, how: str) -> None:
    if how == "denied review":
        server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/approve")
    else:
        listed = {"requiredScopes": [READ, SENSITIVE_READ]}
        server.control("PATCH", f"/public-apps/{app.id}", json=listed)


@pytest.mark.parametrize("how", ["denied review", "scope dropped from the app"])
def test_a_withdrawn_sensitive_scope_comes_back_only_with_new_consent(
    server: LocalSpotServer, how: str
) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    hub_id, email = new_user(server)
    path = _contact_with_passport(server, hub_id)
    tokens = exchange(server, app, install(server, app, email, [READ, SENSITIVE_READ])).json()
    assert _reads_passport(server, tokens["access_token"], path)
    # A consent given before the withdrawal, whose code is exchanged only after it.
    earlier_code = install(server, app, email, [READ, SENSITIVE_READ])

    _withdraw(server, app, how)
    assert _granted(server, app) == {READ}
    assert not _reads_passport(server, tokens["access_token"], path)

    _give_back(server, app, how)
    assert _granted(server, app) == {READ}
    assert not _reads_passport(server, tokens["access_token"], path)
    info = httpx.get(f"{server.url}/oauth/v1/access-tokens/{tokens['access_token']}").json()
    assert info["scopes"] == [READ]
    info = httpx.get(f"{server.url}/oauth/v1/refresh-tokens/{tokens['refresh_token']}").json()
    assert info["scopes"] == [READ]
    refreshed = refresh(server, app, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scopes"] == [READ]
    assert not _reads_passport(server, refreshed.json()["access_token"], path)
    asking = refresh(server, app, tokens["refresh_token"], scope=f"{READ} {SENSITIVE_READ}")
    assert asking.status_code == 400, asking.text
    late = exchange(server, app, earlier_code)
    assert late.status_code == 200, late.text
    assert late.json()["scopes"] == [READ]
    assert not _reads_passport(server, late.json()["access_token"], path)

    # A Super admin's new consent is what grants it again, to the install and its refreshes.
    again = exchange(server, app, install(server, app, email, [READ, SENSITIVE_READ])).json()
    assert _reads_passport(server, again["access_token"], path)
    assert _granted(server, app) == {READ, SENSITIVE_READ}
    refreshed = refresh(server, app, tokens["refresh_token"])
    assert set(refreshed.json()["scopes"]) == {READ, SENSITIVE_READ}


@pytest.fixture
def own_store_url(tmp_path: Path) -> Iterator[str]:
    """A store of the kind under test that no server uses."""
    if STORE == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    schema = f"localspot_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        yield Settings(database_url=url).sqlalchemy_url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _older_store_with_hidden_scopes(conn: Connection) -> dict[str, int]:
    """Rows as a store kept them before grants lost withdrawn scopes: the denied or unlisted
    sensitive scope is still in the install, its token and its code."""
    now = datetime.now(UTC)
    later = now + timedelta(minutes=10)
    conn.execute(insert(s.accounts).values(hub_id=901, name="A", tier="enterprise", created_at=now))
    user = conn.execute(
        insert(s.users).values(
            hub_id=901, email="a@example.test", role="super_admin", created_at=now
        )
    ).inserted_primary_key[0]
    dev = conn.execute(
        insert(s.developer_accounts).values(name="Dev", created_at=now)
    ).inserted_primary_key[0]
    ids: dict[str, int] = {}
    for name, listed, state in [
        ("denied", [READ, SENSITIVE_READ], "denied"),
        ("unlisted", [READ], "approved"),
        ("standing", [READ, SENSITIVE_READ], "approved"),
    ]:
        app = conn.execute(
            insert(s.public_apps).values(
                developer_id=dev,
                name=name,
                client_id=name,
                client_secret_hash="x",
                client_secret_hint="x",
                redirect_uris=[],
                required_scopes=listed,
                optional_scopes=[],
                webhook_settings={},
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(s.scope_reviews).values(
                app_id=app, scope=SENSITIVE_READ, state=state, requested_at=now
            )
        )
        granted = [READ, f"{SENSITIVE_READ}.v2"]
        install_id = conn.execute(
            insert(s.app_installs).values(
                app_id=app,
                hub_id=901,
                user_id=user,
                scopes=granted,
                installed_at=now,
                authorized_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(s.oauth_access_tokens).values(
                token_hash=f"t-{name}",
                install_id=install_id,
                scopes=granted,
                created_at=now,
                expires_at=later,
            )
        )
        conn.execute(
            insert(s.oauth_codes).values(
                code_hash=f"c-{name}",
                app_id=app,
                hub_id=901,
                user_id=user,
                redirect_uri="https://app.example.test/cb",
                scopes=granted,
                expires_at=later,
            )
        )
        ids[name] = int(app)
    return ids


def test_the_migration_withdraws_what_older_stores_only_hid(own_store_url: str) -> None:
    store = Store(own_store_url)
    try:
        store.migrate()
        with store.engine.begin() as conn:
            apps = _older_store_with_hidden_scopes(conn)
            conn.execute(text(f"UPDATE alembic_version SET version_num = '{BEFORE}'"))
        # Only the migration under test: later ones would change a schema already current.
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, WITHDRAWING)

        with store.engine.connect() as conn:
            for name, app_id in apps.items():
                install = select(s.app_installs.c.id).where(s.app_installs.c.app_id == app_id)
                tokens = s.oauth_access_tokens.c
                held = [
                    conn.scalar(
                        select(s.app_installs.c.scopes).where(s.app_installs.c.app_id == app_id)
                    ),
                    conn.scalar(select(tokens.scopes).where(tokens.install_id.in_(install))),
                    conn.scalar(
                        select(s.oauth_codes.c.scopes).where(s.oauth_codes.c.app_id == app_id)
                    ),
                ]
                kept = [READ, f"{SENSITIVE_READ}.v2"] if name == "standing" else [READ]
                assert held == [kept, kept, kept], name
    finally:
        store.dispose()
