"""``xiangmap progress``: import monthly progress reports; manage the demonstration history."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

app = typer.Typer(help="Progress: import monthly reports (CSV / XLSX); demonstration history.", no_args_is_help=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV (UTF-8 / GB18030) or XLSX."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the good rows, report and skip the bad."),
    actor: str = typer.Option(None, help="Name recorded as the reporter (default: the OS user)."),
) -> None:
    """Validate every row like POST /projects/{id}/progress, then append; nothing is written if a row is bad."""
    from sqlalchemy.exc import OperationalError

    from service.cli import database_down
    from service.database import session_scope
    from service.progress.usecases import ImportRefused, import_reports

    who = actor or f"cli:{getpass.getuser()}"
    try:
        with session_scope() as session:
            result = import_reports(session, file, who, skip_invalid=skip_invalid)
    except ImportRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OperationalError as exc:
        # the import is one transaction: a connection lost before its commit leaves nothing behind
        typer.echo(database_down.message(exc, "nothing imported", "the import"), err=True)
        raise typer.Exit(database_down.EXIT_DATABASE_DOWN) from None
    for error in result.errors:
        typer.echo(f"{file.name}: {error}", err=True)
    if not result.written:
        typer.echo(
            f"nothing imported: {len(result.errors)} problem(s) in {result.rows} rows; fix them or use --skip-invalid",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{result.imported} reports imported; {result.rows - result.imported} rows skipped")


@app.command("demo")
def demo(
    remove: bool = typer.Option(False, "--remove", help="Delete every demonstration report (demo = true)."),
) -> None:
    """Load the bundled demonstration history (what setup does), or remove it before real reporting starts."""
    from service.database import get_engine, session_scope
    from service.progress.demo import load_demo_progress
    from service.progress.usecases import remove_demo_reports

    if remove:
        with session_scope() as session:
            count = remove_demo_reports(session, f"cli:{getpass.getuser()}")
        typer.echo(f"{count} demonstration reports removed; setup will not load them again")
        return
    typer.echo(load_demo_progress(get_engine()))
