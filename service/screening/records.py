"""Recorded screenings: store an answer as seen, fetch it back unchanged, list, and recheck.

A record keeps the full answer, the rules files' hashes, each zone's geometry hash and the part of
each zone around the site (docs/decisions/0053-records-keep-what-they-saw.md), so fetching it
after a layer edit shows what the inspector saw; :func:`recheck` says what would differ today.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.models import Screening
from service.screening.rules import RuleBook
from service.screening.rules_store import rulebook
from service.screening.site_input import ScreeningInput
from service.screening.verdict import CategoryChoice, screen


def record(
    session: Session,
    actor: str,
    site: ScreeningInput,
    answer: dict[str, Any],
    *,
    project_id: int | None = None,
    extra_params: dict[str, Any] | None = None,
) -> Screening:
    """Store the screening as seen; the stored answer gains its id and who/when."""
    # the id is drawn first so that the answer is stored once, already stamped with it; a Core INSERT:
    # the ORM's unit of work was a third of a screening's Python time
    row_id = session.execute(text("SELECT nextval(pg_get_serial_sequence('screenings', 'id'))")).scalar_one()
    values: dict[str, Any] = {
        "id": row_id,
        "actor": actor,
        "project_id": project_id,
        "on_date": date.fromisoformat(answer["date"]),
        "input_hash": answer["input"]["input_hash"],
        "input_geom": from_shape(site.geometry, srid=4326),
        "buffer_m": round(answer["buffer_m"]) if answer["buffer_m"] else None,
        "params": {
            "date": answer["date"],
            "buffer_m": answer["buffer_m"],
            "category": answer["category"],
            "crs": site.crs,
            "source": site.source,
            **(extra_params or {}),
        },
        "scheme_versions": answer["scheme_versions"],
        "result": {**answer, "id": row_id, "actor": actor, "project_id": project_id},
    }
    created_at = session.execute(insert(Screening).values(values).returning(Screening.created_at)).scalar_one()
    row = Screening(**values, created_at=created_at)
    return row


def public_answer(stored: dict[str, Any], *, include_map: bool = False) -> dict[str, Any]:
    """The answer as shown: the map geometries only on request (they can be large)."""
    answer = {k: v for k, v in stored.items() if include_map or k != "map"}
    if answer.get("id") is not None:
        sid = answer["id"]
        answer["links"] = {
            "self": f"/screenings/{sid}",
            "map": f"/maps/screening/{sid}",
            "report_html": f"/screenings/{sid}/report.html",
            "report_pdf": f"/screenings/{sid}/report.pdf",
        }
    return answer


def stored(session: Session, screening_id: int) -> Screening:
    row = session.get(Screening, screening_id)
    if row is None:
        raise Problem(404, f"no screening with id {screening_id}", parameter="id")
    return row


def latest_for_project(session: Session, project_id: int) -> Screening | None:
    """The project's newest recorded screening (single or batch), or None."""
    query = (
        select(Screening)
        .where(Screening.project_id == project_id)
        .order_by(Screening.created_at.desc(), Screening.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def rerun(session: Session, row: Screening, rules: RuleBook, **options: Any) -> dict[str, Any]:
    """The recorded site screened again at its date, buffer and category, under ``rules`` (no views, nothing
    recorded); ``options`` go to :func:`screen` (a replay's zone parts and layers)."""
    params = row.params
    site = ScreeningInput(to_shape(row.input_geom), params.get("crs", "EPSG:4326"), params.get("source", "record"))
    cat = params.get("category") or {}
    choice = CategoryChoice(cat.get("given"), next((c for c in rules.categories if c.id == cat.get("id")), None), False)
    buffer_m = float(params.get("buffer_m") or 0)
    return screen(session, site, row.on_date, buffer_m, choice, with_views=False, rules=rules, **options)


def flat_zones(answer: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each zone of an answer by ``layer/zone_key``: (verdict, inside, overlap %, zone hash)."""
    return {
        f"{entry['layer']}/{z['zone_key']}": (z["verdict"], z["inside"], z["overlap_pct"], z["zone_hash"])
        for entry in answer["layers"]
        for z in entry["zones"]
    }


def zone_differences(recorded: dict[str, Any], again: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """The zones whose answer differs between a record and a rerun (``label`` names the rerun's side)."""
    before, after = flat_zones(recorded), flat_zones(again)
    return [
        {"zone": key, "recorded": before.get(key), label: after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def recheck(session: Session, row: Screening) -> dict[str, Any]:
    """Re-run a recorded screening against today's layers and rules and say what differs."""
    now = rerun(session, row, rulebook(session))
    differences = zone_differences(row.result, now, "now")
    return {
        "id": row.id,
        "recorded_verdict": row.result["verdict"],
        "verdict_now": now["verdict"],
        "changed": bool(differences) or row.scheme_versions != now["scheme_versions"],
        "differences": differences,
        "scheme_versions_recorded": row.scheme_versions,
        "scheme_versions_now": now["scheme_versions"],
    }


def list_screenings(
    session: Session,
    *,
    project_id: int | None = None,
    batch: str | None = None,
    verdict: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Summaries, newest first."""
    query = select(Screening).order_by(Screening.created_at.desc(), Screening.id.desc())
    if project_id is not None:
        query = query.where(Screening.project_id == project_id)
    if batch is not None:
        query = query.where(Screening.params["batch"].astext == batch)
    if verdict is not None:
        query = query.where(Screening.result["verdict"].astext == verdict)
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return [summary(r) for r in rows]


def summary(row: Screening) -> dict[str, Any]:
    result = row.result
    hits = [
        {"layer": e["layer"], "zone": z["name"], "subzone": z["subzone"], "verdict": z["verdict"]}
        for e in result.get("layers", [])
        for z in e["zones"]
        if z["inside"]
    ]
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "actor": row.actor,
        "project_id": row.project_id,
        "date": row.on_date.isoformat(),
        "buffer_m": result.get("buffer_m"),
        "input_hash": row.input_hash,
        "verdict": result.get("verdict"),
        "flagged": result.get("flagged"),
        "hits": hits,
        "batch": row.params.get("batch"),
        "links": {"self": f"/screenings/{row.id}", "map": f"/maps/screening/{row.id}"},
    }
