"""Bundled demonstration progress history for the 2018 projects, clearly labelled ``demo = true``.

Nobody published monthly reports for the 2018 plan, yet a map with every project "not started" shows
nothing.  So a seeded generator (``generate``) writes a plausible year of monthly reports per project:
most finish by their deadline, some lag, a few are reported delayed or suspended, one in twenty never
starts.  Each project's history depends only on its key (the seed is derived from it), so the file
geodata/progress/demo_reports_2018.csv (made by geodata/progress/generate_demo.py) and any project
added later get the same history whether they come from the file or are generated at setup.

The done part of linear and areal projects is stored in the file as a fraction and cut from the
project's own geometry at load time (a leading substring of each line, a west-to-east slice of each
area), so it follows the geocoder when locations improve.  See docs/decisions/0043-demo-progress.md.
"""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service.database import session_scope
from service.settings import get_settings

DEMO_YEAR = 2018
DEMO_FILE = "progress/demo_reports_2018.csv"
FIELDS = ("project_key", "period", "status", "percent", "investment_wan", "note", "done_fraction")
REPORTER = "demo-generator"

# (low, high) total investment in 万元 by category; None: a reform task with no capital budget
BUDGETS: dict[str, tuple[float, float] | None] = {
    "清水塘搬迁改造": (5_000, 60_000),
    "碧水蓝天": (800, 20_000),
    "绿心保护": (300, 8_000),
    "示范区建设": (2_000, 40_000),
    "示范创建": (200, 3_000),
    "清洁低碳技术": (500, 15_000),
    "一体化": (1_000, 30_000),
}
NOTES = {
    "未启动": ("前期工作准备中", "方案编制中", "等待立项批复"),
    "推进中": ("完成前期手续，开始施工", "主体工程施工中", "按计划推进", "完成阶段性目标", "配套工程同步推进"),
    "已完成": ("已完成并通过验收", "完成年度目标任务", "已投入运行"),
    "滞后": ("征地拆迁受阻，进度滞后", "资金未完全到位", "手续办理滞后，正在协调"),
    "暂停": ("因规划调整暂停", "环评复核，暂停施工"),
}


@dataclass(frozen=True)
class DemoProject:
    key: str
    category: str | None
    deadline: date | None


@dataclass(frozen=True)
class DemoReport:
    project_key: str
    period: str  # YYYY-MM
    status: str
    percent: float
    investment_wan: float | None
    note: str
    done_fraction: float | None


def _rng(key: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"xiangmap-demo-{key}".encode()).digest()[:8], "big"))


def history(project: DemoProject) -> list[DemoReport]:
    """One project's monthly reports for the demo year; deterministic in the project's key."""
    rng = _rng(project.key)
    end_month = project.deadline.month if project.deadline and project.deadline.year == DEMO_YEAR else 12
    fate = rng.choices(("on_time", "late", "delayed", "suspended", "idle"), weights=(60, 18, 12, 5, 5))[0]
    start = rng.randint(1, 4)
    finish = {
        "on_time": rng.randint(max(start + 1, end_month - 4), max(start + 1, end_month)),
        "late": 13,
        "delayed": 13,
        "suspended": 13,
        "idle": 13,
    }[fate]
    final = {"on_time": 100, "late": rng.randint(14, 19) * 5, "delayed": rng.randint(8, 14) * 5}.get(fate, 0)
    stop = rng.randint(start + 2, 10) if fate == "suspended" else 13
    if fate == "suspended":
        final = rng.randint(4, 10) * 5
    budget_range = BUDGETS.get(project.category or "")
    budget = round(rng.uniform(*budget_range), -1) if budget_range else None
    # a done fraction for every report with progress; the loader cuts it only from linear / areal projects
    reports: list[DemoReport] = []
    percent = 0.0
    for month in range(1, 13):
        period = f"{DEMO_YEAR}-{month:02d}"
        if fate == "idle" or month < start:
            reports.append(
                DemoReport(project.key, period, "未启动", 0, 0 if budget else None, rng.choice(NOTES["未启动"]), None)
            )
            continue
        if month >= stop:
            status = "暂停"
        else:
            span = max(1, min(finish, 12) - start + 1)
            target = (
                final * min(1.0, (month - start + 1) / span) if fate != "on_time" else 100 * (month - start + 1) / span
            )
            percent = max(
                percent, min(final if fate != "on_time" else 100, round(target / 5 * rng.uniform(0.85, 1.1)) * 5)
            )
            if fate == "on_time" and month >= finish:
                percent = 100
            if percent >= 100:
                status = "已完成"
            else:
                elapsed = 100 * month / end_month
                status = "滞后" if fate == "delayed" and elapsed - percent > 25 else "推进中"
        investment = round(budget * percent / 100 * rng.uniform(0.9, 1.05), 1) if budget else None
        done = round(min(1.0, percent / 100 * rng.uniform(0.85, 1.0)), 3) if percent > 0 else None
        if status == "已完成":
            done = 1.0
        reports.append(
            DemoReport(project.key, period, status, float(percent), investment, rng.choice(NOTES[status]), done)
        )
        if status == "已完成":
            break  # a finished project stops reporting
    return reports


