"""``localspot forms``: form definitions and their submissions, from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from localspot.cli_common import DatabaseUrl, DataDir
from localspot.cli_common import open_runtime as _runtime
from localspot.domain import form_submissions, forms
from localspot.errors import HubSpotError
from localspot.runtime import Runtime

forms_cli = typer.Typer(no_args_is_help=True, help="Forms (definitions) and their submissions.")


def _run(data_dir: Path | None, database_url: str | None, work: Any) -> None:
    rt = _runtime(data_dir, database_url)
    try:
        typer.echo(json.dumps(work(rt), indent=2, default=str))
    except HubSpotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.close()


@forms_cli.command("list")
def forms_list(
    hub_id: int,
    archived: Annotated[bool, typer.Option("--archived")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every form of an account (archived ones with --archived)."""

    def work(rt: Runtime) -> Any:
        caller = forms.console_caller(rt, hub_id)
        out: list[dict[str, Any]] = []
        after = None
        while True:
            page, after = forms.list_forms(rt, caller, forms.MAX_LIMIT, after, archived, None)
            out += page
            if after is None:
                return out

    _run(data_dir, database_url, work)


@forms_cli.command("show")
def forms_show(
    hub_id: int, form_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    _run(
        data_dir,
        database_url,
        lambda rt: forms.get_form(rt, forms.console_caller(rt, hub_id), form_id),
    )


@forms_cli.command("create")
def forms_create(
    hub_id: int,
    definition: Annotated[Path, typer.Argument(help="A JSON file: HubSpot's form definition.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a form from a JSON definition, as POST /marketing/v3/forms takes it."""
    body = json.loads(definition.read_text())
    _run(
        data_dir,
        database_url,
        lambda rt: forms.create_form(rt, forms.console_caller(rt, hub_id), body),
    )


@forms_cli.command("archive")
def forms_archive(
    hub_id: int, form_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    def work(rt: Runtime) -> Any:
        forms.archive_form(rt, forms.console_caller(rt, hub_id), form_id)
        return {"id": form_id, "archived": True}

    _run(data_dir, database_url, work)


@forms_cli.command("submissions")
def forms_submissions(
    hub_id: int,
    form_id: str,
    limit: Annotated[int, typer.Option()] = form_submissions.DEFAULT_READ_LIMIT,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The newest submissions of a form; sensitive fields are never shown."""

    def work(rt: Runtime) -> Any:
        caller = forms.console_caller(rt, hub_id)
        return form_submissions.list_submissions(rt, caller, form_id, limit, None)[0]

    _run(data_dir, database_url, work)
