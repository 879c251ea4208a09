"""``xiangmap units``: the register of units, resolving unit strings, and fixing the ones left unresolved."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import typer

app = typer.Typer(
    help="Units (单位): the register, resolving plans' unit strings, accounts' units.", no_args_is_help=True
)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@app.command("load")
def load(
    file: Path = typer.Argument(None, exists=True, dir_okay=False, help="A register YAML (default: the bundled one)."),
) -> None:
    """Add what the database lacks of a register file (nothing a person changed is overwritten), then relink."""
    from service.database import session_scope
    from service.units.usecases import RegisterError, load_register_file

    try:
        with session_scope() as session:
            summary, linked = load_register_file(session, _actor(), *([file] if file else []))
    except RegisterError as exc:
        raise _fail(f"refused: {exc}", 2) from exc
    typer.echo(summary)
    typer.echo(str(linked))


@app.command("list")
def list_(
    city: str = typer.Option(None, help="Only this city's units (株洲市 ...)."),
    kind: str = typer.Option(None, help="Only this kind (department, district_government ...)."),
    q: str = typer.Option(None, help="Text in a name or alias."),
) -> None:
    """List units: id, kind, city, name, short name."""
    from service.database import session_scope
    from service.units.usecases import list_units

    with session_scope() as session:
        found = list_units(session, city=city, kind=kind, q=q)
    for unit in found:
        ended = f"\tuntil {unit['valid_to']}" if unit["valid_to"] else ""
        typer.echo(
            f"{unit['id']}\t{unit['kind']}\t{unit['city'] or '省'}\t{unit['name']}\t{unit['short_name'] or ''}{ended}"
        )


@app.command("resolve")
def resolve(
    name: str = typer.Argument(..., help="A unit string as a plan writes it."),
    city: str = typer.Option(None, help="The plan's city (none: a plan without one)."),
    on: str = typer.Option(None, help="The plan's date, YYYY-MM-DD (default today)."),
) -> None:
    """What a unit string means; exits 1 when it is flagged (the reason and the closest names are printed)."""
    from service.database import session_scope
    from service.units.usecases import resolve_name

    with session_scope() as session:
        found = resolve_name(session, name, city, _date(on, "--on"))
    if found["resolved"]:
        via = f" (via {found['via_group']})" if found["via_group"] else ""
        for unit in found["units"]:
            typer.echo(f"{unit['id']}\t{unit['name']}{via}")
        return
    typer.echo(f"unresolved: {found['reason']}", err=True)
    for s in found["suggestions"]:
        typer.echo(f"  {s.get('unit') or s.get('group')}\t({s['matched']}, {s['score']})", err=True)
    raise typer.Exit(1)


@app.command("unresolved")
def unresolved(plan: str = typer.Option(None, help="Only this plan.")) -> None:
    """Unit strings no unit was found for: plan, tasks, string, reason, closest names."""
    from service.database import session_scope
    from service.units.usecases import unresolved as waiting

    with session_scope() as session:
        found = waiting(session, plan)
    for row in found:
        closest = "; ".join(str(s.get("unit") or s.get("group")) for s in row["suggestions"] or [])
        typer.echo(f"{row['plan']}\t{row['tasks']}\t{row['raw']}\t{row['reason']}\t{closest}")
    typer.echo(f"{len(found)} unresolved unit strings", err=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Canonical, full name."),
    kind: str = typer.Option(..., help="department | district_government | government | office | company ..."),
    short: str = typer.Option(None, help="As plans write it (市住建局)."),
    city: str = typer.Option(None, help="The unit's city (default the parent's)."),
    parent: str = typer.Option(None, help="The parent unit (id or name)."),
) -> None:
    """Add a unit by hand (the resolver never does), then relink."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import create_unit

    try:
        with session_scope() as session:
            found = create_unit(session, _actor(), name, kind, short_name=short, city=city, parent=parent)
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    typer.echo(f"{found['id']}\t{found['name']}\t{found['relinked']}")


