"""What users do with screening, as plain functions of a Session (issue #13, decision 0100).

The HTTP routes, the ``xiangmap screen`` command and any batch job call these same functions, so a
screening is recorded, audited and committed the same way whoever asks: the route only parses,
authorises and shapes the answer, the CLI only parses and writes files.  Each use case that writes
records its audit entry (``service.common.audit.record``) in the transaction of the write and
commits; the domain modules below never commit.  Reads return the answer as shown to a client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.common import audit
from service.common.signed_links import sign
from service.database import get_engine
from service.errors import Problem
from service.models import Project
from service.screening import project_categories, rules_store
from service.screening.batch import (
    BatchOutcome,
    batch_rows,
    project_category,
    project_choice,
    project_site,
    project_summary,
    screen_projects,
)
from service.screening.labels import labelled, name_and_note, report_title
from service.screening.records import latest_for_project, list_screenings, public_answer, record, stored
from service.screening.records import recheck as recheck_row
from service.screening.replay import replay as replay_row
from service.screening.reports import render_report
from service.screening.rules import VERDICTS
from service.screening.rules_store import rulebook
from service.screening.site_input import input_from_request, understand
from service.screening.verdict import check_buffer, choose_category, screen, today

__all__ = [
    "BatchOutcome",
    "batch_report",
    "clear_project_category",
    "get_screening",
    "latest_project_screening",
    "layer_rules_content",
    "layer_rules_history",
    "list_screenings",
    "project_category_of",
    "recheck",
    "record_screening",
    "rules_in_force",
    "screen_batch",
    "screen_project",
    "screen_site",
    "screening_map",
    "screening_report",
    "set_project_category",
    "store_layer_rules",
]


def screen_site(
    session: Session,
    actor: str,
    *,
    geometry: dict[str, Any] | None = None,
    wkt: str | None = None,
    crs: str | None = None,
    upload: Any = None,
    buffer_m: float = 0.0,
    on: date | None = None,
    category: str | None = None,
    name: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Screen a site given as GeoJSON, WKT or an uploaded file; recorded, audited, committed.

    ``name`` and ``note`` (issue 16) are kept with the record and shown in its answer and its reports.
    Returns the recorded answer with its links and the signed share link of its map.
    """
    name, note = name_and_note(name, note)
    site = input_from_request(geometry=geometry, wkt=wkt, crs=crs, upload=upload)
    buffer = check_buffer(buffer_m)
    rules = rulebook(session)  # one rule book for the category and the verdicts
    choice = choose_category(rules, category)
    answer = labelled(screen(session, site, on or today(), buffer, choice, rules=rules), name, note)
    row = record(session, actor, site, answer, extra_params={"name": name, "note": note})
    audit.record(session, actor, "screen", "screening", row.id, after={"verdict": answer["verdict"], "name": name})
    session.commit()
    return with_share_link(public_answer(row.result))


def record_screening(
    session: Session,
    actor: str,
    geometry: dict[str, Any],
    on: date,
    *,
    name: str,
    note: str = "",
    source: str = "case",
    category: str | None = None,
) -> dict[str, Any]:
    """Screen a WGS84 GeoJSON geometry at ``on`` and record it with a ``name`` and a ``note``, in the caller's
    transaction: audited, not committed (the case register screens a case as part of registering it).

    Returns the recorded answer (without the map views), its ``id`` among them.
    """
    import shapely.geometry

    site = understand(shapely.geometry.shape(geometry), "EPSG:4326", source)
    rules = rulebook(session)
    choice = choose_category(rules, category)
    answer = screen(session, site, on, 0.0, choice, rules=rules)
    answer["name"], answer["note"] = name, note
    row = record(session, actor, site, answer, extra_params={"name": name, "note": note})
    audit.record(session, actor, "screen", "screening", row.id, after={"verdict": answer["verdict"], "name": name})
    return public_answer(row.result)


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise Problem(404, f"no project with id {project_id}", parameter="id")
    return project


