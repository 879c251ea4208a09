"""What an upload would do, before anything is stored: the plan's answers settled, each task compared with the
register (created, updated with the fields that change, unchanged), unit strings checked against the
register of units, every problem with its row and column.

Plain functions over values: the use case brings the register's side (the plan as stored, the unit
resolutions) through the projects and units use cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.plan_uploads.table import CITIES, Issue, Sheet, Task

PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CITY_SLUGS = {"株洲市": "zhuzhou", "长沙市": "changsha", "湘潭市": "xiangtan", "湖南省": "hunan"}
YEARS = (1990, 2100)
# the fields of a task an upload writes, in the order the preview names them
COMPARED = (
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
)
FIELD_LABELS = {
    "section": "部分",
    "number": "序号",
    "title": "重点任务",
    "task_text": "任务内容",
    "category": "类别",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "targets": "目标",
    "deadline": "完成时限",
    "deadline_text": "时限原文",
    "year": "年份",
}
STATUS_LABELS = {"created": "新增", "updated": "更新", "unchanged": "不变"}
ORIGIN_LABELS = {
    "form": "表单填写",
    "title": "读自标题行",
    "register": "沿用已有计划",
    "suggested": "自动生成",
    "unit": "本单位所在城市",
}


@dataclass
class Answers:
    """The plan the upload writes: what the form said, else what the title row says; never today's date."""

    plan_id: str
    title: str
    year: int | None
    city: str | None
    origin: dict[str, str] = field(default_factory=dict)  # field -> form / title / register / suggested

    def as_params(self) -> dict[str, Any]:
        return {"plan": self.plan_id, "title": self.title, "year": self.year, "city": self.city, "origin": self.origin}


PLAN_LABELS = {"title": "计划名称", "year": "年份", "city": "城市"}


@dataclass
class Change:
    field: str
    before: Any
    after: Any
    of_plan: bool = False

    @property
    def label(self) -> str:
        return (PLAN_LABELS if self.of_plan else FIELD_LABELS).get(self.field, self.field)

    @property
    def before_text(self) -> str:
        return display(self.before)

    @property
    def after_text(self) -> str:
        return display(self.after)


def display(value: Any) -> str:
    """A value as the preview page shows it: units joined with 、, targets by their words, dates ISO."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "、".join(value)
        return "；".join(str(v.get("text", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


@dataclass
class TaskPreview:
    task: Task
    key: str
    status: str  # created, updated, unchanged
    changes: list[Change] = field(default_factory=list)
    # for an editor's upload: does the task name their unit (or one under it)?  None: a coordinator's upload
    theirs: bool | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class Preview:
    filename: str
    kind: str
    sheet_name: str
    answers: Answers
    plan_status: str  # created, updated, unchanged
    plan_changes: list[Change]
    tasks: list[TaskPreview]
    issues: list[Issue]
    notes: list[tuple[str, str]]
    kept: int  # tasks of the plan that the file does not name (left as they are)
    sheet_title: str = ""
    upload_id: str = ""
    sha256: str = ""
    owner: str | None = None  # the unit that owns (or will own) the plan; None: the 两型办
    uploader_unit: str | None = None  # an editor's unit; None for a coordinator's upload

    @property
    def not_theirs(self) -> list[TaskPreview]:
        """An editor's upload: the tasks that name none of their units (not in their own ledger view)."""
        return [t for t in self.tasks if t.theirs is False]

    def count(self, status: str) -> int:
        return sum(1 for t in self.tasks if t.status == status)

    @property
    def committable(self) -> bool:
        return not self.issues

    @property
    def changes_anything(self) -> bool:
        return self.plan_status != "unchanged" or any(t.status != "unchanged" for t in self.tasks)

    def as_dict(self) -> dict[str, Any]:
        """The API's preview (English reasons; ``reason_zh`` beside each)."""
        a = self.answers
        return {
            "upload": self.upload_id or None,
            "sha256": self.sha256 or None,
            "filename": self.filename,
            "format": self.kind,
            "sheet": self.sheet_name,
            "plan": {
                "id": a.plan_id,
                "title": a.title,
                "year": a.year,
                "city": a.city,
                "from": a.origin,
                "owner_unit": self.owner,
                "status": self.plan_status,
                "changes": [_change_dict(c) for c in self.plan_changes],
            },
            "counts": {
                "created": self.count("created"),
                "updated": self.count("updated"),
                "unchanged": self.count("unchanged"),
                "not_in_file": self.kept,
                "not_your_units": len(self.not_theirs),
            },
            "committable": self.committable,
            "changes_anything": self.changes_anything,
            "problems": [i.as_dict() for i in self.issues],
            "notes": [en for _, en in self.notes],
            "tasks": [
                {
                    "row": t.task.row,
                    "key": t.key,
                    "section": t.task.section,
                    "number": t.task.number,
                    "title": t.task.title,
                    "lead_units": t.task.lead_units,
                    "responsible_units": t.task.responsible_units,
                    "deadline": t.task.deadline.isoformat() if t.task.deadline else None,
                    "deadline_text": t.task.deadline_text,
                    "category": t.task.category or None,
                    "status": t.status,
                    "your_unit": t.theirs,
                    "changes": [_change_dict(c) for c in t.changes],
                }
                for t in self.tasks
            ],
        }


