"""What a person changes in the register: a unit, an alias, a rename, a collective name, an account's unit.

Plain functions without commits; ``service.units.usecases`` audits, relinks and commits.  Each raises
``UnitError`` with a reason a person can act on, before anything is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import User
from service.models.units import UNIT_KINDS, Unit, UnitAlias, UnitGroup, UnitGroupMember
from service.units.register import AliasSpec, add_alias_once, find_unit


class UnitError(ValueError):
    """A change the register refuses, with why (the routes answer it as 400 or 404)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def unit_by_ref(session: Session, ref: str | int) -> Unit:
    """A unit by id, canonical name or unambiguous alias."""
    unit = None
    if isinstance(ref, int) or str(ref).isdigit():
        unit = session.get(Unit, int(ref))
    if unit is None:
        unit = find_unit(session, str(ref))
    if unit is None:
        raise UnitError(f"no unit {ref!r} (an id, a canonical name or an alias of one unit)", missing=True)
    return unit


def unit_state(unit: Unit) -> dict[str, Any]:
    """What the audit log keeps of a unit."""
    return {
        "id": unit.id,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "city": unit.city,
        "parent_id": unit.parent_id,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "successor_id": unit.successor_id,
    }


def add_unit(
    session: Session,
    name: str,
    kind: str,
    *,
    short_name: str | None = None,
    city: str | None = None,
    parent: str | int | None = None,
    aliases: list[str] | None = None,
) -> Unit:
    name = name.strip()
    if not name:
        raise UnitError("a unit needs a name")
    if kind not in UNIT_KINDS:
        raise UnitError(f"kind {kind!r} is not one of {', '.join(UNIT_KINDS)}")
    if find_unit(session, name) is not None:
        raise UnitError(f"{name} is already a unit's name or alias")
    parent_unit = unit_by_ref(session, parent) if parent is not None else None
    unit = Unit(
        name=name,
        short_name=short_name,
        kind=kind,
        city=city or (parent_unit.city if parent_unit else None),
        parent_id=parent_unit.id if parent_unit else None,
        source="person",
    )
    session.add(unit)
    session.flush()
    for alias in [short_name, *(aliases or [])]:
        if alias:
            add_alias_once(session, unit, AliasSpec(alias), source="person")
    session.flush()
    return unit


def add_alias(
    session: Session,
    unit: Unit,
    alias: str,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    relative: bool | None = None,
) -> UnitAlias:
    alias = alias.strip()
    if not alias:
        raise UnitError("an alias needs a name")
    if valid_from and valid_to and valid_from >= valid_to:
        raise UnitError(f"valid_from {valid_from} is not before valid_to {valid_to}")
    if add_alias_once(session, unit, AliasSpec(alias, valid_from, valid_to, relative), source="person") == 0:
        raise UnitError(f"{unit.name} has the alias {alias} already")
    session.flush()
    return session.scalars(
        select(UnitAlias).where(UnitAlias.unit_id == unit.id, UnitAlias.alias == alias).order_by(UnitAlias.id.desc())
    ).first()  # type: ignore[return-value]


def rename(session: Session, unit: Unit, new_name: str, on: date, *, new_short: str | None = None) -> Unit:
    """The unit is the same unit after a rename: its old names become aliases that end on ``on``.

    So a 2018 task linked to 市环保局 and a 2020 task naming 市生态环境局 share one unit.
    """
    new_name = new_name.strip()
    if not new_name or new_name == unit.name:
        raise UnitError("give the new name, different from the current one")
    other = find_unit(session, new_name)
    if other is not None and other.id != unit.id:
        raise UnitError(f"{new_name} is already the name or an alias of {other.name}")
    _end_name(session, unit, unit.name, on)
    if new_short and unit.short_name and unit.short_name != new_short:
        _end_name(session, unit, unit.short_name, on)
    unit.name = new_name
    if new_short:
        unit.short_name = new_short
        add_alias_once(session, unit, AliasSpec(new_short, on, None), source="rename")
    session.flush()
    return unit


def _end_name(session: Session, unit: Unit, name: str, on: date) -> None:
    """``name`` stops naming the unit on ``on``: its open aliases end then, or an ending alias is added."""
    open_aliases = session.scalars(
        select(UnitAlias).where(UnitAlias.unit_id == unit.id, UnitAlias.alias == name, UnitAlias.valid_to.is_(None))
    ).all()
    for alias in open_aliases:
        if alias.valid_from is not None and alias.valid_from >= on:
            raise UnitError(f"{name} is used from {alias.valid_from}, after the rename on {on}")
        alias.valid_to = on
    if not open_aliases:
        add_alias_once(session, unit, AliasSpec(name, None, on), source="rename")


def add_group(session: Session, name: str, city: str | None, members: list[Unit], note: str | None = None) -> UnitGroup:
    """A collective name for ``city`` (None: the province's) standing for ``members``."""
    if not members:
        raise UnitError("a collective name needs members")
    city_matches = UnitGroup.city.is_(None) if city is None else UnitGroup.city == city
    group = session.scalar(select(UnitGroup).where(UnitGroup.name == name, city_matches))
    if group is None:
        group = UnitGroup(name=name, city=city, note=note, source="person")
        session.add(group)
        session.flush()
    have = set(session.scalars(select(UnitGroupMember.unit_id).where(UnitGroupMember.group_id == group.id)))
    for unit in members:
        if unit.id not in have:
            session.add(UnitGroupMember(group_id=group.id, unit_id=unit.id))
    session.flush()
    return group


def assign_user(session: Session, user_name: str, unit: Unit | None) -> tuple[int | None, int | None]:
    """Put an account in a unit (None: in none); returns the unit ids before and after."""
    user = session.scalar(select(User).where(User.name == user_name))
    if user is None:
        raise UnitError(f"no user {user_name!r}", missing=True)
    before = user.unit_id
    user.unit_id = unit.id if unit else None
    session.flush()
    return before, user.unit_id