def _project_choice(session: Session, project: Project, given: str | None) -> tuple[Any, dict[str, Any] | None]:
    """The category a project is screened under: the one given for this screening, else the inspector's,
    else the one inferred from its words; and the inspector's entry when that is what decided."""
    rules = rulebook(session)
    if given is not None and given.strip():
        return choose_category(rules, given), None
    entry = project_categories.stored(session, project.id)
    return project_choice(rules, project, entry), entry


def screen_project(
    session: Session,
    actor: str,
    project_id: int,
    on: date | None = None,
    buffer_m: float = 0.0,
    category: str | None = None,
) -> dict[str, Any]:
    """Screen a stored project on its geometry and category; recorded, audited, committed.

    ``POST /projects/{id}/screening``: until issue #13 this was a GET that recorded without an audit
    entry; a write is a POST and every recorded screening has its audit entry.  The category is the one
    given for this screening, else the inspector's (issue 18), else inferred from the task's words.
    """
    project = _project(session, project_id)
    site = project_site(project)
    choice, entry = _project_choice(session, project, category)
    answer = screen(session, site, on or today(), check_buffer(buffer_m), choice)
    if entry is not None:
        answer["category"] = project_categories.annotate(answer["category"], entry)
    answer["project"] = project_summary(project, answer["input"]["area_m2"])
    row = record(session, actor, site, answer, project_id=project.id)
    audit.record(
        session,
        actor,
        "screen",
        "screening",
        row.id,
        after={"verdict": answer["verdict"], "project_id": project.id},
    )
    session.commit()
    return with_share_link(public_answer(row.result))


def project_category_of(session: Session, project_id: int) -> dict[str, Any]:
    """The category the project is screened under now and how it was chosen (set by an inspector, or
    inferred from its words, with the words and the confidence)."""
    project = _project(session, project_id)
    choice, entry = _project_choice(session, project, None)
    shown = choice.as_dict()
    if entry is not None:
        shown = project_categories.annotate(shown, entry)
    inferred = project_category(rulebook(session), project).as_dict()
    return {"project_id": project.id, "title": project.title, "category": shown, "inferred": inferred}


