"""Progress use cases: what POST/GET /projects/{id}/progress, /stats, ``xiangmap progress`` and the other areas do.

Each use case takes the caller's Session and owns its transaction (decision 0100): the route and the CLI
call the same function, so a report appended over HTTP and one imported from a spreadsheet are checked,
audited and committed alike.  The maps and the project list read the derived state through this module
(``state_query``, ``stats``, ``ProjectFilter``) rather than through the progress internals, so the delay
rules stay defined once, in ``service.progress.state``.

``parse_as_of`` and ``project_filter`` are plain functions whose parameters carry pydantic ``Field``
metadata: FastAPI reads them as query parameters (``Depends(project_filter)``) without this module
importing FastAPI, and a caller outside HTTP passes plain values.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from service.common import audit, derived_status
from service.common.concurrency import IfMatch
from service.common.spreadsheets import RowError
from service.errors import Problem
from service.progress import demo, importer, reports, rules
from service.progress.report_input import ReportIn, parse_period, parse_status
from service.progress.rules import RuleProblem
from service.progress.state import ProjectFilter, month_end, state_query, tune_for_state_queries
from service.progress.stats import GROUPINGS
from service.progress.stats import stats as _stats
from service.settings import get_settings
from service.units import usecases as units

__all__ = [
    "GROUPINGS",
    "ImportRefused",
    "ImportResult",
    "ProjectFilter",
    "ReportIn",
    "RowError",
    "RuleProblem",
    "add_report",
    "check_row",
    "grouping",
    "import_reports",
    "parse_as_of",
    "parse_period",
    "parse_status",
    "period_problems",
    "project_filter",
    "project_progress",
    "record_reports",
    "remove_demo_reports",
    "rule_problems",
    "same_as_stored",
    "state_query",
    "stats",
    "tune_for_state_queries",
    "xlsx_text",
]

ImportRefused = importer.ImportRefused
ImportResult = importer.ImportResult


def parse_as_of(value: str | None) -> date:
    """``YYYY-MM-DD`` as given, ``YYYY-MM`` as the last day of that month; default today."""
    if value is None or not value.strip():
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        pass
    try:
        return month_end(parse_period(value))
    except ValueError as exc:
        raise Problem(400, f"as_of: {exc}; use YYYY-MM or YYYY-MM-DD", parameter="as_of") from exc


def project_filter(
    plan: Annotated[str | None, Field(description="plan id, e.g. zhuzhou-2018")] = None,
    category: Annotated[str | None, Field(description="project category")] = None,
    lead_unit: Annotated[str | None, Field(description="a lead unit (牵头单位)")] = None,
    district: Annotated[str | None, Field(description="district name or adcode (spatial)")] = None,
    status: Annotated[
        str | None, Field(description="schedule class: 正常推进 已开工进展缓慢 应开工未开工 已完成 暂停")
    ] = None,
    year: Annotated[int | None, Field(ge=1990, le=2100, description="plan / project year")] = None,
) -> ProjectFilter:
    """The project filters shared by /stats and the map data endpoints (a status alias becomes its name)."""
    if status:
        try:
            status = derived_status.parse_class(status)
        except ValueError as exc:
            raise Problem(400, str(exc), parameter="status") from exc
    return ProjectFilter(
        plan=plan or None,
        category=category or None,
        lead_unit=lead_unit or None,
        district=district or None,
        status=status or None,
        year=year,
    )


def add_report(
    session: Session,
    project_id: int,
    report: ReportIn,
    actor: str,
    *,
    if_match: IfMatch | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """Append a report with its audit entry and commit; answer the saved report and the project's new state.

    ``role`` is the account's (an HTTP caller's): an editor may report only on their unit's tasks, a
    coordinator or an admin on all; anything else is a 403 saying why, with the refusal audited
    (``service.units.usecases.check_may_report``).  Without a role the caller is trusted (the CLI, setup).
    A stale ``if_match`` raises 412 with nothing written but the refusal's audit entry.  The state is read
    after the commit, so it is what every other reader now sees.
    """
    if role is not None:
        units.check_may_report(session, actor, role, project_id)
    saved = reports.add_report(session, project_id, report, actor, if_match=if_match)
    session.commit()
    return saved | {"state": reports.project_state(session, project_id)}


def check_row(row: dict[str, str], index: int) -> tuple[ReportIn | None, list[RowError]]:
    """One spreadsheet row (canonical column names, text) as a report, or its problems ("中文 / English").

    The same checks as ``xiangmap progress import`` (service.progress.importer): the monthly sheet uses them.
    """
    return importer.report_from_row(row, index)


def period_problems(period: date, plan_year: int | None = None) -> list[RuleProblem]:
    """The month rules alone: not after the current month, not before January of ``plan_year``."""
    return rules.period_problems(period, plan_year)


def xlsx_text(value: Any, number_format: str | None = None) -> str:
    """An XLSX cell as the row checks read it (a percent-formatted 0.8 is ``80%``, decision 0175)."""
    return importer.xlsx_text(value, number_format)


def rule_problems(session: Session, project_id: int, report: ReportIn) -> list[RuleProblem]:
    """The reporting rules ``report`` breaks (decision 0200): future month, before the plan's year, a fall
    without a note.  Nothing is written."""
    return reports.rule_problems(session, project_id, report)


def same_as_stored(session: Session, project_id: int, report: ReportIn) -> bool:
    """The month's stored report already says exactly this."""
    return reports.same_as_stored(session, project_id, report)


