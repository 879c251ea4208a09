"""What a supervisor or a responsible unit does with notices and figures: read them, as a page, a PDF, a
workbook or JSON.  Read-only (no audit entry, nothing committed); every read goes through
``service.cases.access`` (service.case_reports.scope), and a role that sees no case is refused here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.case_reports import figures as figures_module
from service.case_reports.chart import Chart, grouped_bars
from service.case_reports.filters import notice_filters, parse_as_of, parse_year
from service.case_reports.notice_pdf import notice_pdf as draw_pdf
from service.case_reports.notice_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from service.case_reports.notice_xlsx import notice_xlsx as write_xlsx
from service.case_reports.notices import NoticeFilters, UnitNotice, notice
from service.case_reports.scope import ALL_CASES_ROLES, CITIES, Reader, may_read
from service.errors import Problem
from service.models.cases import CASE_KINDS

__all__ = [
    "CASE_KINDS",
    "CITIES",
    "XLSX_MEDIA_TYPE",
    "Chart",
    "NoticeFilters",
    "NoticeReport",
    "Reader",
    "figures",
    "notice_filters",
    "notice_pdf",
    "notice_report",
    "notice_xlsx",
    "parse_as_of",
    "parse_year",
    "rate_chart",
]


def _check(reader: Reader) -> None:
    if not may_read(reader.role):
        raise Problem(
            403,
            "通报和统计仅供督查人员、两型办和责任单位查看 / notices and figures are for inspectors, the office "
            f"and the responsible units; role {reader.role!r} sees no case",
        )


@dataclass
class NoticeReport:
    filters: NoticeFilters
    units: list[UnitNotice]
    scope: str  # whose cases: 全部单位, or the editor's own unit

    @property
    def total(self) -> int:
        return sum(len(u.cases) for u in self.units)

    @property
    def title(self) -> str:
        parts = [self.filters.city or "长株潭三市", "逾期和问题严重案件通报"]
        if self.filters.kind:
            parts.insert(1, f"{self.filters.kind}")
        return "".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.filters.as_of.isoformat(),
            "city": self.filters.city,
            "kind": self.filters.kind,
            "scope": self.scope,
            "total": self.total,
            "units": [
                {
                    **u.summary(),
                    "cases": [
                        {
                            **c,
                            "found_on": c["found_on"].isoformat(),
                            "deadline": c["deadline"].isoformat() if c["deadline"] else None,
                        }
                        for c in u.cases
                    ],
                }
                for u in self.units
            ],
        }


def _scope(session: Session, reader: Reader) -> str:
    if reader.role in ALL_CASES_ROLES:
        return "范围：全部单位"
    unit = session.execute(
        text("SELECT un.name FROM users u JOIN units un ON un.id = u.unit_id WHERE u.name = :n"), {"n": reader.name}
    ).scalar()
    return f"范围：{unit}（本单位）" if unit else "范围：本人登记的案件"


def notice_report(session: Session, reader: Reader, filters: NoticeFilters) -> NoticeReport:
    _check(reader)
    return NoticeReport(filters, notice(session, reader, filters), _scope(session, reader))


def notice_pdf(session: Session, reader: Reader, filters: NoticeFilters) -> tuple[bytes, str]:
    report = notice_report(session, reader, filters)
    session.close()  # drawing takes a while: no connection held meanwhile
    return draw_pdf(report.units, filters, title=report.title, scope=report.scope), "application/pdf"


def notice_xlsx(session: Session, reader: Reader, filters: NoticeFilters) -> tuple[bytes, str]:
    report = notice_report(session, reader, filters)
    return write_xlsx(report.units, filters, report.title), XLSX_MEDIA_TYPE


def figures(session: Session, reader: Reader, *, year: int, as_of: date) -> dict[str, Any]:
    _check(reader)
    rates = figures_module.violation_rates(session, reader, year, as_of)
    return {
        "as_of": as_of.isoformat(),
        "year": year,
        "scope": _scope(session, reader),
        "cities": list(CITIES),
        "violations": rates,
        "by_unit": figures_module.by_unit(session, reader, as_of),
        "time_to_close": figures_module.time_to_close(session, reader, as_of),
        "method": {
            "violation": "kind 违法违规, found in the period and by as_of, not withdrawn (撤销), as the register "
            "stood at the end of as_of (China time)",
            "green_heart": "the 绿心 zones in force on the period's last day (or on as_of while it runs), unioned, "
            "intersected with the city's districts; area in EPSG:4547, km²",
            "time_to_close": "days from found_on to the 销号 step (China time), closed cases only",
        },
    }


def rectification(session: Session, reader: Reader, *, start: date, as_of: date) -> dict[str, Any]:
    """The cases' figures an evaluation freezes: per responsible unit (open, overdue, closed, withdrawn, due in
    ``start``..``as_of``, closed by their deadline, violations found then), their totals, and the time to close."""
    _check(reader)
    units = figures_module.rectification_by_unit(session, reader, start, as_of)
    keys = ("open", "overdue", "closed", "withdrawn", "due", "closed_on_time", "violations")
    return {
        "by_unit": units,
        "totals": {k: sum(int(u[k]) for u in units) for k in keys},
        "time_to_close": figures_module.time_to_close(session, reader, as_of)["all"],
    }


def rate_chart(periods: list[dict[str, Any]]) -> Chart:
    return grouped_bars(periods)