@app.command("add-alias")
def add_alias(
    unit: str = typer.Argument(..., help="The unit (id, name or alias)."),
    alias: str = typer.Argument(..., help="The other name, as plans write it."),
    valid_from: str = typer.Option(None, "--from", help="First day it names the unit (YYYY-MM-DD)."),
    valid_to: str = typer.Option(None, "--to", help="First day it no longer does (YYYY-MM-DD)."),
    relative: bool = typer.Option(
        None, "--relative/--absolute", help="Only in plans of the unit's city (default by rule)."
    ),
) -> None:
    """Add an alias; the tasks that wrote it are relinked at once."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import add_alias as add

    try:
        with session_scope() as session:
            found = add(
                session,
                _actor(),
                unit,
                alias,
                valid_from=_date(valid_from, "--from"),
                valid_to=_date(valid_to, "--to"),
                relative=relative,
            )
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    typer.echo(f"{alias} → {found['unit']['name']}; {found['relinked']}")


@app.command("rename")
def rename(
    unit: str = typer.Argument(..., help="The unit (id, name or alias)."),
    new_name: str = typer.Argument(..., help="Its new canonical name."),
    on: str = typer.Option(..., help="The day of the rename (YYYY-MM-DD)."),
    short: str = typer.Option(None, help="Its new short name, if that changes too."),
) -> None:
    """Rename a unit on a date: it keeps its id and its tasks; the old names become aliases ending that day."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import rename_unit

    on_date = _date(on, "--on")
    assert on_date is not None
    try:
        with session_scope() as session:
            found = rename_unit(session, _actor(), unit, new_name, on_date, new_short=short)
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    typer.echo(f"{found['id']}\t{found['name']}\t{found['relinked']}")


@app.command("add-group")
def add_group(
    name: str = typer.Argument(..., help="The collective name (绿心所在地区人民政府)."),
    members: list[str] = typer.Argument(..., help="Its member units (ids, names or aliases)."),
    city: str = typer.Option(None, help="The city it is used in (none: the province's)."),
) -> None:
    """Define what a collective name stands for in a city; the tasks that wrote it are relinked."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import add_group as add

    try:
        with session_scope() as session:
            found = add(session, _actor(), name, city, list(members))
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    typer.echo(f"{found['name']} ({found['city'] or '省'}): {'、'.join(found['members'])}; {found['relinked']}")


@app.command("relink")
def relink(plan: str = typer.Option(None, help="Only this plan's tasks.")) -> None:
    """Re-derive every task's units from its unit strings and the register as it now is."""
    from service.database import session_scope
    from service.units.usecases import relink as run

    with session_scope() as session:
        counts = run(session, _actor(), plan)
    typer.echo(str(counts))


@app.command("assign-user")
def assign_user(
    user: str = typer.Argument(..., help="The account's name."),
    unit: str = typer.Argument(None, help="The unit (id, name or alias); omit with --none."),
    none: bool = typer.Option(False, "--none", help="Take the account out of any unit."),
) -> None:
    """Put an account in a unit: an editor reports on that unit's tasks (and its sub-units') only."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import assign_user as assign

    if (unit is None) != none:
        raise _fail("give a unit, or --none", 2)
    try:
        with session_scope() as session:
            found = assign(session, _actor(), user, None if none else unit)
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    typer.echo(f"{found['user']} → {found['unit'] or '(no unit)'}")


@app.command("tasks")
def tasks(
    unit: str = typer.Argument(..., help="The unit (id, name or alias)."),
    own: bool = typer.Option(False, "--own", help="Only where the unit itself is named, not a unit under it."),
) -> None:
    """The tasks where the unit (or a unit under it) is lead or responsible."""
    from service.database import session_scope
    from service.errors import Problem
    from service.units.usecases import find_unit_id, tasks_for_unit

    try:
        with session_scope() as session:
            found = tasks_for_unit(session, find_unit_id(session, unit), include_children=not own)
    except Problem as exc:
        raise _fail(f"refused: {exc.detail}") from exc
    for task in found:
        typer.echo(f"{task['id']}\t{task['key']}\t{'/'.join(task['roles'])}\t{task['title']}")
    typer.echo(f"{len(found)} tasks", err=True)


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from exc
