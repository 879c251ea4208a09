"""One unit string of a plan to the register: a unit, a collective name's members, or flagged for a person.

The order (docs/units.md): a collective name of the plan's city (or the province's) expands to its members
valid at the plan's date; otherwise a canonical name or an alias valid at that date names one unit, a
name relative to a city (市发改委) only in a plan of that city; anything else is flagged with why and
the three closest names.  Nothing is ever created here: a near-miss (市住建居) is a person's to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz

from service.units.index import Group, Name, RegisterIndex, UnitInfo
from service.units.names import normalise, valid_on

SUGGESTIONS = 3


@dataclass(frozen=True)
class Suggestion:
    matched: str  # the name that came close
    score: float  # 0-100, rapidfuzz's ratio of the normal forms
    unit_id: int | None = None
    unit: str | None = None  # the unit's canonical name
    group: str | None = None  # or the collective name

    def as_dict(self) -> dict[str, Any]:
        found = {"matched": self.matched, "score": round(self.score, 1)}
        if self.group is not None:
            return found | {"group": self.group}
        return found | {"unit_id": self.unit_id, "unit": self.unit}


@dataclass(frozen=True)
class Resolution:
    raw: str
    units: tuple[int, ...] = ()
    via_group: str | None = None
    reason: str | None = None  # why not resolved (Chinese / English)
    suggestions: tuple[Suggestion, ...] = field(default_factory=tuple)

    @property
    def resolved(self) -> bool:
        return self.reason is None


def resolve(index: RegisterIndex, raw: str, city: str | None, on: date) -> Resolution:
    """``raw`` as a plan of ``city`` (None: the plan names none) published ``on`` means it."""
    key = normalise(raw)
    if not key:
        return Resolution(raw, reason="空的单位名称 / an empty unit name")
    if key in index.groups:
        return _expand(index, raw, index.groups[key], city, on)
    if key in index.names:
        found = _by_name(index, raw, index.names[key], city, on)
        if found is not None:
            return found
    return Resolution(
        raw,
        reason=f"未知单位名称“{raw}” / unknown unit name {raw!r}: add an alias or a unit",
        suggestions=closest(index, key, city),
    )


def _expand(index: RegisterIndex, raw: str, groups: list[Group], city: str | None, on: date) -> Resolution:
    chosen = next((g for g in groups if g.city == city and city is not None), None)
    chosen = chosen or next((g for g in groups if g.city is None), None)
    if chosen is None:
        cities = "、".join(sorted(g.city or "省" for g in groups))
        if city is None:
            reason = (
                f"计划未注明城市，“{raw}”是哪个市的无法确定（已登记：{cities}） / the plan has no city, so which "
                f"city's {raw} is meant cannot be told (registered for {cities}); set the plan's city"
            )
        else:
            reason = f"“{raw}”未为{city}登记成员（已登记：{cities}） / {raw} has no members registered for {city}"
        return Resolution(raw, reason=reason, suggestions=tuple(_group_suggestion(g) for g in groups[:SUGGESTIONS]))
    members = tuple(m.unit_id for m in chosen.members if valid_on(m.valid_from, m.valid_to, on))
    if not members:
        return Resolution(raw, reason=f"“{raw}”在 {on} 没有成员 / {raw} has no members on {on}")
    return Resolution(raw, units=members, via_group=chosen.shown)


def _by_name(index: RegisterIndex, raw: str, names: list[Name], city: str | None, on: date) -> Resolution | None:
    """The unit ``names`` (all spelled like ``raw``) point at, or why not; None to fall back to closest names."""
    valid = [n for n in names if valid_on(n.valid_from, n.valid_to, on) and _unit_valid(index.units[n.unit_id], on)]
    usable = [n for n in valid if not n.relative or (city is not None and index.units[n.unit_id].city == city)]
    if usable:
        tiers = (
            {n.unit_id for n in usable if city is not None and index.units[n.unit_id].city == city},
            {n.unit_id for n in usable if index.units[n.unit_id].city is None},
            {n.unit_id for n in usable},
        )
        best = next(t for t in tiers if t)
        if len(best) == 1:
            return Resolution(raw, units=(best.pop(),))
        return Resolution(
            raw,
            reason=f"“{raw}”可指多个单位 / {raw} names more than one unit: choose one and add an alias",
            suggestions=tuple(_unit_suggestion(index.units[u], raw, 100.0) for u in sorted(best)[:SUGGESTIONS]),
        )
    if valid and city is None:
        units = sorted({n.unit_id for n in valid})
        names_of = "、".join(index.units[u].name for u in units)
        return Resolution(
            raw,
            reason=(
                f"计划未注明城市，“{raw}”无法确定是哪个市的单位（{names_of}） / the plan has no city, so {raw} "
                f"cannot be told apart ({names_of}); set the plan's city or write the full name"
            ),
            suggestions=tuple(_unit_suggestion(index.units[u], raw, 100.0) for u in units[:SUGGESTIONS]),
        )
    if valid:
        return None  # a relative name of another city only: the closest names of this city instead
    return _out_of_date(index, raw, names, on)


def _out_of_date(index: RegisterIndex, raw: str, names: list[Name], on: date) -> Resolution:
    """The name exists but not on ``on``: renamed before, named after, or the unit ceased (its successor)."""
    suggestions: list[Suggestion] = []
    spans: list[str] = []
    for name in names:
        unit = index.units[name.unit_id]
        current = index.units.get(unit.successor_id) if unit.successor_id and unit.valid_to else None
        target = current if current is not None and unit.valid_to and unit.valid_to <= on else unit
        if all(s.unit_id != target.id for s in suggestions):
            suggestions.append(_unit_suggestion(target, name.shown, 100.0))
        start = name.valid_from or unit.valid_from
        end = name.valid_to or unit.valid_to
        spans.append(f"{start or '…'}–{end or '…'}")
    used = "、".join(spans)
    names_of = "、".join(s.unit or "" for s in suggestions)
    return Resolution(
        raw,
        reason=(
            f"“{raw}”在 {on} 已不是有效名称（使用期 {used}），现为 {names_of} / {raw} is not a name in use on {on} "
            f"(used {used}); the unit is now {names_of}"
        ),
        suggestions=tuple(suggestions[:SUGGESTIONS]),
    )


def _unit_valid(unit: UnitInfo, on: date) -> bool:
    return valid_on(unit.valid_from, unit.valid_to, on)


def _unit_suggestion(unit: UnitInfo, matched: str, score: float) -> Suggestion:
    return Suggestion(matched=matched, score=score, unit_id=unit.id, unit=unit.name)


def _group_suggestion(group: Group) -> Suggestion:
    return Suggestion(matched=group.shown, score=100.0, group=f"{group.shown}（{group.city or '省'}）")


def closest(index: RegisterIndex, key: str, city: str | None, limit: int = SUGGESTIONS) -> tuple[Suggestion, ...]:
    """The ``limit`` names closest to ``key`` that a plan of ``city`` could mean, one per unit, best first.

    Another city's units are left out (市住建局 in a Zhuzhou plan is never Changsha's, and a near-miss of a
    Zhuzhou district is not a Changsha one); with no city, every name is a candidate.
    """
    best: dict[object, Suggestion] = {}
    for text, names in index.names.items():
        score = fuzz.ratio(key, text)
        for name in names:
            unit = index.units[name.unit_id]
            if city is not None and unit.city not in (None, city):
                continue
            found = _unit_suggestion(unit, name.shown, score)
            if unit.id not in best or best[unit.id].score < score:
                best[unit.id] = found
    for text, groups in index.groups.items():
        score = fuzz.ratio(key, text)
        for group in groups:
            if city is not None and group.city not in (None, city):
                continue
            best[("group", text, group.city)] = Suggestion(matched=group.shown, score=score, group=group.shown)
    ranked = sorted(best.values(), key=lambda s: (-s.score, s.matched))
    return tuple(ranked[:limit])
