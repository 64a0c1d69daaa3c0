"""The ``localspot`` command: start the server and manage accounts, apps and the clock."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn

from localspot import log, webhooks_cli
from localspot.app import create_app
from localspot.cli_common import DatabaseUrl, DataDir, settings_for
from localspot.cli_common import echo as _echo
from localspot.cli_common import open_runtime as _runtime
from localspot.cli_developer import developer_cli
from localspot.cli_forms import forms_cli
from localspot.cli_protection import audit_cli, keys_cli
from localspot.clock import iso
from localspot.domain import admin
from localspot.errors import HubSpotError
from localspot.protection import KeyringError
from localspot.runtime import Runtime
from localspot.serving import http_protocol
from localspot.settings import Settings

# No locals in crash output: a frame's locals may hold a sensitive value or a key.
cli = typer.Typer(
    no_args_is_help=True,
    help="LocalSpot: HubSpot's CRM API with Sensitive Data.",
    pretty_exceptions_show_locals=False,
)
accounts_cli = typer.Typer(no_args_is_help=True, help="Accounts (portals) and their users.")
apps_cli = typer.Typer(no_args_is_help=True, help="Private apps, their scopes and tokens.")
clock_cli = typer.Typer(no_args_is_help=True, help="The server clock.")
cli.add_typer(accounts_cli, name="accounts")
cli.add_typer(apps_cli, name="apps")
cli.add_typer(clock_cli, name="clock")
cli.add_typer(developer_cli, name="developer")
webhooks_cli.register(cli)
cli.add_typer(forms_cli, name="forms")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(audit_cli, name="audit")

CREDENTIALS_FILE = "credentials.json"


def _fail(exc: HubSpotError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(1)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    ephemeral: Annotated[
        bool, typer.Option("--ephemeral", help="Keep everything in a temporary store.")
    ] = False,
) -> None:
    """Start the server; the first start on an empty store creates a demo account."""
    settings = settings_for(data_dir, database_url, host=host, port=port)
    log.configure(settings.log_level)
    scratch = None
    if ephemeral or settings.ephemeral:
        scratch = Path(tempfile.mkdtemp(prefix="localspot-"))
        settings = settings.model_copy(update={"data_dir": scratch, "database_url": ""})
    runtime = Runtime.open(settings)
    try:
        made = admin.bootstrap_if_empty(runtime)
        _banner(settings, made, remember=scratch is None and not settings.database_url)
        # uvicorn shuts down gracefully on SIGTERM, then raises it again for the handler it
        # found: SIGTERM's default would end the process before the cleanup below (leaving an
        # ephemeral store, keys included, on disk).
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        # What start-up made (modules, table metadata, the runtime) lives as long as the
        # process; frozen, full collections stop walking it again and again: they cost a
        # request answered from memory some 5 us, a twentieth, before.
        gc.collect()
        gc.freeze()
        uvicorn.run(
            create_app(runtime),
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_config=None,
            # Nothing reads a client's address or scheme (links come from public_url), and
            # this layer would look through every request's headers for forwarded ones.
            proxy_headers=False,
            http=http_protocol(settings.head_timeout_seconds),
        )
    finally:
        runtime.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _banner(settings: Settings, made: admin.Bootstrap | None, remember: bool) -> None:
    """Prints how to reach the server; the demo credentials are kept beside a SQLite store."""
    saved = settings.data_dir / CREDENTIALS_FILE
    creds: dict[str, Any] | None = None
    if made is not None:
        creds = {
            "hubId": made.hub_id,
            "appId": made.app_id,
            "accessToken": made.token,
            "adminKey": made.admin_key,
        }
        if remember:
            saved.write_text(json.dumps(creds, indent=2))
            os.chmod(saved, 0o600)
    elif saved.exists():
        creds = json.loads(saved.read_text())
    typer.echo(f"LocalSpot listening on {settings.base_url}")
    if not settings.database_url:
        # The CLI works on ./localspot-data unless told otherwise: an ephemeral store's folder
        # is the one thing a user could not find out.
        where = settings.data_dir.resolve()
        typer.echo(f"  store:         {where}{'' if remember else ' (removed at exit)'}")
        typer.echo(f"  cli:           localspot ... --data-dir {where}")
    if creds:
        typer.echo(f"  hub id:        {creds['hubId']}")
        typer.echo(f"  access token:  {creds['accessToken']}")
        if "appId" in creds:
            typer.echo(
                f"  private app:   {creds['appId']} (webhook settings: /webhooks/v3/<app id>)"
            )
        typer.echo(f"  admin key:     {creds['adminKey']}")
        typer.echo(
            f"  try: export HUBSPOT_BASE_URL={settings.base_url} "
            f"HUBSPOT_ACCESS_TOKEN={creds['accessToken']}"
        )
    else:
        typer.echo("  existing store: use the tokens you made for it (localspot apps --help)")


@accounts_cli.command("list")
def accounts_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    rt = _runtime(data_dir, database_url)
    _echo(
        [
            {"hubId": a["hub_id"], "name": a["name"], "tier": a["tier"]}
            for a in admin.list_accounts(rt)
        ]
    )


@accounts_cli.command("create")
def accounts_create(
    name: Annotated[str, typer.Option()] = "LocalSpot account",
    tier: Annotated[str, typer.Option(help="free, starter, professional or enterprise")] = (
        "enterprise"
    ),
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    rt = _runtime(data_dir, database_url)
    try:
        row = admin.create_account(rt, name, tier, None)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"hubId": row["hub_id"], "name": row["name"], "tier": row["tier"]})


@accounts_cli.command("set-tier")
def accounts_set_tier(
    hub_id: int, tier: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    rt = _runtime(data_dir, database_url)
    try:
        row = admin.update_account(rt, hub_id, None, tier)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"hubId": row["hub_id"], "tier": row["tier"]})


@accounts_cli.command("reset")
def accounts_reset(hub_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete the account's records, custom objects and custom properties; keep its users,
    apps, tokens and webhook subscriptions."""
    rt = _runtime(data_dir, database_url)
    try:
        admin.reset_account(rt, hub_id)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"hubId": hub_id, "reset": True})


