"""Units use cases: what ``/units``, ``xiangmap units``, setup, the plan loaders and progress reports call.

Each takes the caller's Session (decision 0100).  A change to the register is audited, relinks the tasks it
may affect (an alias added resolves the strings that were waiting for it) and commits, whoever calls.
``link_plan_projects`` and ``check_may_report`` run inside another use case's transaction instead.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.common import audit
from service.database import session_scope
from service.errors import Problem
from service.units import access, edits, queries
from service.units.edits import UnitError
from service.units.index import load_index
from service.units.links import LinkCounts, link_projects
from service.units.register import REGISTER_FILE, RegisterError, load_register, read_register
from service.units.resolve import resolve

__all__ = [
    "LinkCounts",
    "RegisterError",
    "UnitError",
    "add_alias",
    "add_group",
    "assign_user",
    "check_may_report",
    "create_unit",
    "find_unit_id",
    "get_unit",
    "link_plan_projects",
    "list_units",
    "load_bundled_units",
    "load_register_file",
    "relink",
    "rename_unit",
    "report_refusal",
    "resolve_name",
    "resolve_names",
    "task_ids_for_unit",
    "tasks_for_unit",
    "unresolved",
]


def load_bundled_units(engine: Engine) -> str:
    """Setup step: add what the database lacks of the bundled register (a second run adds nothing).

    Not audited, like the bundled plans: setup loads it, not a person.  The plans step that follows links
    the tasks.
    """
    register = read_register()
    with session_scope(engine) as session:
        counts = load_register(session, register)
    return f"register v{register.version}: {counts}"


def load_register_file(session: Session, actor: str, path: Path = REGISTER_FILE) -> tuple[str, LinkCounts]:
    """``xiangmap units load``: a register file's missing entries added, every task relinked, audited."""
    register = read_register(path)
    counts = load_register(session, register)
    linked = link_projects(session, load_index(session))
    audit.record(
        session,
        actor,
        "units.load",
        "unit",
        None,
        None,
        {"file": path.name, "version": register.version, "added": str(counts)},
    )
    session.commit()
    return f"register v{register.version}: {counts}", linked


def link_plan_projects(session: Session, plans: list[str]) -> LinkCounts:
    """The plans' tasks linked to the register, in the caller's transaction (the plan loaders commit)."""
    return link_projects(session, load_index(session), plans=plans)


def relink(session: Session, actor: str, plan: str | None = None) -> LinkCounts:
    """Re-derive the units of every task (or one plan's) from its unit strings and the register now."""
    counts = link_projects(session, load_index(session), plans=[plan] if plan else None)
    audit.record(session, actor, "units.relink", "plan" if plan else "unit", plan, None, {"result": str(counts)})
    session.commit()
    return counts


def list_units(
    session: Session, *, city: str | None = None, kind: str | None = None, q: str | None = None
) -> list[dict[str, Any]]:
    return queries.list_units(session, city=city, kind=kind, q=q)


def get_unit(session: Session, unit_id: int) -> dict[str, Any] | None:
    return queries.get_unit(session, unit_id)


def unresolved(session: Session, plan: str | None = None) -> list[dict[str, Any]]:
    """The unit strings waiting for a person: add an alias (or a unit, a group) and they resolve."""
    return queries.unresolved(session, plan)


def resolve_name(session: Session, name: str, city: str | None = None, on: date | None = None) -> dict[str, Any]:
    """What ``name`` means in a plan of ``city`` dated ``on`` (default today); nothing is written."""
    on = on or date.today()
    return {"name": name, "city": city or None, "on": on.isoformat()} | resolve_names(session, [name], city, on)[name]


def resolve_names(session: Session, names: list[str], city: str | None, on: date) -> dict[str, dict[str, Any]]:
    """Each of ``names`` as :func:`resolve_name` answers it, over one snapshot of the register (an upload's
    preview resolves a whole sheet's unit strings at once); nothing is written."""
    index = load_index(session)
    answers: dict[str, dict[str, Any]] = {}
    for name in names:
        found = resolve(index, name, city or None, on)
        answers[name] = {
            "name": name,
            "resolved": found.resolved,
            "units": [{"id": u, "name": index.units[u].name} for u in found.units],
            "via_group": found.via_group,
            "reason": found.reason,
            "suggestions": [s.as_dict() for s in found.suggestions],
        }
    return answers


def tasks_for_unit(session: Session, unit_id: int, include_children: bool = True) -> list[dict[str, Any]]:
    """The projects where the unit (or a unit under it, or one it took over) is lead or responsible."""
    return access.tasks_for_unit(session, unit_id, include_children)


def task_ids_for_unit(session: Session, unit_id: int, include_children: bool = True) -> list[int]:
    """The ids of those projects: the ``unit=`` filter of a ledger."""
    return access.task_ids_for_unit(session, unit_id, include_children)


def unit_tasks_cte(param: str) -> str:
    """The unit's task ids as SQL (CTEs ``unit_scope``, ``unit_tasks``) for another area's query to join:
    what ``task_ids_for_unit`` selects, without sending the ids back and forth."""
    return access.unit_tasks_cte(param)


def scope_unit_ids(session: Session, unit_id: int) -> set[int]:
    """The unit, the units under it and the units it took over (a task naming one of them is the unit's)."""
    return access.scope_unit_ids(session, unit_id)


