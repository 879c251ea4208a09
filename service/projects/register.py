"""The project register: the committed CSVs in geodata/plans/ and their upsert into plans / projects.

Projects are keyed ``plan/part/number`` so a re-import updates in place; a row whose text or units
changed goes back to ``pending`` for the geocoder unless a person placed it (``manual``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.chinese_text import format_targets, parse_targets_cell, split_units

REGISTER_DIR = Path(__file__).resolve().parents[2] / "geodata" / "plans"
PROJECTS_CSV = "projects.csv"
PLANS_CSV = "plans.csv"
COLUMNS = (
    "plan",
    "key",
    "section",
    "number",
    "title",
    "task_text",
    "category",
    "lead_units",
    "responsible_units",
    "targets",
    "deadline",
    "deadline_text",
    "year",
    "source",
    "notes",
)
PLAN_COLUMNS = ("id", "title", "document", "year", "issuer", "published", "city")


@dataclass
class ProjectRecord:
    """One project as the register holds it (one CSV row)."""

    plan: str
    key: str
    section: str
    number: str
    title: str
    task_text: str
    category: str
    lead_units: list[str]
    responsible_units: list[str] = field(default_factory=list)
    targets: list[dict[str, object]] = field(default_factory=list)
    deadline: date | None = None
    deadline_text: str | None = None
    year: int | None = None
    source: str = ""
    notes: str = ""


def record_to_row(record: ProjectRecord) -> dict[str, str]:
    return {
        "plan": record.plan,
        "key": record.key,
        "section": record.section,
        "number": record.number,
        "title": record.title,
        "task_text": record.task_text,
        "category": record.category,
        "lead_units": "、".join(record.lead_units),
        "responsible_units": "、".join(record.responsible_units),
        "targets": format_targets(record.targets),
        "deadline": record.deadline.isoformat() if record.deadline else "",
        "deadline_text": record.deadline_text or "",
        "year": str(record.year or ""),
        "source": record.source,
        "notes": record.notes,
    }


def row_to_record(row: dict[str, str]) -> ProjectRecord:
    """Read a trusted register row (the importer validates untrusted ones itself)."""
    return ProjectRecord(
        plan=row["plan"],
        key=row["key"],
        section=row["section"],
        number=row["number"],
        title=row["title"],
        task_text=row["task_text"],
        category=row["category"],
        lead_units=split_units(row["lead_units"]),
        responsible_units=split_units(row["responsible_units"]),
        targets=parse_targets_cell(row["targets"]),
        deadline=date.fromisoformat(row["deadline"]) if row["deadline"] else None,
        deadline_text=row["deadline_text"] or None,
        year=int(row["year"]) if row["year"] else None,
        source=row.get("source", ""),
        notes=row.get("notes", ""),
    )


def write_register(records: list[ProjectRecord], plans: Iterable[dict[str, object]], directory: Path) -> None:
    """Write both CSVs; the parser calls this with the plans it knows (parser.PLANS)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / PROJECTS_CSV).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(record_to_row(r) for r in records)
    with (directory / PLANS_CSV).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=PLAN_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: str(p[k]) for k in PLAN_COLUMNS} for p in plans)


def read_register(directory: Path = REGISTER_DIR) -> tuple[list[dict[str, str]], list[ProjectRecord]]:
    with (directory / PLANS_CSV).open(encoding="utf-8", newline="") as fh:
        plans = list(csv.DictReader(fh))
    with (directory / PROJECTS_CSV).open(encoding="utf-8", newline="") as fh:
        records = [row_to_record(row) for row in csv.DictReader(fh)]
    return plans, records


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"


_UPSERT_PLAN = text(
    """
    INSERT INTO plans (id, title, document, year, issuer, published, city)
    VALUES (:id, :title, :document, :year, :issuer, :published, :city)
    ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, document = EXCLUDED.document, year = EXCLUDED.year,
        issuer = EXCLUDED.issuer, published = EXCLUDED.published, city = EXCLUDED.city
    WHERE (plans.title, plans.document, plans.year, plans.issuer, plans.published, plans.city)
        IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.document, EXCLUDED.year, EXCLUDED.issuer,
                          EXCLUDED.published, EXCLUDED.city)
    """
)

# text or unit changes send an automatic location back to the geocoder; a manual one stays
_UPSERT_PROJECT = text(
    """
    INSERT INTO projects (key, plan_id, section, number, title, task_text, category, lead_units,
                          responsible_units, targets, deadline, deadline_text, year)
    VALUES (:key, :plan, :section, :number, :title, :task_text, :category, :lead_units,
            :responsible_units, CAST(:targets AS jsonb), :deadline, :deadline_text, :year)
    ON CONFLICT (key) DO UPDATE SET
        plan_id = EXCLUDED.plan_id, section = EXCLUDED.section, number = EXCLUDED.number,
        title = EXCLUDED.title, task_text = EXCLUDED.task_text, category = EXCLUDED.category,
        lead_units = EXCLUDED.lead_units, responsible_units = EXCLUDED.responsible_units,
        targets = EXCLUDED.targets, deadline = EXCLUDED.deadline, deadline_text = EXCLUDED.deadline_text,
        year = EXCLUDED.year, version = projects.version + 1, updated_at = now(),
        location_status = CASE
            WHEN projects.location_status = 'manual' THEN 'manual'
            WHEN (projects.task_text, projects.lead_units) IS DISTINCT FROM (EXCLUDED.task_text, EXCLUDED.lead_units)
                THEN 'pending'
            ELSE projects.location_status END
    WHERE (projects.plan_id, projects.section, projects.number, projects.title, projects.task_text,
           projects.category, projects.lead_units, projects.responsible_units, projects.targets,
           projects.deadline, projects.deadline_text, projects.year)
        IS DISTINCT FROM (EXCLUDED.plan_id, EXCLUDED.section, EXCLUDED.number, EXCLUDED.title,
           EXCLUDED.task_text, EXCLUDED.category, EXCLUDED.lead_units, EXCLUDED.responsible_units,
           EXCLUDED.targets, EXCLUDED.deadline, EXCLUDED.deadline_text, EXCLUDED.year)
    RETURNING (xmax = 0) AS inserted
    """
)