def _change_dict(change: Change) -> dict[str, Any]:
    return {"field": change.field, "before": _plain(change.before), "after": _plain(change.after)}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def settle_answers(
    form: dict[str, Any],
    sheet: Sheet,
    *,
    plan_for_title: str | None,
    is_taken: Callable[[str], bool],
    default_city: str | None = None,
) -> tuple[Answers, list[Issue]]:
    """The plan's id, title, year and city: the form's, else the title row's (the city: else
    ``default_city``, the uploading editor's unit's); an id suggested when blank.

    ``plan_for_title`` is the plan the register already holds under this title (a re-upload updates it);
    ``is_taken`` tells the ids of other plans, which a suggested id avoids.
    """
    issues: list[Issue] = []
    origin: dict[str, str] = {}
    title = str(form.get("title") or "").strip()
    origin["title"] = "form"
    if not title:
        title, origin["title"] = sheet.title.strip(), "title"
    year: int | None = None
    raw_year = str(form.get("year") or "").strip()
    if raw_year:
        origin["year"] = "form"
        if re.fullmatch(r"\d{4}", raw_year) and YEARS[0] <= int(raw_year) <= YEARS[1]:
            year = int(raw_year)
        else:
            issues.append(
                Issue(
                    None,
                    "年份",
                    f"年份“{raw_year}”不是 {YEARS[0]}-{YEARS[1]} 之间的四位年份",
                    f"year {raw_year!r} is not a year between {YEARS[0]} and {YEARS[1]}",
                )
            )
    elif sheet.title_year is not None:
        year, origin["year"] = sheet.title_year, "title"
    else:
        issues.append(
            Issue(
                None,
                "年份",
                "请填写计划年份：标题行没有写年份，不写年份的完成时限（年底前、上半年……）无法确定日期",
                "give the plan's year: the title row names none, and deadlines such as 年底前 need it",
            )
        )
    city = str(form.get("city") or "").strip() or None
    origin["city"] = "form"
    if city is None and sheet.title_city is not None:
        city, origin["city"] = sheet.title_city, "title"
    if city is None and default_city in CITIES:
        city, origin["city"] = default_city, "unit"
    if city is None:
        issues.append(
            Issue(
                None,
                "城市",
                "请选择计划所属城市（株洲市、长沙市、湘潭市或湖南省）：标题行没有写明",
                "choose the plan's city (株洲市, 长沙市, 湘潭市 or 湖南省): the title row names none",
            )
        )
    elif city not in CITIES:
        issues.append(
            Issue(
                None,
                "城市",
                f"城市“{city}”不在可选范围（{'、'.join(CITIES)}）",
                f"city {city!r} is not one of {', '.join(CITIES)}",
            )
        )
    plan_id = str(form.get("plan") or "").strip().lower()
    origin["plan"] = "form"
    if not plan_id:
        if plan_for_title:
            plan_id, origin["plan"] = plan_for_title, "register"
        else:
            plan_id, origin["plan"] = suggest_plan_id(city, year, is_taken), "suggested"
    if not PLAN_ID.match(plan_id):
        issues.append(
            Issue(
                None,
                "计划编号",
                f"计划编号“{plan_id}”只能用小写字母、数字和连字符（2-63 个字符），如 zhuzhou-2018",
                f"plan id {plan_id!r} must be 2-63 lower-case letters, digits and dashes, e.g. zhuzhou-2018",
            )
        )
    if not title:
        issues.append(
            Issue(
                None, "计划名称", "请填写计划名称：表格没有标题行", "give the plan's title: the sheet has no title row"
            )
        )
    return Answers(plan_id, title, year, city, origin), issues


