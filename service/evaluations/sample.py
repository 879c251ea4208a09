"""A synthetic evaluation snapshot of any size, in the stored format (docs/evaluations.md): for the benches
and for tests of the drawing and the workbook, which need no database."""

from __future__ import annotations

import random
from typing import Any

from service.common.derived_status import DELAY_LABELS, SCHEDULE_CLASSES
from service.evaluations.snapshot import figures

UNITS = (
    "株洲市发改委",
    "株洲市生态环境局",
    "株洲市住建局",
    "株洲市水利局",
    "荷塘区人民政府",
    "石峰区人民政府",
    "天元区人民政府",
    "芦淞区人民政府",
    "株洲市自然资源和规划局",
    "株洲市工信局",
)
CATEGORIES = ("道路交通", "污水处理", "生态修复", "水环境治理", "产业园区", "体制机制", "公共服务")
DISTRICTS = ("荷塘区", "芦淞区", "石峰区", "天元区", "渌口区", "未定位到区县")
REASONS = ("资金", "用地", "审批", "拆迁", "设计", "其他")


def sample_snapshot(n_tasks: int = 120, seed: int = 17) -> dict[str, Any]:
    """A snapshot of ``n_tasks`` made-up tasks with every section filled (the numbers are not meaningful)."""
    rng = random.Random(seed)
    tasks: list[dict[str, Any]] = []
    for i in range(1, n_tasks + 1):
        status = rng.choices(SCHEDULE_CLASSES, weights=(40, 25, 10, 20, 5))[0]
        behind = status in ("已开工进展缓慢", "应开工未开工")
        reason = (
            (
                "not_started"
                if status == "应开工未开工"
                else rng.choice(("deadline_passed", "behind_milestone", "reported"))
            )
            if behind
            else None
        )
        percent = 100.0 if status == "已完成" else (0.0 if status == "应开工未开工" else round(rng.uniform(5, 95), 1))
        tasks.append(
            {
                "project_id": i,
                "no": i,
                "plan_id": "zhuzhou-2018" if i % 3 else "changsha-2020",
                "title": f"第{i}项任务：{rng.choice(CATEGORIES)}工程建设（示例，名称可能较长以检验换行与截断）",
                "lead_units": [rng.choice(UNITS)],
                "category": rng.choice(CATEGORIES),
                "district": rng.choice(DISTRICTS),
                "status": status,
                "delay_reason": reason,
                "delay_label": DELAY_LABELS.get(reason) if reason else None,
                "percent": percent,
                "planned_pct": round(rng.uniform(10, 100), 1) if rng.random() < 0.6 else None,
                "due_milestone": rng.choice(("开工", "主体完工", None)),
                "next_milestone": rng.choice(("主体完工", "竣工验收", None)),
                "next_due": "2026-12-31",
                "deadline": "2026-12-31",
                "reported_period": "2026-11-01",
                "behind_category": rng.choice(REASONS) if behind else None,
                "behind_reason": "征拆协调未完成，资金拨付滞后" if behind else None,
                "precision": rng.choice((1, 2, 3, 8)),
            }
        )
    groups = {
        "unit": [figures([t for t in tasks if u in t["lead_units"]], u) for u in UNITS],
        "category": [figures([t for t in tasks if t["category"] == c], c) for c in CATEGORIES],
        "district": [figures([t for t in tasks if t["district"] == d], d) for d in DISTRICTS],
        "plan": [
            figures([t for t in tasks if t["plan_id"] == p], p) | {"title": title}
            for p, title in (
                ("zhuzhou-2018", "株洲市2018年两型社会建设工作要点"),
                ("changsha-2020", "长沙市2020年工作计划"),
            )
        ],
    }
    summary = figures(tasks)
    parts = ("completion", "timeliness", "rectification", "violations")
    labels = {
        "completion": "任务完成",
        "timeliness": "按节点推进",
        "rectification": "案件按期整改",
        "violations": "违法违规",
    }
    weights = {"completion": 40, "timeliness": 30, "rectification": 20, "violations": 10}
    units = []
    for u in UNITS:
        breakdown = []
        for p in parts:
            value = round(rng.random(), 4)
            breakdown.append(
                {
                    "part": p,
                    "label": labels[p],
                    "weight": weights[p],
                    "value": value,
                    "points": round(weights[p] * value, 2),
                    "basis": f"{rng.randint(0, 9)}/{rng.randint(9, 12)}",
                }
            )
        units.append({"unit": u, "score": round(sum(b["points"] for b in breakdown), 2), "parts": breakdown})
    units.sort(key=lambda u: (-u["score"], u["unit"]))
    for rank, u in enumerate(units, start=1):
        u["rank"] = rank
    return {
        "format": "xiangmap-evaluation/1",
        "evaluation": {
            "id": 1,
            "kind": "quarterly",
            "kind_label": "季度评估",
            "period": "2026年第四季度",
            "as_of": "2026-12-03",
            "title": "株洲市2018年两型社会建设工作要点 2026年第四季度评估",
            "scope": {"plan_id": None, "plan_title": "全部计划"},
            "created_at": "2026-12-03T15:20:00+08:00",
            "created_by": "planner",
        },
        "basis": {
            "data_version": "1234@1764750000.0",
            "delay_threshold_pct": 0.0,
            "rules": {"geodata/rules/scoreboard.yaml": "0" * 64, "service/common/derived_status.py": "1" * 64},
            "software": "xiangmap 0.1.0",
        },
        "summary": summary,
        "tasks": tasks,
        "groups": groups,
        "cases": {
            "by_unit": [
                {
                    "unit_id": k,
                    "unit": u,
                    "open": rng.randint(0, 5),
                    "overdue": rng.randint(0, 2),
                    "closed": rng.randint(0, 9),
                    "withdrawn": 0,
                    "due": 5,
                    "closed_on_time": 3,
                    "violations": 1,
                }
                for k, u in enumerate(UNITS, start=1)
            ],
            "totals": {"open": 12, "overdue": 4, "closed": 30, "withdrawn": 1, "violations": 6},
            "time_to_close": {"closed": 30, "median_days": 12.0, "mean_days": 14.5},
        },
        "scoreboard": {
            "rule": {
                "name": "长株潭两型社会建设重点任务考核",
                "version": "2026.1",
                "sha256": "0" * 64,
                "weights": weights,
            },
            "units": units,
        },
        "wall_map": {"name": "wallmap.png", "media_type": "image/png", "sha256": "2" * 64},
    }