def record_reports(session: Session, items: list[tuple[int, ReportIn]], actor: str) -> list[dict[str, Any]]:
    """Append several reports in the caller's transaction (the caller commits, with its own rows), each with
    its audit entry and under every reporting rule; the caller has checked who may report."""
    return [reports.add_report(session, project_id, report, actor) for project_id, report in items]


def project_progress(session: Session, project_id: int, as_of: date | None = None) -> dict[str, Any]:
    """A project, its derived state at ``as_of`` (default today) and its reports, newest first."""
    return reports.project_progress(session, project_id, as_of)


def stats(
    session: Session,
    by: str,
    as_of: date,
    threshold_pct: float | None = None,
    filters: ProjectFilter | None = None,
    *,
    spatial: bool = True,
) -> dict[str, Any]:
    """The derived state grouped by ``by`` (one of GROUPINGS; otherwise 400 naming them).

    ``threshold_pct`` defaults to the configured delay threshold; the maps pass the one they drew with.
    """
    threshold = get_settings().delay_threshold_pct if threshold_pct is None else threshold_pct
    return _stats(session, grouping(by), as_of, threshold, filters or ProjectFilter(), spatial=spatial)


def grouping(by: str) -> str:
    """``by`` when it is one of GROUPINGS, else 400 naming them (checked before the other parameters)."""
    if by not in GROUPINGS:
        raise Problem(400, f"by must be one of {', '.join(GROUPINGS)}, not {by!r}", parameter="by")
    return by


def import_reports(session: Session, path: Path, actor: str, *, skip_invalid: bool = False) -> ImportResult:
    """Validate every row of a spreadsheet like POST /projects/{id}/progress, then append them in one commit.

    Nothing is written when a row is bad, unless ``skip_invalid``; each appended report has its audit
    entry, in the same transaction.  Raises ImportRefused when the file as a whole cannot be read.
    """
    result = importer.import_reports(session, path, actor)
    if result.errors and not skip_invalid:
        session.rollback()
        result.imported = 0
        return result
    session.commit()
    result.written = True
    return result


def remove_demo_reports(session: Session, actor: str) -> int:
    """Delete every demonstration report, audited; setup sees the entry and no longer loads them."""
    count = demo.remove_demo_reports(session)
    audit.record(session, actor, "delete", "demo_progress", None, None, {"removed": count})
    session.commit()
    return count