@accounts_cli.command("add-user")
def accounts_add_user(
    hub_id: int,
    email: str,
    role: Annotated[str, typer.Option(help="super_admin, admin or user")] = "user",
    password: Annotated[
        str | None, typer.Option(help="Lets the user sign in to approve OAuth installs.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    rt = _runtime(data_dir, database_url)
    try:
        row = admin.create_user(rt, hub_id, email, role, password)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"id": row["id"], "email": row["email"], "role": row["role"]})


Scopes = Annotated[list[str], typer.Option("--scope", help="A scope; repeat for several.")]


@apps_cli.command("create")
def apps_create(
    hub_id: int,
    name: Annotated[str, typer.Option()] = "Private app",
    scope: Scopes = [],  # noqa: B006 - typer reads the default, never mutates it
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a private app; prints its access token once."""
    rt = _runtime(data_dir, database_url)
    try:
        row, token = admin.create_private_app(rt, hub_id, name, scope)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"id": row["id"], "scopes": row["scopes"], "accessToken": token})


@apps_cli.command("list")
def apps_list(hub_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    rt = _runtime(data_dir, database_url)
    _echo(
        [
            {"id": a["id"], "name": a["name"], "scopes": a["scopes"]}
            for a in admin.list_private_apps(rt, hub_id)
        ]
    )


@apps_cli.command("set-scopes")
def apps_set_scopes(
    app_id: int,
    scope: Scopes = [],  # noqa: B006
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Replace an app's scopes; its existing token gets them at once."""
    rt = _runtime(data_dir, database_url)
    try:
        row = admin.set_private_app_scopes(rt, app_id, scope)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"id": row["id"], "scopes": row["scopes"]})


@apps_cli.command("rotate-token")
def apps_rotate_token(
    app_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    rt = _runtime(data_dir, database_url)
    try:
        token = admin.rotate_private_app_token(rt, app_id)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"id": app_id, "accessToken": token})


@clock_cli.command("show")
def clock_show(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    rt = _runtime(data_dir, database_url)
    _echo({"now": iso(rt.clock.now()), "offsetSeconds": rt.clock.offset})


@clock_cli.command("advance")
def clock_advance(
    days: Annotated[float, typer.Option()] = 0,
    seconds: Annotated[float, typer.Option()] = 0,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Move the server clock forward (running servers follow within a second)."""
    if days < 0 or seconds < 0:
        typer.echo("error: the clock only moves forward", err=True)
        raise typer.Exit(1)
    rt = _runtime(data_dir, database_url)
    try:
        admin.advance_clock(rt, seconds + days * 86_400)
    except HubSpotError as exc:
        _fail(exc)
    _echo({"now": iso(rt.clock.now()), "offsetSeconds": rt.clock.offset})


def main() -> None:
    try:
        cli()
    except KeyringError as exc:
        # Start-up refusals (wrong or missing key) as one clear line, not a traceback.
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
