"""What an evaluation freezes: every task's state at the date, the figures summed from those rows, and the
canonical bytes they are stored as (docs/evaluations.md).

The figures by unit, category, district and plan are sums over the frozen task rows themselves, not a second
query: whoever holds the snapshot (a third-party evaluator with the package) can recompute every figure from
its rows, and the tables can never disagree with the list.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.derived_status import BEHIND_CLASSES, DELAY_LABELS, SCHEDULE_CLASSES

FORMAT = "xiangmap-evaluation/1"
NO_DISTRICT, NO_CATEGORY, NO_UNIT = "未定位到区县", "未分类", "未列明"
QUARTERS = ("一", "二", "三", "四")


def period_label(kind: str, as_of: date) -> str:
    """The period an evaluation at ``as_of`` speaks of: 2026年11月, 2026年第四季度, 2026年度."""
    if kind == "monthly":
        return f"{as_of.year}年{as_of.month}月"
    if kind == "quarterly":
        return f"{as_of.year}年第{QUARTERS[(as_of.month - 1) // 3]}季度"
    return f"{as_of.year}年度"


def title_for(kind: str, as_of: date, plan_title: str | None) -> str:
    """``株洲市2018年两型社会建设工作要点 2018年第三季度评估``: the plan (or the programme) and the period."""
    return f"{plan_title or '长株潭两型社会建设重点任务'} {period_label(kind, as_of)}评估"


def _tasks_sql(state_sql: str) -> str:
    """The state rows joined to what the snapshot shows of each task: its wording, district and the units the
    register resolves its lead-unit strings to (an unresolved string is kept as written)."""
    return f"""
SELECT s.project_id, s.plan_id, p.title, p.lead_units, s.category, d.name AS district,
       s.status, s.delay_reason, s.percent, s.planned_pct, s.due_milestone, s.next_milestone, s.next_due,
       s.deadline, s.period AS reported_period, s.behind_category, s.behind_reason, s.precision,
       COALESCE(lu.units, '{{}}') AS assessed_units
  FROM ({state_sql}) s
  JOIN projects p ON p.id = s.project_id
  LEFT JOIN project_districts d ON d.project_id = s.project_id
  LEFT JOIN LATERAL (
      SELECT array_agg(DISTINCT COALESCE(u.name, pu.raw) ORDER BY COALESCE(u.name, pu.raw)) AS units
        FROM project_units pu LEFT JOIN units u ON u.id = pu.unit_id
       WHERE pu.project_id = s.project_id AND pu.role = 'lead'
  ) lu ON TRUE
 ORDER BY s.plan_id, s.project_id"""


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _number(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def task_rows(session: Session, state_sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task of the state query, numbered, in plan and task order, as the snapshot stores them."""
    rows = session.execute(text(_tasks_sql(state_sql)), params).mappings()
    out = []
    for no, r in enumerate(rows, start=1):
        units = list(r["assessed_units"]) or list(r["lead_units"])
        out.append(
            {
                "no": no,
                "project_id": int(r["project_id"]),
                "plan_id": r["plan_id"],
                "title": r["title"],
                "lead_units": list(r["lead_units"]),
                "assessed_units": units,
                "category": r["category"],
                "district": r["district"] or NO_DISTRICT,
                "status": r["status"],
                "delay_reason": r["delay_reason"],
                "delay_label": DELAY_LABELS.get(r["delay_reason"]) if r["delay_reason"] else None,
                "percent": _number(r["percent"]),
                "planned_pct": _number(r["planned_pct"]),
                "due_milestone": r["due_milestone"],
                "next_milestone": r["next_milestone"],
                "next_due": _iso(r["next_due"]),
                "deadline": _iso(r["deadline"]),
                "reported_period": _iso(r["reported_period"]),
                "behind_category": r["behind_category"],
                "behind_reason": r["behind_reason"],
                "precision": r["precision"],
            }
        )
    return out


def figures(tasks: list[dict[str, Any]], key: str | None = None) -> dict[str, Any]:
    """Counts by class, completion rate and mean percent of ``tasks`` (``key``: the group's name)."""
    by_status = dict.fromkeys(SCHEDULE_CLASSES, 0)
    for t in tasks:
        by_status[t["status"]] += 1
    n = len(tasks)
    entry: dict[str, Any] = {} if key is None else {"key": key}
    return entry | {
        "projects": n,
        "by_status": by_status,
        "delayed": sum(by_status[c] for c in BEHIND_CLASSES),
        "completion_rate": round(by_status["已完成"] / n, 4) if n else None,
        "mean_percent": round(sum(t["percent"] or 0.0 for t in tasks) / n, 2) if n else None,
    }


def _grouped(tasks: list[dict[str, Any]], keys_of) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        for k in keys_of(t):
            groups[k].append(t)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [figures(members, key) for key, members in ordered]


def groups(tasks: list[dict[str, Any]], plan_titles: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The figures by unit (a task with two lead units counts under each), category, district and plan."""
    by_plan = _grouped(tasks, lambda t: [t["plan_id"]])
    for g in by_plan:
        g["title"] = plan_titles.get(g["key"], g["key"])
    return {
        "unit": _grouped(tasks, lambda t: t["assessed_units"] or [NO_UNIT]),
        "category": _grouped(tasks, lambda t: [t["category"] or NO_CATEGORY]),
        "district": _grouped(tasks, lambda t: [t["district"]]),
        "plan": by_plan,
    }


def unit_task_counts(unit_groups: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """What the scoreboard needs of each unit's tasks: the count and the count of each class."""
    return {g["key"]: {"projects": g["projects"], **g["by_status"]} for g in unit_groups if g["key"] != NO_UNIT}


def canonical(document: dict[str, Any]) -> bytes:
    """The one byte form of a snapshot: sorted keys, no spaces, UTF-8 (so its SHA-256 names it)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
