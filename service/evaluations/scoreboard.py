"""The units' scoreboard (考核, 003 三(一)): a rule read from YAML, applied to an evaluation's frozen rows.

The rule is data (``geodata/rules/assessment.yaml``): a weight per part, and how a part with nothing to judge
scores.  Every score comes with its breakdown (each part's value, weight, points and the counts behind it),
so a unit can check its score by hand; the rule's version and SHA-256 are stored with each evaluation.

Plain functions on plain data: the use case reads the tasks and the cases' figures and passes them in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PARTS = ("completion", "timeliness", "rectification", "violations")
NONE_DUE = ("full", "zero")
DEFAULT_LABELS = {
    "completion": "任务完成",
    "timeliness": "按节点推进",
    "rectification": "案件按期整改",
    "violations": "违法违规",
}


class RuleError(ValueError):
    """The rule file is not a rule: the message names the file and the field."""


@dataclass(frozen=True)
class Part:
    key: str
    label: str
    weight: float
    none_due: str = "full"
    points_per_case: float = 0.0


@dataclass(frozen=True)
class Rule:
    name: str
    version: str
    parts: tuple[Part, ...]
    path: str
    sha256: str

    def describe(self) -> dict[str, Any]:
        """What an evaluation stores of its rule."""
        return {
            "name": self.name,
            "version": self.version,
            "file": self.path,
            "sha256": self.sha256,
            "weights": {p.key: p.weight for p in self.parts},
            "parts": [
                {"part": p.key, "label": p.label, "weight": p.weight, "none_due": p.none_due}
                | ({"points_per_case": p.points_per_case} if p.key == "violations" else {})
                for p in self.parts
            ],
        }

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise RuleError(f"{where}: must be a number ≥ 0, not {raw!r}")
    return float(raw)


def parse_rule(content: bytes, path: str) -> Rule:
    """The rule in ``content`` (the bytes of ``path``, hashed as read); RuleError naming what is wrong."""
    try:
        raw = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: not UTF-8 YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise RuleError(f"{path}: must be a mapping with name, version and parts")
    for key in ("name", "version"):
        if not isinstance(raw.get(key), str | int | float) or not str(raw[key]).strip():
            raise RuleError(f"{path}: needs '{key}'")
    given = raw.get("parts")
    if not isinstance(given, dict):
        raise RuleError(f"{path}: needs 'parts' with {', '.join(PARTS)}")
    unknown = sorted(set(given) - set(PARTS))
    if unknown:
        raise RuleError(f"{path}: parts.{unknown[0]} is not one of {', '.join(PARTS)}")
    parts = []
    for key in PARTS:
        spec = given.get(key)
        if not isinstance(spec, dict):
            raise RuleError(f"{path}: parts.{key} is missing (give weight: 0 to leave it out)")
        none_due = str(spec.get("none_due", "full"))
        if none_due not in NONE_DUE:
            raise RuleError(f"{path}: parts.{key}.none_due must be full or zero, not {none_due!r}")
        parts.append(
            Part(
                key=key,
                label=str(spec.get("label") or DEFAULT_LABELS[key]),
                weight=_number(spec.get("weight"), f"{path}: parts.{key}.weight"),
                none_due=none_due,
                points_per_case=_number(spec.get("points_per_case", 0), f"{path}: parts.{key}.points_per_case"),
            )
        )
    return Rule(
        name=str(raw["name"]).strip(),
        version=str(raw["version"]).strip(),
        parts=tuple(parts),
        path=path,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def load_rule(path: Path, shown_as: str) -> Rule:
    """The rule file at ``path``, named ``shown_as`` (a path relative to the project) in what is stored."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise RuleError(f"{shown_as}: cannot be read ({exc.strerror})") from exc
    return parse_rule(content, shown_as)


def _ratio(part: Part, done: int, of: int) -> tuple[float, str]:
    if of == 0:
        return (
            1.0 if part.none_due == "full" else 0.0
        ), f"无可计项（{'记满分' if part.none_due == 'full' else '记零分'}）"
    return done / of, f"{done}/{of}"


def _part(part: Part, value: float, basis: str) -> dict[str, Any]:
    return {
        "part": part.key,
        "label": part.label,
        "weight": part.weight,
        "value": round(value, 4),
        "points": round(part.weight * value, 2),
        "basis": basis,
    }


def unit_score(rule: Rule, tasks: dict[str, int], cases: dict[str, int]) -> list[dict[str, Any]]:
    """One unit's parts.  ``tasks``: projects and the count of each schedule class; ``cases``: ``due``,
    ``closed_on_time`` and ``violations`` (missing counts are 0)."""
    n = int(tasks.get("projects", 0))
    done = int(tasks.get("已完成", 0))
    suspended = int(tasks.get("暂停", 0))
    on_schedule = int(tasks.get("正常推进", 0)) + done
    out = []
    for part in rule.parts:
        if part.key == "completion":
            value, basis = _ratio(part, done, n)
            basis = f"已完成 {basis}"
        elif part.key == "timeliness":
            value, basis = _ratio(part, on_schedule, n - suspended)
            basis = f"正常推进或已完成 {basis}"
        elif part.key == "rectification":
            value, basis = _ratio(part, int(cases.get("closed_on_time", 0)), int(cases.get("due", 0)))
            basis = f"按期销号 {basis}"
        else:
            violations = int(cases.get("violations", 0))
            deducted = min(part.weight, part.points_per_case * violations)
            value = (part.weight - deducted) / part.weight if part.weight else 0.0
            basis = f"违法违规 {violations} 件，每件扣 {part.points_per_case:g} 分"
        out.append(_part(part, value, basis))
    return out


def scoreboard(rule: Rule, unit_tasks: dict[str, dict[str, int]], unit_cases: dict[str, dict[str, int]]) -> dict:
    """Every unit leading a task, scored and ranked (ties share a rank, then by name)."""
    units = []
    for unit in sorted(unit_tasks):
        parts = unit_score(rule, unit_tasks[unit], unit_cases.get(unit, {}))
        units.append({"unit": unit, "score": round(sum(p["points"] for p in parts), 2), "parts": parts})
    units.sort(key=lambda u: (-u["score"], u["unit"]))
    rank, last = 0, None
    for i, entry in enumerate(units, start=1):
        if entry["score"] != last:
            rank, last = i, entry["score"]
        entry["rank"] = rank
    return {"rule": rule.describe(), "out_of": sum(p.weight for p in rule.parts), "units": units}
