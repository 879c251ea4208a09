"""A set of milestones checked before it replaces the stored one: each problem named with its row."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from service.milestones.backward import Milestone

MAX_MILESTONES = 60  # five years of monthly planned percents


def problems(items: list[Milestone], year: int | None) -> list[str]:
    """Why the set cannot be kept (empty: it can).  Rows are numbered from 1 as the person sees them."""
    found: list[str] = []
    if len(items) > MAX_MILESTONES:
        found.append(f"节点最多 {MAX_MILESTONES} 个，收到 {len(items)} 个 / at most {MAX_MILESTONES} milestones")
    seen: set[tuple[str, date]] = set()
    for n, m in enumerate(items, 1):
        if not m.name.strip() or len(m.name) > 100:
            found.append(f"第 {n} 个节点：名称须为 1 到 100 个字 / milestone {n}: name must be 1-100 characters")
        if not 0 <= m.planned_percent <= 100:
            found.append(f"第 {n} 个节点：计划比例须在 0 到 100 之间 / milestone {n}: percent must be 0-100")
        if year is not None and not year - 5 <= m.due.year <= year + 10:
            found.append(
                f"第 {n} 个节点：日期 {m.due.isoformat()} 与任务年度 {year} 相差太远 / "
                f"milestone {n}: date {m.due.isoformat()} is far from the task's year {year}"
            )
        if (m.name, m.due) in seen:
            found.append(f"第 {n} 个节点：与前面的节点重复 / milestone {n}: same name and date as an earlier one")
        seen.add((m.name, m.due))
    ordered = sorted(items, key=lambda m: (m.due, m.planned_percent))
    for earlier, later in pairwise(ordered):
        if later.planned_percent < earlier.planned_percent:
            found.append(
                f"节点“{later.name}”（{later.due.isoformat()}，{later.planned_percent:g}%）的计划比例低于更早的"
                f"“{earlier.name}”（{earlier.planned_percent:g}%） / planned percents must not fall over time"
            )
    return found
