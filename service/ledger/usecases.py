"""The ledger's use cases: read-only, so no audit entry and no commit; the exports open their own
session inside the generator, which outlives the request's (decision 0100)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import derived_status
from service.database import session_scope
from service.ledger import export
from service.ledger.filters import ALL_UNITS, LedgerFilters
from service.ledger.query import OPTIONS_SQL, USER_UNIT_SQL, ledger_sql
from service.progress import usecases as progress
from service.settings import get_settings
from service.units import usecases as units

PAGE_ROWS = 500
BATCH_ROWS = 2_000
Format = Literal["csv", "xlsx"]


@dataclass(frozen=True)
class LedgerPage:
    rows: list[dict[str, Any]]
    total: int  # every matching task, of which ``rows`` are the first PAGE_ROWS


def default_unit(session: Session, user: str, role: str | None) -> int | None:
    """An editor's ledger opens on their unit's tasks; everyone else's on every task."""
    if role != "editor":
        return None
    return session.scalar(text(USER_UNIT_SQL), {"name": user})


def _sql(session: Session, filters: LedgerFilters, as_of: date, limit: int | None = None) -> tuple[str, dict[str, Any]]:
    # the unit's tasks as SQL joined in the query, not ~27,000 ids sent back and forth (decision 0184)
    unit_tasks = units.unit_tasks_cte("l_unit") if filters.unit not in (None, ALL_UNITS) else None
    progress.tune_for_state_queries(session)
    settings = get_settings()
    return ledger_sql(filters, unit_tasks, as_of, settings.delay_threshold_pct, settings.max_vertices, limit)


def ledger_rows(
    session: Session, filters: LedgerFilters, as_of: date, limit: int | None = None
) -> list[dict[str, Any]]:
    """The matching tasks in the plan's order, each with its derived state at ``as_of``."""
    sql, params = _sql(session, filters, as_of, limit)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def ledger_page(session: Session, filters: LedgerFilters, as_of: date) -> LedgerPage:
    """What the page shows: the first PAGE_ROWS tasks and how many match (the export has them all)."""
    rows = ledger_rows(session, filters, as_of, PAGE_ROWS)
    return LedgerPage(rows, int(rows[0]["total"]) if rows else 0)


def _batches(session: Session, filters: LedgerFilters, as_of: date) -> Iterator[list[dict[str, Any]]]:
    sql, params = _sql(session, filters, as_of)
    result = session.execute(text(sql), params, execution_options={"yield_per": BATCH_ROWS})
    for part in result.mappings().partitions(BATCH_ROWS):
        yield [dict(r) for r in part]


def ledger_export(filters: LedgerFilters, as_of: date, fmt: Format) -> Iterator[bytes]:
    """The filtered ledger as CSV or XLSX chunks, from a server-side cursor (memory flat at 100 000 tasks).

    The query runs before the first chunk is handed over, so a failure is an error answer, not a cut file.
    """
    writer = export.csv_chunks if fmt == "csv" else export.xlsx_chunks

    def chunks() -> Iterator[bytes]:
        with session_scope() as session:
            yield from writer(_batches(session, filters, as_of))

    stream = chunks()
    first = next(stream, b"")

    def rest() -> Iterator[bytes]:
        yield first
        yield from stream

    return rest()


def filter_options(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The choices of the filter form."""
    return {name: [dict(r) for r in session.execute(text(sql)).mappings()] for name, sql in OPTIONS_SQL.items()}


def parse_as_of(value: str | None) -> date:
    """``YYYY-MM`` (the end of that month) or ``YYYY-MM-DD``; default today (400 otherwise)."""
    return progress.parse_as_of(value)


def parse_status(value: str) -> str:
    """A schedule class or its English alias as its name (ValueError otherwise), as /stats reads it."""
    return derived_status.parse_class(value)