def unit_of_user(session: Session, user: str) -> dict[str, Any] | None:
    """The unit an account belongs to (id, name, city), None when it belongs to none."""
    return access.unit_of_user(session, user)


def check_may_report(session: Session, actor: str, role: str | None, project_id: int) -> None:
    """Raise 403 saying why when the account may not report on the project; the refusal is audited on its own.

    Editors report on their unit's tasks only; coordinators and admins on every task (access.may_report).
    """
    decision = access.may_report(session, actor, role, project_id)
    if decision.allowed:
        return
    session.rollback()
    audit.record(session, actor, "progress.refused", "project", project_id, None, {"reason": decision.reason})
    session.commit()
    raise Problem(403, decision.reason or "not your unit's task", parameter="project_id")


def report_refusal(session: Session, actor: str, role: str | None, project_id: int) -> str | None:
    """Why the account may not report on the project (Chinese / English), or None when it may; nothing written.

    The same decision as ``check_may_report``, for a page that shows it before anything is sent.
    """
    decision = access.may_report(session, actor, role, project_id)
    return None if decision.allowed else decision.reason or "not your unit's task"


def _refused(exc: UnitError) -> Problem:
    return Problem(404 if exc.missing else 400, str(exc))


def create_unit(
    session: Session,
    actor: str,
    name: str,
    kind: str,
    *,
    short_name: str | None = None,
    city: str | None = None,
    parent: str | int | None = None,
    aliases: list[str] | None = None,
) -> dict[str, Any]:
    """A person adds a unit (never the resolver): audited, then every task relinked."""
    try:
        unit = edits.add_unit(session, name, kind, short_name=short_name, city=city, parent=parent, aliases=aliases)
    except UnitError as exc:
        raise _refused(exc) from exc
    audit.record(session, actor, "unit.add", "unit", unit.id, None, edits.unit_state(unit))
    linked = link_projects(session, load_index(session))
    session.commit()
    return (queries.get_unit(session, unit.id) or {}) | {"relinked": str(linked)}


def add_alias(
    session: Session,
    actor: str,
    unit_ref: str | int,
    alias: str,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    relative: bool | None = None,
) -> dict[str, Any]:
    """Another name of a unit, with its dates; the tasks that wrote it resolve at once (relinked)."""
    try:
        unit = edits.unit_by_ref(session, unit_ref)
        added = edits.add_alias(session, unit, alias, valid_from=valid_from, valid_to=valid_to, relative=relative)
    except UnitError as exc:
        raise _refused(exc) from exc
    after = {
        "alias": added.alias,
        "relative": added.relative,
        "valid_from": valid_from.isoformat() if valid_from else None,
        "valid_to": valid_to.isoformat() if valid_to else None,
    }
    audit.record(session, actor, "unit.alias", "unit", unit.id, None, after)
    linked = link_projects(session, load_index(session))
    session.commit()
    return {"unit": queries.get_unit(session, unit.id), "alias": after, "relinked": str(linked)}


def rename_unit(
    session: Session, actor: str, unit_ref: str | int, new_name: str, on: date, *, new_short: str | None = None
) -> dict[str, Any]:
    """The unit takes a new name on ``on`` and keeps its id, so its tasks keep their unit across years."""
    try:
        unit = edits.unit_by_ref(session, unit_ref)
        before = edits.unit_state(unit)
        edits.rename(session, unit, new_name, on, new_short=new_short)
    except UnitError as exc:
        raise _refused(exc) from exc
    audit.record(
        session, actor, "unit.rename", "unit", unit.id, before, edits.unit_state(unit) | {"on": on.isoformat()}
    )
    linked = link_projects(session, load_index(session))
    session.commit()
    return (queries.get_unit(session, unit.id) or {}) | {"relinked": str(linked)}


def add_group(
    session: Session, actor: str, name: str, city: str | None, members: list[str | int], note: str | None = None
) -> dict[str, Any]:
    """A collective name (绿心所在地区人民政府 in 株洲市) a person defines: its members; tasks relinked."""
    try:
        units = [edits.unit_by_ref(session, m) for m in members]
        group = edits.add_group(session, name, city or None, units, note)
    except UnitError as exc:
        raise _refused(exc) from exc
    after = {"name": group.name, "city": group.city, "members": [u.name for u in units]}
    audit.record(session, actor, "unit.group", "unit_group", group.id, None, after)
    linked = link_projects(session, load_index(session))
    session.commit()
    return after | {"relinked": str(linked)}


def assign_user(session: Session, actor: str, user: str, unit_ref: str | int | None) -> dict[str, Any]:
    """The account belongs to the unit from now on (None: to none), audited."""
    try:
        unit = edits.unit_by_ref(session, unit_ref) if unit_ref is not None else None
        before, after = edits.assign_user(session, user, unit)
    except UnitError as exc:
        raise _refused(exc) from exc
    audit.record(session, actor, "user.unit", "user", user, {"unit_id": before}, {"unit_id": after})
    session.commit()
    return {"user": user, "unit_id": after, "unit": unit.name if unit else None}


def find_unit_id(session: Session, unit_ref: str | int) -> int:
    """A unit's id from its id, name or unambiguous alias (404 Problem when there is none)."""
    try:
        return edits.unit_by_ref(session, unit_ref).id
    except UnitError as exc:
        raise _refused(exc) from exc
