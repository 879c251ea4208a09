"""The bundled register (geodata/units/units.yaml) read and loaded: what is missing is added, nothing is overwritten.

A person fixes the register in the database (an alias, a rename, a group); the next ``xiangmap setup``
must not undo that, so loading only inserts the units, aliases, groups and members the database lacks.
A unit a person renamed is found again by its old name, now an alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.units import UNIT_KINDS, Unit, UnitAlias, UnitGroup, UnitGroupMember
from service.units.names import relative_by_default

REGISTER_FILE = Path(__file__).resolve().parents[2] / "geodata" / "units" / "units.yaml"


class RegisterError(ValueError):
    """The register file is not what docs/units.md describes (a name twice, an unknown parent or kind)."""


@dataclass(frozen=True)
class AliasSpec:
    name: str
    valid_from: date | None = None
    valid_to: date | None = None
    relative: bool | None = None  # None: by the rule in names.relative_by_default


@dataclass(frozen=True)
class UnitSpec:
    name: str
    kind: str
    short: str | None = None
    city: str | None = None
    parent: str | None = None
    successor: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    note: str | None = None
    aliases: tuple[AliasSpec, ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    name: str
    city: str | None
    members: tuple[tuple[str, date | None, date | None], ...]
    note: str | None = None


@dataclass(frozen=True)
class RegisterFile:
    version: int
    units: tuple[UnitSpec, ...]
    groups: tuple[GroupSpec, ...]


@dataclass
class LoadCounts:
    units: int = 0
    aliases: int = 0
    groups: int = 0
    members: int = 0
    kept: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.units} units, {self.aliases} aliases, {self.groups} groups, {self.members} members added"


def _alias(entry: str | dict[str, Any]) -> AliasSpec:
    if isinstance(entry, str):
        return AliasSpec(entry)
    return AliasSpec(str(entry["name"]), entry.get("valid_from"), entry.get("valid_to"), entry.get("relative"))


def _member(entry: str | dict[str, Any]) -> tuple[str, date | None, date | None]:
    if isinstance(entry, str):
        return entry, None, None
    return str(entry["unit"]), entry.get("valid_from"), entry.get("valid_to")


def read_register(path: Path = REGISTER_FILE) -> RegisterFile:
    """The file parsed and checked: unique names, known kinds, parents and successors that are listed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    units = tuple(
        UnitSpec(
            name=str(u["name"]),
            kind=str(u["kind"]),
            short=u.get("short"),
            city=u.get("city"),
            parent=u.get("parent"),
            successor=u.get("successor"),
            valid_from=u.get("valid_from"),
            valid_to=u.get("valid_to"),
            note=u.get("note"),
            aliases=tuple(_alias(a) for a in u.get("aliases") or ()),
        )
        for u in data["units"]
    )
    names = [u.name for u in units]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RegisterError(f"{path.name}: listed twice: {', '.join(twice)}")
    known = set(names)
    for unit in units:
        if unit.kind not in UNIT_KINDS:
            raise RegisterError(f"{path.name}: {unit.name}: kind {unit.kind!r} is not one of {', '.join(UNIT_KINDS)}")
        for ref in (unit.parent, unit.successor):
            if ref is not None and ref not in known:
                raise RegisterError(f"{path.name}: {unit.name}: {ref!r} is not a unit of the file")
    groups = tuple(
        GroupSpec(str(g["name"]), g.get("city"), tuple(_member(m) for m in g["members"]), g.get("note"))
        for g in data.get("groups") or ()
    )
    for group in groups:
        missing = [m[0] for m in group.members if m[0] not in known]
        if missing:
            raise RegisterError(f"{path.name}: group {group.name}: not units of the file: {', '.join(missing)}")
    return RegisterFile(int(data["version"]), units, groups)


def find_unit(session: Session, name: str) -> Unit | None:
    """The unit of this canonical name, else the one unit having it as an alias (renamed since)."""
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is not None:
        return unit
    ids = set(session.scalars(select(UnitAlias.unit_id).where(UnitAlias.alias == name)))
    return session.get(Unit, ids.pop()) if len(ids) == 1 else None


def load_register(session: Session, register: RegisterFile) -> LoadCounts:
    """Add what the database lacks of ``register`` (no commit: the use case owns the transaction)."""
    counts = LoadCounts()
    by_name: dict[str, Unit] = {}
    for spec in register.units:
        unit = find_unit(session, spec.name)
        if unit is None:
            unit = Unit(
                name=spec.name,
                short_name=spec.short,
                kind=spec.kind,
                city=spec.city,
                valid_from=spec.valid_from,
                valid_to=spec.valid_to,
                note=spec.note,
            )
            session.add(unit)
            counts.units += 1
        by_name[spec.name] = unit
    session.flush()
    for spec in register.units:
        unit = by_name[spec.name]
        if spec.parent and unit.parent_id is None:
            unit.parent_id = by_name[spec.parent].id
        if spec.successor and unit.successor_id is None:
            unit.successor_id = by_name[spec.successor].id
        wanted = [AliasSpec(spec.short)] if spec.short else []
        for alias in [*wanted, *spec.aliases]:
            counts.aliases += add_alias_once(session, unit, alias, source="bundled")
    for group in register.groups:
        counts.members += _load_group(session, group, by_name, counts)
    session.flush()
    return counts


def add_alias_once(session: Session, unit: Unit, alias: AliasSpec, *, source: str) -> int:
    """Insert the alias unless the unit has it from the same start already; 1 when inserted."""
    exists = session.scalar(
        select(func.count())
        .select_from(UnitAlias)
        .where(
            UnitAlias.unit_id == unit.id,
            UnitAlias.alias == alias.name,
            func.coalesce(UnitAlias.valid_from, date.min) == (alias.valid_from or date.min),
        )
    )
    if exists:
        return 0
    relative = relative_by_default(alias.name, unit.city, unit.kind) if alias.relative is None else alias.relative
    session.add(
        UnitAlias(
            unit_id=unit.id,
            alias=alias.name,
            relative=relative,
            valid_from=alias.valid_from,
            valid_to=alias.valid_to,
            source=source,
        )
    )
    return 1


def _load_group(session: Session, spec: GroupSpec, by_name: dict[str, Unit], counts: LoadCounts) -> int:
    city_matches = UnitGroup.city.is_(None) if spec.city is None else UnitGroup.city == spec.city
    group = session.scalar(select(UnitGroup).where(UnitGroup.name == spec.name, city_matches))
    if group is None:
        group = UnitGroup(name=spec.name, city=spec.city, note=spec.note)
        session.add(group)
        session.flush()
        counts.groups += 1
    have = set(session.scalars(select(UnitGroupMember.unit_id).where(UnitGroupMember.group_id == group.id)))
    added = 0
    for name, valid_from, valid_to in spec.members:
        unit = by_name[name]
        if unit.id not in have:
            session.add(UnitGroupMember(group_id=group.id, unit_id=unit.id, valid_from=valid_from, valid_to=valid_to))
            added += 1
    return added
