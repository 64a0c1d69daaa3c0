"""``localspot keys`` and ``localspot audit``: the keyring and the audit trail from a shell."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import orjson
import typer

from localspot.cli_common import DatabaseUrl, DataDir
from localspot.cli_common import echo as _echo
from localspot.cli_common import open_runtime as _runtime
from localspot.domain import audit, keys
from localspot.errors import HubSpotError

keys_cli = typer.Typer(no_args_is_help=True, help="The keyring: status, rotation, retirement.")
audit_cli = typer.Typer(no_args_is_help=True, help="The audit trail: verify and export.")


@keys_cli.command("status")
def keys_status(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Key ids, the primary, and how many values are still sealed under old keys."""
    _echo(keys.status(_runtime(data_dir, database_url)))


@keys_cli.command("rotate")
def keys_rotate(
    retire: Annotated[
        bool, typer.Option("--retire", help="Remove old keys once no value uses them.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait", help="Re-encrypt here, or leave it to the running servers."
        ),
    ] = True,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a key, make it primary, and re-encrypt old values (servers keep serving)."""
    rt = _runtime(data_dir, database_url)
    result = keys.rotate(rt, retire=retire)
    if not result.applied:
        typer.echo(
            "The keyring comes from LOCALSPOT_KEYRING, which this command cannot rewrite.\n"
            f"Nothing changed yet. The new keyring below adds key {result.primary} as primary "
            "and keeps the old keys for decryption.\n"
            "Set LOCALSPOT_KEYRING to it on every server and restart them: the first to start "
            "promotes the key and re-encrypts in the background. Keep it secret.",
            err=True,
        )
        typer.echo(result.keyring_json)
        return
    typer.echo(f"primary key is now {result.primary}", err=True)
    if not wait:
        typer.echo("running servers re-encrypt in the background: localspot keys status", err=True)
        return
    started, total = time.monotonic(), 0
    while True:
        progress = keys.run(rt, max_seconds=2.0)
        total += progress.resealed
        if progress.done or progress.idle:
            break
        if progress.settling:
            time.sleep(0.5)  # letting running servers switch to the new key
            continue
        typer.echo(f"  re-encrypted {total} values", err=True)
    seconds = time.monotonic() - started
    typer.echo(f"re-encrypted {total} values in {seconds:.1f} s", err=True)
    if retire:
        # A running server may have finished the rotation (and retired) before this process.
        keys.retire(rt)
    _echo(keys.status(rt))


@keys_cli.command("retire")
def keys_retire(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove the old keys that no value is sealed under any more."""
    rt = _runtime(data_dir, database_url)
    retired, keyring_json = keys.retire(rt)
    if keyring_json is not None:
        typer.echo(
            f"Set LOCALSPOT_KEYRING to the keyring below to retire {', '.join(retired)}:",
            err=True,
        )
        typer.echo(keyring_json)
        return
    _echo({"retired": retired})


@keys_cli.command("rotate-index")
def keys_rotate_index() -> None:
    """Not yet: rotating the blind index key means reindexing every sensitive value."""
    # TODO(protection): a resumable reindex under a second index key, then a switch-over.
    typer.echo("error: index key rotation is not implemented yet", err=True)
    raise typer.Exit(1)


@audit_cli.command("verify")
def audit_verify(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Walk the hash chain; exit 1 and name the first broken position if tampered with."""
    verdict = audit.verify(_runtime(data_dir, database_url))
    _echo(verdict.render())
    if not verdict.ok:
        raise typer.Exit(1)


@audit_cli.command("export")
def audit_export(
    hub_id: Annotated[int | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option()] = None,
    since: Annotated[int | None, typer.Option(help="Epoch milliseconds.")] = None,
    until: Annotated[int | None, typer.Option(help="Epoch milliseconds.")] = None,
    property_name: Annotated[str | None, typer.Option("--property")] = None,
    app_id: Annotated[int | None, typer.Option()] = None,
    app_kind: Annotated[str | None, typer.Option(help="private or public.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Audit rows as JSON lines on standard output."""
    filters = audit.Filters(
        hub_id=hub_id,
        action=action,
        since_ms=since,
        until_ms=until,
        property_name=property_name,
        app_id=app_id,
        app_kind=app_kind,
    )
    try:
        for row in audit.export(_runtime(data_dir, database_url), filters):
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
    except HubSpotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