def projects_from_database(session: Session) -> list[DemoProject]:
    """The demo year's projects as the database holds them."""
    rows = session.execute(
        text(
            "SELECT p.key, p.category, p.deadline FROM projects p JOIN plans pl ON pl.id = p.plan_id"
            " WHERE COALESCE(p.year, pl.year) = :year ORDER BY p.key"
        ),
        {"year": DEMO_YEAR},
    )
    return [DemoProject(r.key, r.category, r.deadline) for r in rows]


def projects_from_register(path: Path) -> list[DemoProject]:
    """The demo year's projects from the committed register (geodata/plans/projects.csv)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return sorted(
            (
                DemoProject(
                    row["key"],
                    row["category"] or None,
                    date.fromisoformat(row["deadline"]) if row["deadline"] else None,
                )
                for row in csv.DictReader(handle)
                if (row.get("year") or "").strip() == str(DEMO_YEAR)
            ),
            key=lambda p: p.key,
        )


def write_csv(reports: list[DemoReport], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for report in reports:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(report).items()})


def read_csv(path: Path) -> list[DemoReport]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            DemoReport(
                row["project_key"],
                row["period"],
                row["status"],
                float(row["percent"]),
                float(row["investment_wan"]) if row["investment_wan"] else None,
                row["note"],
                float(row["done_fraction"]) if row["done_fraction"] else None,
            )
            for row in csv.DictReader(handle)
        ]


INSERT = """
INSERT INTO progress_reports (project_id, period, status, percent, investment_wan, note, done_geom, reported_by, demo)
SELECT p.id, CAST(:period || '-01' AS date), :status, :percent, :investment_wan, :note,
    CASE WHEN NOT ST_IsEmpty(d.geom) THEN d.geom END, :reporter, TRUE
FROM projects p
CROSS JOIN LATERAL (
    SELECT ST_MakeValid(ST_CollectionExtract(p.geom, 3)) AS area, ST_CollectionExtract(p.geom, 2) AS line,
           LEAST(CAST(:fraction AS float), 1.0) AS f  -- LEAST ignores NULL: checked below
) g
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN CAST(:fraction AS float) IS NULL OR g.f <= 0 OR p.geom IS NULL THEN NULL
        WHEN NOT ST_IsEmpty(g.area) THEN ST_Multi(ST_CollectionExtract(ST_Intersection(g.area, ST_MakeEnvelope(
            ST_XMin(g.area), ST_YMin(g.area) - 1, ST_XMin(g.area) + (ST_XMax(g.area) - ST_XMin(g.area)) * g.f,
            ST_YMax(g.area) + 1, 4326)), 3))
        WHEN NOT ST_IsEmpty(g.line) THEN (
            SELECT ST_Multi(ST_Collect(ST_LineSubstring(part.geom, 0, g.f))) FROM ST_Dump(ST_LineMerge(g.line)) part)
    END AS geom
) d
WHERE p.key = :key
"""


def load_demo_progress(engine: Engine) -> str:
    """Setup step (service.setup runs it with the engine, as ``xiangmap progress demo`` does): load the
    demonstration history in one session and commit it; the work is ``load_demo``'s."""
    with session_scope(engine) as session:
        return load_demo(session)


def load_demo(session: Session) -> str:
    """Give every demo-year project without any report its demonstration history (idempotent), in the
    caller's transaction; the caller commits.  Returns a one-line summary."""
    removed = session.execute(
        text("SELECT 1 FROM audit_log WHERE entity = 'demo_progress' AND action = 'delete' LIMIT 1")
    ).first()
    if removed:
        return "demonstration history was removed (xiangmap progress demo --remove); not loaded"
    projects = projects_from_database(session)
    if not projects:
        return "no 2018 projects yet; nothing to demonstrate"
    reported = {
        row[0]
        for row in session.execute(
            text("SELECT DISTINCT p.key FROM progress_reports r JOIN projects p ON p.id = r.project_id")
        )
    }
    todo = [p for p in projects if p.key not in reported]
    if not todo:
        return f"all {len(projects)} {DEMO_YEAR} projects already have reports"
    path = get_settings().geodata_dir / DEMO_FILE
    from_file: dict[str, list[DemoReport]] = {}
    if path.exists():
        for report in read_csv(path):
            from_file.setdefault(report.project_key, []).append(report)
    rows, generated = [], 0
    for project in todo:
        reports = from_file.get(project.key)
        if reports is None:
            reports, generated = history(project), generated + 1
        rows.extend(reports)
    session.execute(
        text(INSERT),
        [
            {
                "key": r.project_key,
                "period": r.period,
                "status": r.status,
                "percent": r.percent,
                "investment_wan": r.investment_wan,
                "note": r.note,
                "fraction": r.done_fraction,
                "reporter": REPORTER,
            }
            for r in rows
        ],
    )
    return (
        f"{len(rows)} demonstration reports (demo=true) for {len(todo)} projects"
        f" ({len(todo) - generated} from {DEMO_FILE}, {generated} generated)"
    )


def remove_demo_reports(session: Session) -> int:
    """Delete every demonstration report (demo = true) in the caller's transaction; the number removed."""
    return session.execute(text("DELETE FROM progress_reports WHERE demo")).rowcount