def upsert_plans(session: Session, plans: Iterable[dict[str, object]]) -> None:
    for plan in plans:
        params = {k: (plan.get(k) or None) for k in PLAN_COLUMNS}
        params["year"] = int(str(params["year"]))
        session.execute(_UPSERT_PLAN, params)


def upsert_projects(session: Session, records: Iterable[ProjectRecord]) -> UpsertCounts:
    counts = UpsertCounts()
    for r in records:
        params = {
            "key": r.key,
            "plan": r.plan,
            "section": r.section or None,
            "number": r.number or None,
            "title": r.title,
            "task_text": r.task_text,
            "category": r.category or None,
            "lead_units": r.lead_units,
            "responsible_units": r.responsible_units,
            "targets": json.dumps(r.targets, ensure_ascii=False),
            "deadline": r.deadline,
            "deadline_text": r.deadline_text,
            "year": r.year,
        }
        inserted = session.execute(_UPSERT_PROJECT, params).scalar_one_or_none()
        if inserted is None:
            counts.unchanged += 1
        elif inserted:
            counts.inserted += 1
        else:
            counts.updated += 1
    return counts


@dataclass
class PlanSnapshot:
    """A plan as the register holds it, with its tasks by key: what an upload's preview compares with."""

    id: str
    title: str
    year: int
    city: str | None
    published: date | None
    tasks: dict[str, ProjectRecord] = field(default_factory=dict)
    owner_unit_id: int | None = None  # the unit that uploaded it as its own plan; None: the 两型办's


def plan_snapshot(session: Session, plan_id: str) -> PlanSnapshot | None:
    plan = (
        session.execute(
            text("SELECT id, title, year, city, published, owner_unit_id FROM plans WHERE id = :id"), {"id": plan_id}
        )
        .mappings()
        .first()
    )
    if plan is None:
        return None
    snapshot = PlanSnapshot(
        plan["id"], plan["title"], plan["year"], plan["city"], plan["published"], owner_unit_id=plan["owner_unit_id"]
    )
    rows = session.execute(
        text(
            "SELECT key, section, number, title, task_text, category, lead_units, responsible_units, targets,"
            " deadline, deadline_text, year FROM projects WHERE plan_id = :id ORDER BY id"
        ),
        {"id": plan_id},
    ).mappings()
    for row in rows:
        snapshot.tasks[row["key"]] = ProjectRecord(
            plan=plan_id,
            key=row["key"],
            section=row["section"] or "",
            number=row["number"] or "",
            title=row["title"],
            task_text=row["task_text"],
            category=row["category"] or "",
            lead_units=list(row["lead_units"]),
            responsible_units=list(row["responsible_units"]),
            targets=list(row["targets"] or []),
            deadline=row["deadline"],
            deadline_text=row["deadline_text"],
            year=row["year"],
        )
    return snapshot


def plan_id_for_title(session: Session, title: str, owner_unit_id: int | None = None) -> str | None:
    """The id of a plan with exactly this title (the one an edited re-upload of it updates); with
    ``owner_unit_id``, only among the plans that unit owns."""
    owner = "" if owner_unit_id is None else " AND owner_unit_id = :owner"
    return session.execute(
        text(f"SELECT id FROM plans WHERE title = :title{owner} ORDER BY id LIMIT 1"),
        {"title": title, "owner": owner_unit_id},
    ).scalar_one_or_none()


def plan_exists(session: Session, plan_id: str) -> bool:
    return session.execute(text("SELECT 1 FROM plans WHERE id = :id"), {"id": plan_id}).first() is not None


def write_plan(
    session: Session, plan_id: str, title: str, year: int, city: str | None, owner_unit_id: int | None = None
) -> None:
    """Create the plan (owned by ``owner_unit_id``, None: the 两型办's), or set its title, year and city (its
    owner, document, issuer and publication date stay)."""
    session.execute(
        text(
            "INSERT INTO plans (id, title, year, city, owner_unit_id) VALUES (:id, :title, :year, :city, :owner)"
            " ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, year = EXCLUDED.year, city = EXCLUDED.city"
            " WHERE (plans.title, plans.year, plans.city) IS DISTINCT FROM"
            " (EXCLUDED.title, EXCLUDED.year, EXCLUDED.city)"
        ),
        {"id": plan_id, "title": title, "year": year, "city": city, "owner": owner_unit_id},
    )
