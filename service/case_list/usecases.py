"""The case list's use cases: reads only (no audit entry, no commit), always through the caller's visibility
(service.cases.access via service.cases.listing), so the page, its JSON and its map agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.cases import listing
from service.cases.listing import CaseFilters, CasePage


def case_page(session: Session, filters: CaseFilters, role: str | None, actor: str, page: int, size: int) -> CasePage:
    return listing.list_cases(session, listing.check(filters), role, actor, page, size)


def case_map(
    session: Session,
    filters: CaseFilters,
    role: str | None,
    actor: str,
    limit: int,
    bbox: tuple[float, float, float, float] | None,
) -> str:
    return listing.map_geojson(session, listing.check(filters), role, actor, limit, bbox)


def choices(session: Session) -> dict[str, list[tuple[Any, str]]]:
    return listing.filter_options(session)