def suggest_plan_id(city: str | None, year: int | None, is_taken: Callable[[str], bool]) -> str:
    """``zhuzhou-2018``; ``zhuzhou-2018-2`` when that id is another plan's (the bundled plan has it)."""
    base = "-".join(p for p in (CITY_SLUGS.get(city or "", "plan"), str(year) if year else "") if p)
    candidate, n = base, 1
    while is_taken(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def task_key(plan_id: str, task: Task) -> str:
    """The same key the register and the CLI importer use: plan/section/number."""
    return "/".join(p for p in (plan_id, task.section, task.number) if p)


def task_values(task: Task, year: int | None) -> dict[str, Any]:
    return {
        "section": task.section,
        "number": task.number,
        "title": task.title,
        "task_text": task.task_text,
        "category": task.category,
        "lead_units": list(task.lead_units),
        "responsible_units": list(task.responsible_units),
        "targets": list(task.targets),
        "deadline": task.deadline,
        "deadline_text": task.deadline_text or "",
        "year": year,
    }


def _same(a: Any, b: Any) -> bool:
    return (a or None) == (b or None) if not isinstance(a, int | date) else a == b


def compare(values: dict[str, Any], stored: dict[str, Any] | None) -> tuple[str, list[Change]]:
    if stored is None:
        return "created", []
    changes = [Change(f, stored.get(f), values[f]) for f in COMPARED if not _same(values[f], stored.get(f))]
    return ("updated" if changes else "unchanged"), changes


def unit_issues(sheet: Sheet, resolutions: dict[str, dict[str, Any]]) -> list[Issue]:
    """A problem for every unit string the register cannot resolve, with the closest names it knows."""
    issues: list[Issue] = []
    for task in sheet.tasks:
        for name, units in (("lead_units", task.lead_units), ("responsible_units", task.responsible_units)):
            for unit in units:
                found = resolutions.get(unit)
                if found is None or found["resolved"]:
                    continue
                zh, _, en = str(found["reason"]).partition(" / ")
                suggestions = tuple(
                    str(s.get("unit") or s.get("group") or s.get("matched")) for s in found["suggestions"]
                )
                issues.append(Issue(task.row, sheet.where(name), zh, en or zh, suggestions))
    return issues


def unit_names(sheet: Sheet) -> list[str]:
    return sorted({u for t in sheet.tasks for u in (*t.lead_units, *t.responsible_units)})


def plan_changes(answers: Answers, stored: dict[str, Any] | None) -> tuple[str, list[Change]]:
    if stored is None:
        return "created", []
    changes = [
        Change(f, stored.get(f), getattr(answers, f), of_plan=True)
        for f in ("title", "year", "city")
        if stored.get(f) != getattr(answers, f)
    ]
    return ("updated" if changes else "unchanged"), changes
