"""``localspot webhooks ...`` and ``localspot worker``: webhook settings, subscriptions,
deliveries, the developer receiver, and the standalone delivery worker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated, Any

import typer

from localspot import log
from localspot.cli_common import DatabaseUrl, DataDir
from localspot.cli_common import echo as _echo
from localspot.cli_common import open_runtime as _runtime
from localspot.domain.webhooks import outcomes
from localspot.domain.webhooks import subscriptions as subs
from localspot.domain.webhooks.worker import Worker
from localspot.errors import HubSpotError
from localspot.runtime import Runtime

webhooks_cli = typer.Typer(
    no_args_is_help=True,
    help="Webhooks of private and public apps: settings, subscriptions, deliveries.",
)

# Private and public app ids can be equal, so the kind is said, never guessed.
Public = Annotated[bool, typer.Option("--public", help="APP_ID is a public app's id.")]


def register(cli: typer.Typer) -> None:
    cli.add_typer(webhooks_cli, name="webhooks")
    cli.command("worker")(worker)


def _run(fn: Any) -> Any:
    try:
        return fn()
    except HubSpotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _app_ref(rt: Runtime, app_id: int, public: bool) -> subs.AppRef:
    if public:
        return _run(lambda: subs.public_app_ref(rt, app_id))
    return _run(lambda: subs.private_app_ref(rt, app_id))


def worker(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Deliver webhooks from the store; run any number of these beside the servers."""
    rt = _runtime(data_dir, database_url)
    log.configure(rt.settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Worker(rt).run(stop)

    typer.echo("LocalSpot webhook worker running", err=True)
    try:
        asyncio.run(main())
    finally:
        rt.close()


@webhooks_cli.command("secret")
def secret(
    app_id: int,
    rotate: Annotated[bool, typer.Option("--rotate", help="Make a new secret.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The secret a private app's deliveries are signed with (a public app signs with its
    client secret: ``localspot developer rotate-secret``)."""
    rt = _runtime(data_dir, database_url)
    app = _app_ref(rt, app_id, public=False)
    value = subs.rotate_secret(rt, app) if rotate else subs.get_secret(rt, app)
    _echo({"appId": app_id, "secret": value})


@webhooks_cli.command("settings")
def settings(
    app_id: int,
    target_url: Annotated[str | None, typer.Option(help="Set the target URL.")] = None,
    max_concurrent: Annotated[int, typer.Option(help="maxConcurrentRequests.")] = 10,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the settings.")] = False,
    public: Public = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show, set or delete an app's webhook settings."""
    rt = _runtime(data_dir, database_url)
    app = _app_ref(rt, app_id, public)
    if delete:
        _run(lambda: subs.delete_settings(rt, app))
        _echo({"appId": app_id, "deleted": True})
        return
    if target_url is not None:
        body = subs.SettingsChange(
            targetUrl=target_url,
            throttling=subs.Throttling(maxConcurrentRequests=max_concurrent),
        )
        _echo(subs.render_settings(_run(lambda: subs.put_settings(rt, app, body))))
        return
    _echo(subs.render_settings(_run(lambda: subs.get_settings(rt, app))))


@webhooks_cli.command("subscribe")
def subscribe(
    app_id: int,
    event_type: Annotated[str, typer.Option(help="e.g. contact.propertyChange")],
    property_name: Annotated[str | None, typer.Option(help="For propertyChange.")] = None,
    object_type_id: Annotated[str | None, typer.Option(help="For object.* types.")] = None,
    active: Annotated[bool, typer.Option(help="Start active (default: inactive).")] = False,
    public: Public = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a subscription for an app."""
    rt = _runtime(data_dir, database_url)
    app = _app_ref(rt, app_id, public)
    body = subs.SubscriptionCreate(
        eventType=event_type, propertyName=property_name, objectTypeId=object_type_id, active=active
    )
    _echo(subs.render_subscription(_run(lambda: subs.create_subscription(rt, app, body))))


@webhooks_cli.command("subscriptions")
def subscriptions(
    app_id: int, public: Public = False, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List an app's subscriptions."""
    rt = _runtime(data_dir, database_url)
    app = _app_ref(rt, app_id, public)
    _echo([subs.render_subscription(r) for r in subs.list_subscriptions(rt, app)])


@webhooks_cli.command("deliveries")
def deliveries(
    app_id: int,
    limit: Annotated[int, typer.Option()] = 20,
    public: Public = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Recent deliveries of an app and their outcomes, newest first."""
    rt = _runtime(data_dir, database_url)
    app = _app_ref(rt, app_id, public)
    rows = _run(lambda: outcomes.list_deliveries(rt, app, limit))
    _echo([outcomes.render_delivery(r) for r in rows])


@webhooks_cli.command("listen")
def listen(
    secret: Annotated[str, typer.Option(help="The app secret (localspot webhooks secret).")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8099,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    forward: Annotated[str | None, typer.Option(help="Forward verified deliveries here.")] = None,
    max_age: Annotated[
        float, typer.Option(help="Refuse v3 signatures older than this (seconds; 0: never).")
    ] = 300,
) -> None:
    """Receive deliveries, verify their signatures, print them and optionally forward them."""
    from localspot.webhook_listener import Listener

    listener = Listener(secret, host, port, forward, max_age, out=typer.echo)
    typer.echo(f"listening on http://{host}:{listener.port}/ (point targetUrl here)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        listener.serve_forever()
