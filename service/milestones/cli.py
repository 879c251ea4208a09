"""``xiangmap milestones``: import a milestone sheet (节点计划表)."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

app = typer.Typer(help="Milestones (倒排工期): import a sheet of milestones per task.", no_args_is_help=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or XLSX, a row each."),
    actor: str = typer.Option(None, help="Name recorded in the audit log (default: the OS user)."),
) -> None:
    """Replace the milestones of every task the sheet names; nothing is written if a row is bad."""
    from service.database import session_scope
    from service.milestones.usecases import SheetImportRefused, import_sheet

    try:
        with session_scope() as session:
            done = import_sheet(session, file.name, file.read_bytes(), actor or f"cli:{getpass.getuser()}")
    except SheetImportRefused as exc:
        typer.echo(f"nothing imported:\n{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{done['milestones']} milestones imported for {done['tasks']} tasks")
