"""``xiangmap layers``: list the layers, and load or replace one from any OGR file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from service.cli import database_down
from service.errors import Problem

app = typer.Typer(help="Layers: list them, load or replace one from a GIS file.", no_args_is_help=True)
console = Console(stderr=True)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``FIELD=column`` pairs → {field: column}."""
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise typer.BadParameter(f"{pair!r}: use FIELD=column, e.g. --map 名称=name", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("load")
def load(
    layer: str = typer.Argument(..., help="Layer id: districts, roads, streams, sewage_plants, green_heart, ..."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON, GeoPackage, zipped Shapefile, KML..."),
    crs: str | None = typer.Option(
        None,
        help="CRS of the coordinates when the file has none or lies: EPSG:4326, "
        "EPSG:4490, EPSG:4547, gcj02 (AMap/Tencent), bd09 (Baidu).",
    ),
    source: str | None = typer.Option(None, help="Provenance to record on every feature (default: the file name)."),
    replace: bool = typer.Option(False, "--replace", help="Remove the layer's features that the file does not have."),
    yes: bool = typer.Option(
        False, "--yes", help="With --replace: remove them without asking (without it, a removing replace stops)."
    ),
    orphan_projects: bool = typer.Option(
        False, "--orphan-projects", help="With --replace: also remove features that projects are located on."
    ),
    key_field: str | None = typer.Option(None, help="Field holding the stable key (default: key, then name)."),
    mapping: list[str] = typer.Option([], "--map", help="Map a file field onto a column: FIELD=column (repeatable)."),
    encoding: str | None = typer.Option(None, help="Attribute encoding when the file does not say (e.g. GBK)."),
    layer_name: str | None = typer.Option(None, help="Which layer of a multi-layer file (GeoPackage)."),
    actor: str = typer.Option("cli", help="Who is loading, for the audit log."),
) -> None:
    """Load FILE into LAYER in one transaction: upsert by key, repair geometries, re-derive projects."""
    from service.database import session_scope
    from service.layers.usecases import CONFIRM_ANY, load_layer_file

    with Progress(
        TextColumn(f"[bold]{layer}[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("rows", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with session_scope() as session:
                report = load_layer_file(
                    session,
                    layer,
                    file,
                    actor=actor,
                    crs=crs,
                    encoding=encoding,
                    layer_name=layer_name,
                    mapping=parse_mapping(mapping),
                    key_field=key_field,
                    source=source,
                    replace=replace,
                    progress=progress,
                    confirm_remove=CONFIRM_ANY if yes else None,
                    orphan_projects=orphan_projects,
                )
        except Problem as exc:
            bar.stop()
            detail = exc.detail
            if exc.extra.get("fault") == "confirm_remove":
                detail = detail.replace(f"Send confirm_remove={exc.extra['would_remove']}", "Add --yes")
            detail = detail.replace("Send orphan_projects=true as well", "Add --orphan-projects")
            console.print(f"[red]✗ nothing loaded:[/] {detail}")
            raise typer.Exit(2) from None
        except OperationalError as exc:
            bar.stop()
            said = escape(database_down.message(exc, "nothing loaded", "the load"))
            console.print(f"[red]✗ {said}[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(database_down.EXIT_DATABASE_DOWN) from None
    for repair in report.repairs:
        console.print(f"[yellow]repaired[/] row {repair['row']} ({repair['key']}): {repair['reason']}")
    for key in report.skipped_verified:
        console.print(f"[yellow]kept[/] verified feature {key}")
    console.print(f"[green]✓[/] {report.summary()} (from {report.source_crs})")


@app.command("list")
def list_layers() -> None:
    """The layers with their feature counts and last load."""
    from service.database import session_scope
    from service.layers import usecases

    table = Table("id", "title", "type", "features", "last load")
    with session_scope() as session:
        entries = usecases.list_layers(session)
    for entry in entries:
        last = entry["last_load"]
        table.add_row(
            entry["id"],
            entry["title_zh"],
            entry["geometry_type"],
            str(entry["features"]),
            f"{last['at']:%Y-%m-%d %H:%M} {last['kind']} {last['file_name']}" if last else "-",
        )
    Console().print(table)
