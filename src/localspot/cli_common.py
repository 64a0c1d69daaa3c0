"""What every ``localspot`` subcommand shares: the store options and JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from localspot.runtime import Runtime
from localspot.settings import Settings

DataDir = Annotated[Path | None, typer.Option(help="Folder for the SQLite store.")]
DatabaseUrl = Annotated[str | None, typer.Option(help="PostgreSQL URL instead of SQLite.")]


def settings_for(data_dir: Path | str | None, database_url: str | None, **extra: Any) -> Settings:
    """Settings from the environment, with the command's options on top."""
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)


def open_runtime(data_dir: Path | str | None, database_url: str | None) -> Runtime:
    settings = settings_for(data_dir, database_url)
    if not settings.database_url and not settings.sqlite_file.exists():
        # Said aloud: a mistyped or forgotten --data-dir (an --ephemeral server's folder, say)
        # would otherwise answer from an empty store as if it were the one meant.
        typer.echo(
            f"localspot: no store in {settings.data_dir.resolve()}; making a new one", err=True
        )
    return Runtime.open(settings)


def echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
