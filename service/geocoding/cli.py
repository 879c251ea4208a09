"""``xiangmap geocode``: geocode projects onto the layers, with a progress bar and a summary."""

from __future__ import annotations

import typer

app = typer.Typer(help="Geocode projects onto the layers (new / changed ones, or --all).")


@app.callback(invoke_without_command=True)
def geocode(
    plan: str | None = typer.Option(None, "--plan", help="Only this plan's projects (plan id)."),
    everything: bool = typer.Option(False, "--all", help="Re-geocode every project not placed by a person."),
) -> None:
    """Geocode pending projects (or all automatic ones); manual locations are never touched."""
    from rich.progress import Progress

    from service.database import session_scope
    from service.geocoding.usecases import geocode_projects

    with Progress(transient=True) as progress, session_scope() as session:
        task = progress.add_task("geocoding", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = geocode_projects(session, plan=plan, everything=everything, on_progress=advance, actor="cli")
    typer.echo(str(summary))
    for code, count in sorted(summary.by_precision.items()):
        typer.echo(f"  precision {code}: {count}")
    typer.echo(f"  unresolved: {summary.by_status.get('unresolved', 0)}, review: {summary.by_status.get('review', 0)}")
