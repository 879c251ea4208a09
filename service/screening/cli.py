"""``xiangmap screen --all [--date D]``: screen every project against the protected zones (issue 7).

Each project's screening is recorded (actor ``cli:<user>``) as a batch with its audit entry, by the
same use case as ``POST /screening/batch`` (``service.screening.usecases.screen_batch``), and the batch
report is written as CSV, HTML and PDF (and, on request, a PNG map per flagged project) to ``--out``
(default ``reports/screening-<batch>``).
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import typer

app = typer.Typer(help="Screen projects against protected zones (issue 7).", invoke_without_command=True)


@app.callback(invoke_without_command=True)
def screen(
    ctx: typer.Context,
    all_projects: bool = typer.Option(False, "--all", help="Screen every project that has a geometry."),
    project: list[int] = typer.Option([], "--project", "-p", help="Screen this project id (repeatable)."),
    on: str | None = typer.Option(None, "--date", help="Day whose regulations apply, YYYY-MM-DD (default today)."),
    buffer_m: float = typer.Option(0.0, "--buffer-m", min=0, help="Also list zones within this many metres."),
    out: Path | None = typer.Option(None, "--out", help="Directory for report.csv / report.html / report.pdf."),
    formats: str = typer.Option(
        "csv,html,pdf", "--formats", help="Which reports to write: csv, html, pdf, png (one map per flagged project)."
    ),
) -> None:
    """Screen projects (all with --all, or each --project) and write the batch report."""
    if ctx.invoked_subcommand is not None:
        return
    if not all_projects and not project:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from rich.progress import Progress

    from service.database import get_engine, session_scope
    from service.errors import Problem
    from service.screening import usecases
    from service.screening.reports import FORMATS, render_report
    from service.screening.verdict import check_buffer, today

    try:
        day = date.fromisoformat(on) if on else today()
    except ValueError as exc:
        raise typer.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)", param_hint="--date") from exc
    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = set(wanted) - {*FORMATS, "png"}
    if unknown:
        raise typer.BadParameter(f"unknown format(s) {', '.join(sorted(unknown))}", param_hint="--formats")
    try:
        buffer = check_buffer(buffer_m)
    except Problem as exc:
        raise typer.BadParameter(exc.detail, param_hint="--buffer-m") from exc

    with session_scope(get_engine()) as session, Progress(transient=False) as bar:
        task = bar.add_task("screening projects", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        outcome = usecases.screen_batch(
            session, f"cli:{getpass.getuser()}", day, buffer, None if all_projects else project, advance
        )
        target = out or Path("reports") / f"screening-{outcome.batch}"
        target.mkdir(parents=True, exist_ok=True)
        rows = sorted(outcome.screened, key=lambda s: s.project_id or 0)
        for fmt in wanted:
            if fmt == "png":
                from service.screening.report_figures import screening_png

                for s in rows:
                    if s.result.get("flagged"):
                        (target / f"map-{s.project_id}.png").write_bytes(screening_png(s.result))
                continue
            body, _ = render_report(rows, fmt, title=f"批量筛查 {day.isoformat()}")
            (target / f"report.{fmt}").write_bytes(body)
    summary = outcome.summary()
    typer.echo(
        f"batch {summary['batch']}: {summary['screened']} projects screened on {summary['date']}, "
        f"{summary['flagged']} flagged ({summary['flagged_sited']} on a site, the rest placed on a whole area), "
        f"{summary['skipped_without_geometry']} without geometry"
    )
    for s in outcome.flagged:
        inside = [z for e in s.result["layers"] for z in e["zones"] if z["inside"]]
        hits = ", ".join(f"{z['name']} ({z['verdict']})" for z in inside)
        typer.echo(f"  #{s.project_id} {s.result.get('project', {}).get('title', '')}: {hits or 'within buffer'}")
    typer.echo(f"reports in {target}/ ({', '.join(wanted)})")
