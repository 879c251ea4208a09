"""The reporting rules every monthly report obeys, whoever sends it (decision 0200).

The API (``POST /projects/{id}/progress``), ``xiangmap progress import``, the report form and the
per-unit monthly sheet all append through :func:`service.progress.reports.add_report`, which applies
these rules, so a report refused on one path is refused on every other:

- the period may not be after the current month (China time: a report for December may be sent from
  1 December 00:00 in Changsha, whatever the server's clock zone);
- the period may not be before January of the plan's year (the task's own year, else its plan's);
- a percent lower than the latest earlier report's (the newest report of an earlier month, its last
  correction) needs a note that says why the progress fell (说明进度回落的原因).

Each problem names its field and says what is wrong in Chinese and in English; :func:`problems`
returns them all (the monthly sheet's preview shows every one), :func:`enforce` raises the first as
a 400 (the API and the importer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class RuleProblem:
    field: str  # the report field at fault: period, note
    zh: str
    en: str

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def as_problem(self) -> Problem:
        return Problem(400, self.message, pointer=f"/{self.field}")


def current_month(today: date | None = None) -> date:
    """The first day of the current month in China (or of ``today``'s month)."""
    day = today or datetime.now(CHINA).date()
    return day.replace(day=1)


def period_problems(period: date, plan_year: int | None, today: date | None = None) -> list[RuleProblem]:
    """The period is neither after the current month nor before January of the plan's year."""
    month = current_month(today)
    found: list[RuleProblem] = []
    if period > month:
        found.append(
            RuleProblem(
                "period",
                f"报告月份 {period:%Y-%m} 在本月（{month:%Y-%m}）之后：不能填报未来的月份",
                f"period {period:%Y-%m} is after the current month ({month:%Y-%m}); a report cannot be for the future",
            )
        )
    if plan_year is not None and period < date(plan_year, 1, 1):
        found.append(
            RuleProblem(
                "period",
                f"报告月份 {period:%Y-%m} 早于计划年度 {plan_year} 年 1 月",
                f"period {period:%Y-%m} is before January of the plan's year {plan_year}",
            )
        )
    return found


def fall_problem(previous: dict[str, Any] | None, percent: float, note: str | None) -> RuleProblem | None:
    """A fall in percent since ``previous`` (the latest earlier report) without a note."""
    if previous is None or note or percent >= float(previous["percent"]):
        return None
    before = float(previous["percent"])
    return RuleProblem(
        "note",
        f"完成比例从 {previous['period']} 的 {before:g}% 降到 {percent:g}%：请在备注（进展情况）中说明进度回落的原因",
        f"percent fell from {before:g} ({previous['period']}) to {percent:g}: give a note saying why the progress fell",
    )


def latest_earlier_report(session: Session, project_id: int, period: date) -> dict[str, Any] | None:
    """The newest report of a month before ``period`` (its last correction), or None."""
    row = (
        session.execute(
            text(
                "SELECT id, to_char(period, 'YYYY-MM') AS period, status, percent::float AS percent"
                " FROM progress_reports WHERE project_id = :id AND period < :period"
                " ORDER BY period DESC, created_at DESC, id DESC LIMIT 1"
            ),
            {"id": project_id, "period": period},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def problems(
    session: Session,
    project_id: int,
    plan_year: int | None,
    period: date,
    percent: float,
    note: str | None,
    *,
    today: date | None = None,
) -> list[RuleProblem]:
    """Every rule the report breaks (none: it may be appended)."""
    found = period_problems(period, plan_year, today)
    fall = fall_problem(latest_earlier_report(session, project_id, period), percent, note)
    if fall is not None:
        found.append(fall)
    return found


def enforce(
    session: Session, project_id: int, plan_year: int | None, period: date, percent: float, note: str | None
) -> None:
    """Raise the first broken rule as a 400 naming its field."""
    found = problems(session, project_id, plan_year, period, percent, note)
    if found:
        raise found[0].as_problem()
