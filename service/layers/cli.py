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

app = typer.Typer(
    help="Layers: list them; load a bundled one; publish, replace, append, retire a layer of your own.",
    no_args_is_help=True,
)
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


# ---------------------------------------------------------------- published layers (issue 20)


def _fail(exc: Problem | OperationalError, what: str) -> typer.Exit:
    if isinstance(exc, OperationalError):
        said = escape(database_down.message(exc, what, "the load"))
        console.print(f"[red]✗ {said}[/]", highlight=False, soft_wrap=True)
        return typer.Exit(database_down.EXIT_DATABASE_DOWN)
    console.print(f"[red]✗ {escape(what)}:[/] {escape(exc.detail)}", soft_wrap=True)
    return typer.Exit(2)


PHASES = {
    "copy": "读取并写入暂存 copying",
    "check": "逐行检查 checking",
    "write": "写入图层 writing",
    "index": "建立索引 indexing",
}


def _bar(label: str) -> tuple[Progress, object]:
    bar = Progress(
        TextColumn(f"[bold]{escape(label)}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    return bar, bar.add_task("", total=None)


@app.command("inspect")
def inspect(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GPKG, zipped SHP, KML, GeoJSON, FGB, CSV"),
    crs: str | None = typer.Option(None, help="The file's CRS when it does not say (EPSG:4546, gcj02, bd09 ...)."),
    encoding: str | None = typer.Option(None, help="Attribute encoding when there is no .cpg (GBK ...)."),
    layer_name: str | None = typer.Option(None, help="Which layer of a multi-layer file."),
) -> None:
    """What FILE would publish: fields and their types, CRS, geometry, count, extent, repairs."""
    from service.layers import publishing

    try:
        found = publishing.preview(file, name=file.name, crs=crs, encoding=encoding, layer_name=layer_name)
    except Problem as exc:
        raise _fail(exc, "cannot read the file") from None
    out = Console()
    out.print(
        f"[bold]{escape(found.file_name)}[/] {found.features} features, {found.geometry_type}, "
        f"CRS {escape(str(found.crs))} ({found.crs_from}), encoding {found.encoding}"
    )
    out.print(f"extent {found.extent} → lon/lat {found.extent_wgs84}")
    table = Table("field", "column", "type", "samples")
    for f in found.fields:
        table.add_row(escape(f.source), escape(f.column), f.type, escape(", ".join(f.samples)))
    out.print(table)
    out.print(f"suggested: --id {found.suggested_id} --key {found.key_field} --name {found.name_field}")
    for line in found.repairs + found.warnings:
        out.print(f"[yellow]![/] {escape(line)}")


def _field_choices(types: list[str], columns: list[str], skip: list[str]) -> dict[str, dict[str, object]]:
    chosen: dict[str, dict[str, object]] = {}
    for pair in types:
        name, sep, kind = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: use FIELD=type, e.g. --type PZRQ=date", param_hint="--type")
        chosen.setdefault(name.strip(), {})["type"] = kind.strip()
    for pair in columns:
        name, sep, column = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: use FIELD=column, e.g. --column PZRQ=批准日期", param_hint="--column")
        chosen.setdefault(name.strip(), {})["column"] = column.strip()
    for name in skip:
        chosen.setdefault(name.strip(), {})["skip"] = True
    return chosen


@app.command("publish")
def publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GPKG, zipped SHP, KML, GeoJSON, FGB, CSV"),
    layer_id: str = typer.Option(..., "--id", help="3-40 of a-z 0-9 _: the table and OGC collection id."),
    title_zh: str = typer.Option(..., "--title", help="The layer's Chinese title, e.g. 生态保护红线."),
    title_en: str = typer.Option("", "--title-en"),
    description: str = typer.Option(""),
    source: str = typer.Option("", help="Where the data comes from (default: the file name)."),
    licence: str = typer.Option(""),
    protected: bool = typer.Option(False, "--protected", help="A protected zone: screening uses it, with its rules."),
    gazetteer: bool | None = typer.Option(None, "--gazetteer/--no-gazetteer", help="Offer its names to the geocoder."),
    crs: str | None = typer.Option(None, help="The file's CRS when it does not say, or says wrong."),
    encoding: str | None = typer.Option(None),
    layer_name: str | None = typer.Option(None),
    key: str | None = typer.Option(None, "--key", help="Field holding each feature's stable key ('' for none)."),
    name: str | None = typer.Option(None, "--name", help="Field holding each feature's name ('' for none)."),
    subzone: str | None = typer.Option(None, "--subzone", help="Field holding the sub-zone the rules speak of."),
    types: list[str] = typer.Option([], "--type", help="FIELD=type (text, bigint, double precision, boolean, date)."),
    columns: list[str] = typer.Option([], "--column", help="FIELD=column: the column a field becomes."),
    skip: list[str] = typer.Option([], "--skip", help="Leave FIELD out (repeatable)."),
    actor: str = typer.Option("cli", help="Who is publishing, for the audit log."),
) -> None:
    """Publish FILE as a new layer: a table of its own, catalogued and served at once, in one transaction."""
    from service.database import new_session
    from service.layers import usecases
    from service.layers.publishing import PublishRequest

    request = PublishRequest(
        layer_id=layer_id,
        title_zh=title_zh,
        title_en=title_en,
        description=description,
        source=source,
        licence=licence,
        protected=protected,
        gazetteer=gazetteer,
        crs=crs,
        encoding=encoding,
        layer_name=layer_name,
        fields=_field_choices(types, columns, skip),
        key_field=key,
        name_field=name,
        subzone_field=subzone,
    )
    bar, task = _bar(layer_id)
    with bar, new_session() as session:

        def progress(done: int, total: int, phase: str) -> None:
            bar.update(task, completed=done, total=total, description=PHASES.get(phase, phase))  # type: ignore[arg-type]

        try:
            result = usecases.publish_file(session, actor, file, request, progress=progress)
        except (Problem, OperationalError) as exc:
            bar.stop()
            raise _fail(exc, "nothing published") from None
    _done(result)


def _done(result: dict[str, object]) -> None:
    console.print(
        f"[green]✓[/] {result['layer']} version {result['version']}: {result['rows']} rows from "
        f"{escape(str(result['file_name']))} ({result['inserted']} new, {result['updated']} updated, "
        f"{result['deleted']} removed), {result['features']} features, {result['repairs']} repaired; "
        f"served at {result['links']['collection']}"  # type: ignore[index]
    )
    for sample in result.get("repair_samples") or []:  # type: ignore[attr-defined]
        console.print(f"[yellow]repaired[/] row {sample['row']}: {escape(str(sample['reason']))}")


def _change(
    mode: str, layer_id: str, file: Path, crs: str | None, encoding: str | None, layer_name: str | None, actor: str
) -> None:
    from service.database import new_session
    from service.layers import usecases

    bar, task = _bar(layer_id)
    with bar, new_session() as session:

        def progress(done: int, total: int, phase: str) -> None:
            bar.update(task, completed=done, total=total, description=PHASES.get(phase, phase))  # type: ignore[arg-type]

        try:
            result = usecases.change_file(
                session,
                actor,
                layer_id,
                file,
                mode=mode,
                progress=progress,
                crs=crs,
                encoding=encoding,
                layer_name=layer_name,
            )
        except (Problem, OperationalError) as exc:
            bar.stop()
            raise _fail(exc, "nothing changed") from None
    _done(result)


@app.command("replace")
def replace_layer(
    layer_id: str = typer.Argument(..., help="A published layer."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    crs: str | None = typer.Option(None),
    encoding: str | None = typer.Option(None),
    layer_name: str | None = typer.Option(None),
    actor: str = typer.Option("cli"),
) -> None:
    """Replace a published layer with a new edition, all or nothing; the old version is archived."""
    _change("replace", layer_id, file, crs, encoding, layer_name, actor)


@app.command("append")
def append_layer(
    layer_id: str = typer.Argument(..., help="A published layer."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    crs: str | None = typer.Option(None),
    encoding: str | None = typer.Option(None),
    layer_name: str | None = typer.Option(None),
    actor: str = typer.Option("cli"),
) -> None:
    """Add a file's features to a published layer (a feature whose key exists is updated)."""
    _change("append", layer_id, file, crs, encoding, layer_name, actor)


def _status(layer_id: str, *, retire: bool, note: str | None, actor: str) -> None:
    from service.database import new_session
    from service.layers import usecases

    with new_session() as session:
        try:
            answer = usecases.set_status(session, actor, layer_id, retire=retire, note=note)
        except (Problem, OperationalError) as exc:
            raise _fail(exc, "nothing changed") from None
    console.print(f"[green]✓[/] {layer_id} is {answer['status']} (version {answer['version']})")


@app.command("retire")
def retire_layer(layer_id: str, note: str | None = typer.Option(None), actor: str = typer.Option("cli")) -> None:
    """Stop serving and screening a published layer; it is kept, and screenings that cite it still replay."""
    _status(layer_id, retire=True, note=note, actor=actor)


@app.command("restore")
def restore_layer(layer_id: str, note: str | None = typer.Option(None), actor: str = typer.Option("cli")) -> None:
    """Serve a retired layer again."""
    _status(layer_id, retire=False, note=note, actor=actor)


@app.command("history")
def history(layer_id: str) -> None:
    """Every version of a published layer: who, when, which file (SHA-256), how many features."""
    from service.database import new_session
    from service.layers import usecases

    with new_session() as session:
        try:
            found = usecases.history(session, layer_id)
        except Problem as exc:
            raise _fail(exc, "no history") from None
    table = Table("version", "action", "actor", "at", "file", "sha256", "features", "repairs")
    for v in found["versions"]:
        table.add_row(
            str(v["version"]),
            v["action"],
            escape(v["actor"]),
            f"{v['at']:%Y-%m-%d %H:%M}",
            escape(v["file_name"] or "-"),
            (v["file_sha256"] or "-")[:12],
            str(v["features"]),
            str(v["repairs"]),
        )
    Console().print(table)


@app.command("rules")
def rules(
    layer_id: str = typer.Argument(..., help="A protected published layer."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Rules YAML, as geodata/rules/*/*.yaml"),
    note: str | None = typer.Option(None),
    actor: str = typer.Option("cli"),
) -> None:
    """Attach screening rules to a protected layer; a malformed file is refused with the line at fault."""
    from service.database import new_session
    from service.layers import usecases

    with new_session() as session:
        try:
            stored = usecases.store_rules(session, actor, layer_id, file.read_bytes(), note)
        except (Problem, OperationalError) as exc:
            raise _fail(exc, "rules not accepted") from None
    console.print(
        f"[green]✓[/] rules #{stored['id']} for {layer_id}: scheme {stored['scheme']}, in force "
        f"{stored['valid_from'] or '…'} – {stored['valid_to'] or '…'} (sha256 {stored['sha256'][:12]})"
    )


@app.command("protect")
def protect(
    layer_id: str,
    off: bool = typer.Option(False, "--off", help="No longer a protected zone."),
    actor: str = typer.Option("cli"),
) -> None:
    """Mark a published layer a protected zone that screening uses (or, with --off, no longer)."""
    from service.database import new_session
    from service.layers import usecases

    with new_session() as session:
        try:
            usecases.set_protected(session, actor, layer_id, not off)
        except (Problem, OperationalError) as exc:
            raise _fail(exc, "nothing changed") from None
    console.print(f"[green]✓[/] {layer_id} {'is no longer' if off else 'is'} a protected zone")