def set_project_category(session: Session, actor: str, project_id: int, category: str, reason: str) -> dict[str, Any]:
    """An inspector sets or corrects the project's category: kept (never overwritten by inference), audited."""
    project = _project(session, project_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Problem(400, "请写明核定类别的理由 / give the reason for the category", parameter="reason")
    if len(reason) > project_categories.MAX_REASON:
        raise Problem(
            400, f"reason is {len(reason)} characters; at most {project_categories.MAX_REASON}", parameter="reason"
        )
    if not category or not category.strip():
        raise Problem(400, "category is required (DELETE removes a category set earlier)", parameter="category")
    choice = choose_category(rulebook(session), category)
    before = project_categories.stored(session, project.id)
    entry = project_categories.save(session, project.id, choice.id, reason, actor)
    audit.record(session, actor, "set-screening-category", "project", project.id, before=before, after=entry)
    session.commit()
    return project_category_of(session, project.id)


def clear_project_category(session: Session, actor: str, project_id: int) -> dict[str, Any]:
    """Back to inference for this project (the removal is audited with what was set)."""
    project = _project(session, project_id)
    before = project_categories.stored(session, project.id)
    if before is None:
        raise Problem(404, f"project {project_id} has no category set by an inspector", parameter="id")
    project_categories.remove(session, project.id)
    audit.record(session, actor, "clear-screening-category", "project", project.id, before=before, after=None)
    session.commit()
    return project_category_of(session, project.id)


def latest_project_screening(session: Session, project_id: int) -> dict[str, Any]:
    """The latest recorded screening of a project (single or batch), exactly as answered; writes nothing."""
    project = _project(session, project_id)
    row = latest_for_project(session, project.id)
    if row is None:
        raise Problem(
            404,
            f"project {project_id} has no recorded screening yet; POST /projects/{project_id}/screening records one",
            parameter="id",
        )
    return with_share_link(public_answer(row.result))


def screen_batch(
    session: Session,
    actor: str,
    on: date | None = None,
    buffer_m: float = 0.0,
    project_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    name: str | None = None,
    note: str | None = None,
) -> BatchOutcome:
    """Screen every project (or the listed ids) as one batch; each recorded, the batch audited, committed.

    Called by ``POST /screening/batch`` and by ``xiangmap screen``, so both leave the same audit entry.
    The batch's ``name`` and ``note`` are kept with each of its records and head its report.
    """
    name, note = name_and_note(name, note)
    outcome = screen_projects(
        session, actor, on or today(), check_buffer(buffer_m), project_ids, progress, name=name, note=note
    )
    audit.record(session, actor, "screen-batch", "screening_batch", outcome.batch, after=outcome.summary())
    session.commit()
    return outcome


def rules_in_force(session: Session) -> dict[str, Any]:
    """The categories, the schemes (bundled files and published layers' stored rules) and the verdicts."""
    rules = rulebook(session)
    return {
        "categories": [{"id": c.id, "zh": c.zh, "en": c.en, "keywords": list(c.keywords)} for c in rules.categories],
        "schemes": [s.summary() for s in rules.schemes],
        "verdicts": list(VERDICTS),
    }


def store_layer_rules(
    session: Session, actor: str, layer_id: str, content: bytes, note: str | None = None
) -> dict[str, Any]:
    """GIS staff give a published protected layer its screening rules (issue 20): checked, stored, audited,
    committed.  A malformed file is a 400 naming its line (``line``, ``field``); other areas call this, not
    ``rules_store``, which is this area's own."""
    try:
        stored = rules_store.store_rules(session, layer_id, content, actor=actor, note=note)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return stored


def layer_rules_history(session: Session, layer_id: str) -> list[dict[str, Any]]:
    """Every rules file stored for a layer, newest first, each saying what superseded it."""
    return rules_store.rules_history(session, layer_id)


def layer_rules_content(session: Session, layer_id: str, rules_id: int) -> bytes:
    """A stored rules file of the layer, the bytes as accepted."""
    return rules_store.rules_content(session, rules_id, layer_id=layer_id)


def get_screening(session: Session, screening_id: int, *, include_map: bool = False) -> dict[str, Any]:
    """A recorded screening exactly as answered, with its share link."""
    return with_share_link(public_answer(stored(session, screening_id).result, include_map=include_map))


def recheck(session: Session, screening_id: int) -> dict[str, Any]:
    """What a recorded screening would say on today's layers and rules; records nothing."""
    return recheck_row(session, stored(session, screening_id))


def replay(session: Session, screening_id: int) -> dict[str, Any]:
    """What a recorded screening says against the layer versions and rules it saw; records nothing."""
    return replay_row(session, stored(session, screening_id))


def screening_map(session: Session, screening_id: int) -> str:
    """The web map (HTML) of a recorded screening, from what was recorded."""
    from service.screening.web_map import screening_map_html

    return screening_map_html(stored(session, screening_id).result)


def screening_report(session: Session, screening_id: int, fmt: str) -> tuple[bytes, str]:
    """One recorded screening as a report: (bytes, media type)."""
    row = stored(session, screening_id)
    return render_report([row], fmt, title=report_title(f"筛查记录 #{row.id}", row.result.get("name")))


def batch_report(session: Session, batch: str, fmt: str) -> tuple[bytes, str]:
    """A batch's report from its records: (bytes, media type)."""
    rows = batch_rows(session, batch)
    return render_report(rows, fmt, title=report_title(f"批量筛查 {batch}", rows[0].params.get("name")))


def with_share_link(answer: dict[str, Any]) -> dict[str, Any]:
    """Add ``links.map_shared``: the map as a signed link that opens in a browser without a token (7 days)."""
    if answer.get("id") is not None and "links" in answer:
        answer["links"]["map_shared"] = sign(get_engine(), f"/maps/screening/{answer['id']}")
    return answer
