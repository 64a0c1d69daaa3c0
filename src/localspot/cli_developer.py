"""``localspot developer``: developer accounts, public apps, scope review and installs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from localspot.cli_common import DatabaseUrl, DataDir
from localspot.cli_common import echo as _echo
from localspot.cli_common import open_runtime as _runtime
from localspot.domain import public_apps
from localspot.errors import HubSpotError
from localspot.runtime import Runtime

developer_cli = typer.Typer(
    no_args_is_help=True, help="Developer accounts, public apps, scope review and installs."
)

Scopes = Annotated[list[str], typer.Option("--scope", help="A required scope; repeat.")]
Optional = Annotated[list[str], typer.Option("--optional-scope", help="An optional scope.")]
Redirects = Annotated[list[str], typer.Option("--redirect-uri", help="A redirect URI; repeat.")]


def _app(row: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "name": row["name"],
        "clientId": row["client_id"],
        "redirectUris": row["redirect_uris"],
        "requiredScopes": row["required_scopes"],
        "optionalScopes": row["optional_scopes"],
        "scopeReviews": {r["scope"]: r["state"] for r in row.get("reviews", [])},
    }
    if secret is not None:
        out["clientSecret"] = secret
    return out


def _run(action: Any) -> Any:
    try:
        return action()
    except HubSpotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@developer_cli.command("create-account")
def create_account(
    name: Annotated[str, typer.Option()] = "Developer account",
    email: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    rt = _runtime(data_dir, database_url)
    row = _run(lambda: public_apps.create_developer(rt, name, email))
    _echo({"id": row["id"], "name": row["name"]})


@developer_cli.command("api-key")
def api_key(developer_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Make the developer API key (hapikey) for the webhooks API of the developer's public apps;
    printed once, replaces any earlier key."""
    rt = _runtime(data_dir, database_url)
    key = _run(lambda: public_apps.new_developer_key(rt, developer_id))
    _echo({"developerId": developer_id, "apiKey": key})


@developer_cli.command("create-app")
def create_app(
    developer_id: int,
    redirect_uri: Redirects,
    name: Annotated[str, typer.Option()] = "Public app",
    scope: Scopes = [],  # noqa: B006 - typer reads the default, never mutates it
    optional_scope: Optional = [],  # noqa: B006
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a public app; prints its client secret once. Sensitive scopes go to review."""
    rt = _runtime(data_dir, database_url)
    row, secret = _run(
        lambda: public_apps.create_app(rt, developer_id, name, redirect_uri, scope, optional_scope)
    )
    _echo(_app(row, secret))


@developer_cli.command("list-apps")
def list_apps(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    rt = _runtime(data_dir, database_url)
    _echo([_app(a) for a in public_apps.list_apps(rt)])


@developer_cli.command("set-scopes")
def set_scopes(
    app_id: int,
    scope: Scopes = [],  # noqa: B006
    optional_scope: Optional = [],  # noqa: B006
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Replace an app's scopes; existing installs keep their grant until re-authorized."""
    rt = _runtime(data_dir, database_url)
    row = _run(lambda: public_apps.update_app(rt, app_id, None, None, scope, optional_scope))
    _echo(_app(row))


@developer_cli.command("rotate-secret")
def rotate_secret(app_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """A new client secret: the token endpoint and webhook signatures switch to it at once."""
    rt = _runtime(data_dir, database_url)
    _echo({"id": app_id, "clientSecret": _run(lambda: public_apps.rotate_secret(rt, app_id))})


@developer_cli.command("reviews")
def reviews(
    state: Annotated[str | None, typer.Option(help="pending, approved or denied")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Sensitive scopes asked for by apps, and their review state."""
    rt = _runtime(data_dir, database_url)
    rows = _run(lambda: public_apps.list_reviews(rt, state))
    _echo([{"appId": r["app_id"], "scope": r["scope"], "state": r["state"]} for r in rows])


def _decide(app_id: int, scope: str, approve: bool, note: str | None, rt: Runtime) -> None:
    row = _run(lambda: public_apps.decide_review(rt, app_id, scope, approve, note))
    _echo({"appId": row["app_id"], "scope": row["scope"], "state": row["state"]})


@developer_cli.command("approve")
def approve(
    app_id: int,
    scope: str,
    note: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Approve one sensitive scope of an app after review."""
    _decide(app_id, scope, True, note, _runtime(data_dir, database_url))


@developer_cli.command("deny")
def deny(
    app_id: int,
    scope: str,
    note: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    _decide(app_id, scope, False, note, _runtime(data_dir, database_url))


@developer_cli.command("installs")
def installs(app_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    rt = _runtime(data_dir, database_url)
    rows = public_apps.list_installs(rt, app_id=app_id)
    _echo([{"hubId": r["hub_id"], "scopes": r["scopes"]} for r in rows])


@developer_cli.command("uninstall")
def uninstall(
    app_id: int, hub_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Remove an install; its access and refresh tokens stop working."""
    rt = _runtime(data_dir, database_url)
    _run(lambda: public_apps.uninstall(rt, app_id, hub_id))
    _echo({"appId": app_id, "hubId": hub_id, "uninstalled": True})
