"""The control plane's operations (SPEC Part C): what a portal's settings UI does in HubSpot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localspot import scopes as sc
from localspot.domain import account_reset, accounts, maintenance
from localspot.errors import validation_error
from localspot.runtime import Runtime

DEMO_ACCOUNT_NAME = "LocalSpot Demo"
DEMO_ADMIN_EMAIL = "admin@localspot.test"
LATEST_CLOCK_TIME = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Bootstrap:
    """What the first start on an empty store made; secrets are shown once."""

    hub_id: int
    token: str
    admin_key: str
    app_id: int


def bootstrap_if_empty(rt: Runtime) -> Bootstrap | None:
    """On an empty store: a demo Enterprise account, its Super admin and an all-scopes app."""
    settings = rt.settings
    with rt.store.write() as conn:
        if accounts.count_accounts(conn) > 0:
            if settings.admin_key and not accounts.check_admin_key(conn, settings.admin_key):
                accounts.set_admin_key(conn, settings.admin_key)
            return None
        now = rt.clock.now()
        account = accounts.create_account(conn, now, DEMO_ACCOUNT_NAME, "enterprise")
        accounts.create_user(conn, now, account["hub_id"], DEMO_ADMIN_EMAIL, "super_admin")
        app, token = accounts.create_private_app(
            conn,
            now,
            account["hub_id"],
            "LocalSpot demo app",
            sc.all_scopes(),
            token=settings.demo_token or None,
        )
        admin_key = settings.admin_key or accounts.new_admin_key()
        accounts.set_admin_key(conn, admin_key)
    return Bootstrap(hub_id=account["hub_id"], token=token, admin_key=admin_key, app_id=app["id"])


def check_admin_key(rt: Runtime, key: str) -> bool:
    with rt.store.read() as conn:
        return accounts.check_admin_key(conn, key)


def create_account(rt: Runtime, name: str, tier: str, hub_id: int | None) -> dict[str, Any]:
    with rt.store.write() as conn:
        return accounts.create_account(conn, rt.clock.now(), name, tier, hub_id)


def list_accounts(rt: Runtime) -> list[dict[str, Any]]:
    with rt.store.read() as conn:
        return accounts.list_accounts(conn)


def get_account(rt: Runtime, hub_id: int) -> dict[str, Any]:
    with rt.store.read() as conn:
        return accounts.get_account(conn, hub_id)


def update_account(rt: Runtime, hub_id: int, name: str | None, tier: str | None) -> dict[str, Any]:
    with rt.store.write() as conn:
        return accounts.update_account(conn, hub_id, name, tier)


def reset_account(rt: Runtime, hub_id: int) -> None:
    """Deletes the account's CRM data and keeps its users, apps and tokens (account_reset)."""
    with rt.store.write() as conn:
        account_reset.reset(conn, hub_id, rt.clock.millis())


def create_user(
    rt: Runtime, hub_id: int, email: str, role: str, password: str | None = None
) -> dict[str, Any]:
    with rt.store.write() as conn:
        return accounts.create_user(conn, rt.clock.now(), hub_id, email, role, password)


def list_users(rt: Runtime, hub_id: int) -> list[dict[str, Any]]:
    with rt.store.read() as conn:
        accounts.get_account(conn, hub_id)
        return accounts.list_users(conn, hub_id)


def create_private_app(
    rt: Runtime, hub_id: int, name: str, scopes: list[str]
) -> tuple[dict[str, Any], str]:
    with rt.store.write() as conn:
        return accounts.create_private_app(conn, rt.clock.now(), hub_id, name, scopes)


def list_private_apps(rt: Runtime, hub_id: int) -> list[dict[str, Any]]:
    with rt.store.read() as conn:
        accounts.get_account(conn, hub_id)
        return accounts.list_private_apps(conn, hub_id)


def get_private_app(rt: Runtime, app_id: int) -> dict[str, Any]:
    with rt.store.read() as conn:
        return accounts.get_private_app(conn, app_id)


def set_private_app_scopes(rt: Runtime, app_id: int, scopes: list[str]) -> dict[str, Any]:
    with rt.store.write() as conn:
        return accounts.set_private_app_scopes(conn, rt.clock.now(), app_id, scopes)


def rotate_private_app_token(rt: Runtime, app_id: int) -> str:
    with rt.store.write() as conn:
        return accounts.rotate_private_app_token(conn, rt.clock.now(), app_id)


def advance_clock(rt: Runtime, seconds: float) -> float:
    """Moves the shared clock forward and runs what became due; returns the new offset."""
    with rt.store.write() as conn:
        stored = accounts.clock_offset(conn)
        offset = stored + seconds
        # Past this the server could no longer tell the time (datetimes end in 9999).
        if rt.clock.time() - rt.clock.offset + offset > LATEST_CLOCK_TIME:
            raise validation_error("The clock cannot move past the year 9000.")
        accounts.set_clock_offset(conn, offset)
    rt.clock.set_offset(offset)
    maintenance.purge(rt)
    return offset


def reset_clock(rt: Runtime) -> None:
    with rt.store.write() as conn:
        accounts.set_clock_offset(conn, 0.0)
    rt.clock.set_offset(0.0)
