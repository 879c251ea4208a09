"""The register read once into memory for resolving: every name of every unit, and every collective name.

Resolving a plan's few hundred unit strings against a few hundred names is faster and simpler over a
snapshot than with a query per string; the snapshot lives for one use case call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.units import Unit, UnitAlias, UnitGroup, UnitGroupMember
from service.units.names import normalise


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    short_name: str | None
    kind: str
    city: str | None
    parent_id: int | None
    valid_from: date | None
    valid_to: date | None
    successor_id: int | None


@dataclass(frozen=True)
class Name:
    """One name of a unit: its canonical name or an alias, with the dates it is used."""

    shown: str
    unit_id: int
    relative: bool
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class Member:
    unit_id: int
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class Group:
    shown: str
    city: str | None
    members: tuple[Member, ...]


@dataclass
class RegisterIndex:
    units: dict[int, UnitInfo] = field(default_factory=dict)
    names: dict[str, list[Name]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, list[Group]] = field(default_factory=lambda: defaultdict(list))


def load_index(session: Session) -> RegisterIndex:
    index = RegisterIndex()
    for unit in session.scalars(select(Unit)):
        index.units[unit.id] = UnitInfo(
            unit.id,
            unit.name,
            unit.short_name,
            unit.kind,
            unit.city,
            unit.parent_id,
            unit.valid_from,
            unit.valid_to,
            unit.successor_id,
        )
        # the canonical name names the unit anywhere, for as long as the unit exists
        index.names[normalise(unit.name)].append(Name(unit.name, unit.id, False, None, None))
    for alias in session.scalars(select(UnitAlias)):
        index.names[normalise(alias.alias)].append(
            Name(alias.alias, alias.unit_id, alias.relative, alias.valid_from, alias.valid_to)
        )
    members: dict[int, list[Member]] = defaultdict(list)
    for member in session.scalars(select(UnitGroupMember)):
        members[member.group_id].append(Member(member.unit_id, member.valid_from, member.valid_to))
    for group in session.scalars(select(UnitGroup)):
        index.groups[normalise(group.name)].append(Group(group.name, group.city, tuple(members[group.id])))
    return index
