"""``xiangmap evaluations``: make (freeze) an evaluation, list them, write one's files to disk."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import typer

app = typer.Typer(help="Periodic evaluations (定期评估): make, list, export.", no_args_is_help=True)

FILES = ("report.pdf", "report.xlsx", "package.zip", "evaluation.json", "tasks.gpkg", "wallmap.png")


@app.command("make")
def make(
    kind: str = typer.Option("quarterly", help="monthly | quarterly | yearly"),
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: today)"),
    plan: str = typer.Option(None, help="one plan's id (default: every plan)"),
    actor: str = typer.Option(None, help="Name recorded with the evaluation (default: the OS user)."),
) -> None:
    """Freeze an evaluation of every task at the date; prints its id and the snapshot's SHA-256."""
    from service.database import new_session
    from service.errors import Problem
    from service.evaluations import usecases

    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        typer.echo(f"--as-of {as_of!r} is not YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    with new_session() as session:
        try:
            made = usecases.make(
                session, kind=kind, as_of=day, plan_id=plan, actor=actor or f"cli:{getpass.getuser()}", role="admin"
            )
        except Problem as problem:
            typer.echo(problem.detail, err=True)
            raise typer.Exit(1) from None
    typer.echo(f"evaluation {made['id']}: {made['title']}, {made['tasks']} tasks, sha256 {made['sha256']}")


@app.command("list")
def list_evaluations() -> None:
    """Every evaluation, newest first."""
    from service.database import new_session
    from service.evaluations import usecases

    with new_session() as session:
        for e in usecases.listing(session):
            typer.echo(f"{e['id']}\t{e['as_of']}\t{e['kind']}\t{e['title']}\t{e['created_by']}\t{e['rule_version']}")


@app.command("export")
def export(
    evaluation_id: int = typer.Argument(..., help="the evaluation's id"),
    name: str = typer.Option("report.pdf", "--file", help=" | ".join(FILES)),
    out: Path = typer.Option(..., "--out", "-o", help="where to write it"),
) -> None:
    """Write one of the evaluation's files (drawn and stored first if it never was)."""
    from service.database import new_session
    from service.errors import Problem
    from service.evaluations import usecases

    with new_session() as session:
        try:
            content, _ = usecases.stored_file(session, evaluation_id, name)
        except Problem as problem:
            typer.echo(problem.detail, err=True)
            raise typer.Exit(1) from None
    out.write_bytes(content)
    typer.echo(f"{out}: {len(content)} bytes")
