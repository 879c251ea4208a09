"""``xiangmap plans``: import planners' spreadsheets into the project register."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Plans: import planners' spreadsheets (CSV or XLSX, the register's columns).", no_args_is_help=True
)


@app.command("import")
def import_file(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV (UTF-8 or GB18030) or XLSX."
    ),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the good rows, report and skip the bad."),
    geocode: bool = typer.Option(True, "--geocode/--no-geocode", help="Geocode new and changed projects after."),
    city: str = typer.Option(
        None, "--city", help="The city of a new plan (株洲市 ...; 全省 for a provincial or regional plan)."
    ),
) -> None:
    """Validate every row, then upsert by plan/section/number; nothing is written if a row is bad."""
    from sqlalchemy.exc import OperationalError

    from service.cli import database_down
    from service.database import session_scope
    from service.projects.importer import ImportRefused, ImportReport
    from service.projects.usecases import import_plan

    def show(report: ImportReport) -> None:
        for error in report.errors:
            typer.echo(f"{file.name}: {error}", err=True)
        if report.imported:
            skipped = len({e.row for e in report.errors})
            typer.echo(
                f"{report.rows - skipped} rows imported ({report.counts}); {skipped} skipped; read as {report.encoding}"
            )

    shown: list[ImportReport] = []  # the import committed and was shown before geocoding began

    def imported(report: ImportReport) -> None:
        shown.append(report)
        show(report)

    try:
        with session_scope() as session:
            report = import_plan(
                session, file, skip_invalid=skip_invalid, geocode=geocode, on_imported=imported, city=city
            )
    except ImportRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OperationalError as exc:
        if shown:
            raise  # the rows are in; geocoding them did not finish
        # the import is one transaction: a connection lost before its commit leaves nothing behind
        typer.echo(database_down.message(exc, "nothing imported", "the import"), err=True)
        raise typer.Exit(database_down.EXIT_DATABASE_DOWN) from None
    if not report.imported:
        show(report)
        typer.echo(
            f"nothing imported: {len(report.errors)} problem(s) in {report.rows} rows; fix them or use --skip-invalid",
            err=True,
        )
        raise typer.Exit(1)
    for plan, summary in report.geocoded.items():
        typer.echo(f"{plan}: {summary}")
