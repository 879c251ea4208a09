"""Reading the register: units listed and in full, and the unit names still waiting for a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service.models import User
from service.models.units import Unit, UnitAlias, UnitGroup, UnitGroupMember
from service.units.edits import unit_state as _summary  # one JSON shape of a unit, audited and listed


def list_units(
    session: Session, *, city: str | None = None, kind: str | None = None, q: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(Unit).order_by(Unit.city.nulls_first(), Unit.kind, Unit.name)
    if city:
        stmt = stmt.where(Unit.city == city)
    if kind:
        stmt = stmt.where(Unit.kind == kind)
    if q:
        like = f"%{q}%"
        aliased = select(UnitAlias.unit_id).where(UnitAlias.alias.like(like))
        stmt = stmt.where(Unit.name.like(like) | Unit.id.in_(aliased))
    return [_summary(u) for u in session.scalars(stmt)]


def get_unit(session: Session, unit_id: int) -> dict[str, Any] | None:
    """A unit with its aliases (and their dates), parent, children, successor, groups and accounts."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    aliases = session.scalars(select(UnitAlias).where(UnitAlias.unit_id == unit_id).order_by(UnitAlias.alias))
    children = session.scalars(select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.name))
    predecessors = session.scalars(select(Unit).where(Unit.successor_id == unit_id).order_by(Unit.name))
    groups = session.execute(
        select(UnitGroup.name, UnitGroup.city)
        .join(UnitGroupMember, UnitGroupMember.group_id == UnitGroup.id)
        .where(UnitGroupMember.unit_id == unit_id)
        .order_by(UnitGroup.name)
    )
    accounts = session.scalars(select(User.name).where(User.unit_id == unit_id).order_by(User.name))
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    successor = session.get(Unit, unit.successor_id) if unit.successor_id else None
    return _summary(unit) | {
        "note": unit.note,
        "parent": _summary(parent) if parent else None,
        "successor": _summary(successor) if successor else None,
        "predecessors": [_summary(u) for u in predecessors],
        "children": [_summary(u) for u in children],
        "aliases": [
            {
                "alias": a.alias,
                "relative": a.relative,
                "valid_from": a.valid_from.isoformat() if a.valid_from else None,
                "valid_to": a.valid_to.isoformat() if a.valid_to else None,
                "source": a.source,
            }
            for a in aliases
        ],
        "groups": [{"name": name, "city": city} for name, city in groups],
        "accounts": list(accounts),
    }


def unresolved(session: Session, plan: str | None = None) -> list[dict[str, Any]]:
    """Each unit string no unit was found for, per plan: how many tasks, why, and the closest names."""
    rows = session.execute(
        text(
            """
            SELECT p.plan_id AS plan, pl.city, pu.raw, min(pu.reason) AS reason,
                   count(DISTINCT pu.project_id) AS tasks,
                   array_agg(DISTINCT p.id ORDER BY p.id) AS project_ids,
                   (array_agg(pu.suggestions ORDER BY pu.id))[1] AS suggestions
            FROM project_units pu
            JOIN projects p ON p.id = pu.project_id JOIN plans pl ON pl.id = p.plan_id
            WHERE pu.unit_id IS NULL AND (CAST(:plan AS text) IS NULL OR p.plan_id = :plan)
            GROUP BY p.plan_id, pl.city, pu.raw
            ORDER BY count(DISTINCT pu.project_id) DESC, p.plan_id, pu.raw
            """
        ),
        {"plan": plan},
    ).mappings()
    return [dict(r) for r in rows]


def count_units(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Unit)) or 0)
