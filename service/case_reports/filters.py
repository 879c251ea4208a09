"""The notice's and the figures' query parameters, checked: a bad one is a 400 naming it, in Chinese and English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from service.case_reports.notices import NoticeFilters
from service.case_reports.scope import CITIES
from service.errors import Problem
from service.models.cases import CASE_KINDS

CST = timezone(timedelta(hours=8))
EARLIEST = date(2000, 1, 1)


def today() -> date:
    """Today on the users' clock (China time)."""
    return datetime.now(UTC).astimezone(CST).date()


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def parse_as_of(value: str | None) -> date:
    value = _blank(value)
    if value is None:
        return today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Problem(
            400,
            f"截至日期须为 年-月-日，如 2026-03-31 / as_of: not a date (YYYY-MM-DD): {value[:40]!r}",
            parameter="as_of",
        ) from None
    if not EARLIEST <= day <= today() + timedelta(days=366):
        raise Problem(
            400, f"截至日期超出范围 / as_of: {day} is out of range ({EARLIEST} to a year from today)", parameter="as_of"
        )
    return day


def parse_city(value: str | None) -> str | None:
    value = _blank(value)
    if value is None:
        return None
    city = value if value.endswith("市") else f"{value}市"
    if city not in CITIES:
        raise Problem(400, f"城市须为 {'、'.join(CITIES)} 之一 / city: one of {', '.join(CITIES)}", parameter="city")
    return city


def parse_kind(value: str | None) -> str | None:
    value = _blank(value)
    if value is None:
        return None
    if value not in CASE_KINDS:
        raise Problem(
            400, f"类型须为 {'、'.join(CASE_KINDS)} 之一 / kind: one of {', '.join(CASE_KINDS)}", parameter="kind"
        )
    return value


def parse_year(value: str | None, as_of: date) -> int:
    value = _blank(value)
    if value is None:
        return as_of.year
    if not value.isdigit() or not EARLIEST.year <= int(value) <= as_of.year:
        raise Problem(
            400,
            f"年度须为 {EARLIEST.year}–{as_of.year} 的年份 / year: a year from {EARLIEST.year} to {as_of.year}",
            parameter="year",
        )
    return int(value)


def notice_filters(as_of: str | None, city: str | None, kind: str | None) -> NoticeFilters:
    return NoticeFilters(as_of=parse_as_of(as_of), city=parse_city(city), kind=parse_kind(kind))
