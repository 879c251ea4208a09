"""Make, list, read and compare evaluations; called alike by the routes, the pages and ``xiangmap evaluations``.

Making one is one ``REPEATABLE READ`` transaction: the data version, every task's state, the cases' figures
and the wall map all come from the same moment, and the evaluation, its first files and the audit entry are
committed together.  Nothing is ever updated: the report, the workbook and the package are drawn from the
frozen files on their first download and stored then (decision 0280).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service import __version__
from service.case_reports import usecases as case_reports
from service.common import audit
from service.common.derived_status import BEHIND_CLASSES
from service.data_version import VERSION_SQL
from service.errors import Problem
from service.evaluations import compare as comparing
from service.evaluations import geopackage, scoreboard, snapshot
from service.maps import usecases as maps
from service.models.evaluations import EVALUATION_KINDS, KIND_LABELS
from service.progress import usecases as progress
from service.settings import get_settings

MAKING_ROLES = ("coordinator",)  # the 两型办 planners (admin always passes)
RULE_FILE = "rules/assessment.yaml"  # under the geodata directory
CLASS_RULE = Path(__file__).resolve().parents[1] / "common" / "derived_status.py"
MEDIA_TYPES = {
    "evaluation.json": "application/json",
    "wallmap.png": "image/png",
    "tasks.gpkg": geopackage.MEDIA_TYPE,
    "report.pdf": "application/pdf",
    "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "package.zip": "application/zip",
}
DRAWN_ON_DEMAND = ("report.pdf", "report.xlsx", "package.zip")
META_SQL = """SELECT e.id, e.kind, e.as_of, e.period, e.plan_id, e.title, e.data_version, e.rule_version,
       e.created_by, to_char(e.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
           AS created_at
  FROM evaluations e"""


def rule_path() -> Path:
    return get_settings().geodata_dir / RULE_FILE


def rule() -> scoreboard.Rule:
    """The scoreboard's rule file as it is now (a Problem 422 naming the field when it is not a rule)."""
    try:
        return scoreboard.load_rule(rule_path(), f"geodata/{RULE_FILE}")
    except scoreboard.RuleError as exc:
        raise Problem(422, f"考核规则文件有误 / the scoreboard rule is not valid: {exc}") from exc


def _plan(session: Session, plan_id: str | None) -> dict[str, Any] | None:
    if plan_id is None:
        return None
    row = session.execute(text("SELECT id, title FROM plans WHERE id = :id"), {"id": plan_id}).mappings().first()
    if row is None:
        raise Problem(400, f"计划“{plan_id}”不存在 / no plan {plan_id!r}", parameter="plan")
    return dict(row)


def _check_kind(kind: str) -> None:
    if kind not in EVALUATION_KINDS:
        raise Problem(
            400,
            f"评估类型“{kind}”不是 monthly、quarterly、yearly 之一 / kind must be one of {', '.join(EVALUATION_KINDS)}",
            parameter="kind",
        )


def _store(session: Session, evaluation_id: int, name: str, content: bytes) -> None:
    session.execute(
        text(
            "INSERT INTO evaluation_files (evaluation_id, name, media_type, content, sha256, size)"
            " VALUES (:id, :name, :media, :content, :sha, :size) ON CONFLICT (evaluation_id, name) DO NOTHING"
        ),
        {
            "id": evaluation_id,
            "name": name,
            "media": MEDIA_TYPES[name],
            "content": content,
            "sha": snapshot.sha256(content),
            "size": len(content),
        },
    )


def make(session: Session, *, kind: str, as_of: date, plan_id: str | None, actor: str, role: str | None) -> dict:
    """Freeze an evaluation of every task (of ``plan_id``, or of every plan) at ``as_of``; its metadata."""
    _check_kind(kind)
    if session.in_transaction():
        raise RuntimeError("evaluations.make opens its own transaction: pass a session with none begun")
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    plan = _plan(session, plan_id)
    the_rule = rule()
    settings = get_settings()
    data_version = str(session.execute(text(VERSION_SQL)).scalar_one())
    filters = progress.ProjectFilter(plan=plan_id)
    state_sql, params = progress.state_query(as_of, settings.delay_threshold_pct, filters)
    progress.tune_for_state_queries(session)
    tasks = snapshot.task_rows(session, state_sql, params)
    plan_titles = {r.id: r.title for r in session.execute(text("SELECT id, title FROM plans"))}
    groups = snapshot.groups(tasks, plan_titles)
    reader = case_reports.Reader(actor, role)
    cases = case_reports.rectification(session, reader, start=date(as_of.year, 1, 1), as_of=as_of)
    board = scoreboard.scoreboard(
        the_rule, snapshot.unit_task_counts(groups["unit"]), {u["unit"]: u for u in cases["by_unit"]}
    )
    title = snapshot.title_for(kind, as_of, plan["title"] if plan else None)
    wall = maps.wall_map_png(
        session, as_of=as_of, threshold_pct=settings.delay_threshold_pct, filters=filters, title=title
    )
    meta = (
        session.execute(
            text(
                "INSERT INTO evaluations (kind, as_of, period, plan_id, title, data_version, rule_version, created_by)"
                " VALUES (:kind, :as_of, :period, :plan, :title, :version, :rule, :actor) RETURNING id"
            ),
            {
                "kind": kind,
                "as_of": as_of,
                "period": snapshot.period_label(kind, as_of),
                "plan": plan_id,
                "title": title,
                "version": data_version,
                "rule": the_rule.label,
                "actor": actor,
            },
        )
        .mappings()
        .one()
    )
    evaluation = _meta(session, int(meta["id"]))
    document = {
        "format": snapshot.FORMAT,
        "evaluation": {
            "id": evaluation["id"],
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "period": evaluation["period"],
            "as_of": as_of.isoformat(),
            "title": title,
            "scope": {"plan_id": plan_id, "plan_title": plan["title"] if plan else "全部计划"},
            "created_at": evaluation["created_at"],
            "created_by": actor,
        },
        "basis": {
            "data_version": data_version,
            "delay_threshold_pct": settings.delay_threshold_pct,
            "rules": {
                the_rule.path: the_rule.sha256,
                "service/common/derived_status.py": snapshot.sha256(CLASS_RULE.read_bytes()),
            },
            "software": f"xiangmap {__version__}",
        },
        "summary": snapshot.figures(tasks),
        "tasks": tasks,
        "groups": groups,
        "cases": cases,
        "scoreboard": board,
        "wall_map": {"name": "wallmap.png", "media_type": "image/png", "sha256": snapshot.sha256(wall)},
    }
    content = snapshot.canonical(document)
    made = evaluation | {"sha256": snapshot.sha256(content), "tasks": len(tasks)}
    _store(session, evaluation["id"], "evaluation.json", content)
    _store(session, evaluation["id"], "wallmap.png", wall)
    _store(session, evaluation["id"], "tasks.gpkg", geopackage.tasks_gpkg(session, tasks, title))
    audit.record(
        session,
        actor,
        "evaluation.make",
        "evaluation",
        evaluation["id"],
        after=made,
    )
    session.commit()
    return made


def _meta(session: Session, evaluation_id: int) -> dict[str, Any]:
    row = session.execute(text(f"{META_SQL} WHERE e.id = :id"), {"id": evaluation_id}).mappings().first()
    if row is None:
        raise Problem(404, f"评估 {evaluation_id} 不存在 / evaluation {evaluation_id} does not exist", parameter="id")
    return _shaped(row)


def _shaped(row: Any) -> dict[str, Any]:
    """A META_SQL row as the pages and the API show it."""
    return dict(row) | {"id": int(row["id"]), "as_of": row["as_of"].isoformat(), "kind_label": KIND_LABELS[row["kind"]]}


def listing(session: Session) -> list[dict[str, Any]]:
    """Every evaluation, newest first."""
    rows = session.execute(text(f"{META_SQL} ORDER BY e.created_at DESC, e.id DESC")).mappings()
    return [_shaped(r) for r in rows]


def evaluation(session: Session, evaluation_id: int) -> dict[str, Any]:
    """The evaluation's metadata and the files it has (name, media type, size, SHA-256)."""
    meta = _meta(session, evaluation_id)
    files = session.execute(
        text(
            "SELECT name, media_type, size, sha256 FROM evaluation_files WHERE evaluation_id = :id"
            " ORDER BY created_at, name"
        ),
        {"id": evaluation_id},
    ).mappings()
    return meta | {"files": [dict(f) for f in files]}


def _stored(session: Session, evaluation_id: int, name: str) -> bytes | None:
    value = session.execute(
        text("SELECT content FROM evaluation_files WHERE evaluation_id = :id AND name = :name"),
        {"id": evaluation_id, "name": name},
    ).scalar()
    return None if value is None else bytes(value)


def snapshot_document(session: Session, evaluation_id: int) -> dict[str, Any]:
    content = stored_file(session, evaluation_id, "evaluation.json")[0]
    return json.loads(content)


def _draw(session: Session, evaluation_id: int, name: str) -> bytes:
    """A file drawn from the frozen files only (never the live tables), the way it is stored."""
    frozen = _stored(session, evaluation_id, "evaluation.json")
    if frozen is None:
        raise Problem(404, f"评估 {evaluation_id} 没有快照 / evaluation {evaluation_id} has no snapshot")
    document = json.loads(frozen)
    if name == "report.pdf":
        from service.evaluations.report_pdf import report_pdf

        return report_pdf(document, _stored(session, evaluation_id, "wallmap.png"))
    if name == "report.xlsx":
        from service.evaluations.report_xlsx import report_xlsx

        return report_xlsx(document)
    from service.evaluations.package import package_zip

    files = {n: stored_file(session, evaluation_id, n)[0] for n in ("report.pdf", "report.xlsx")}
    for n in ("tasks.gpkg", "wallmap.png"):
        stored = _stored(session, evaluation_id, n)
        if stored is not None:
            files[n] = stored
    return package_zip(frozen, files)


def stored_file(session: Session, evaluation_id: int, name: str) -> tuple[bytes, str]:
    """One of the evaluation's files as (bytes, media type); the report, the workbook and the package are
    drawn and stored on their first request (two first requests at once store one: the other's is dropped)."""
    if name not in MEDIA_TYPES:
        raise Problem(404, f"评估没有文件“{name}” / no file {name!r}; files: {', '.join(MEDIA_TYPES)}")
    _meta(session, evaluation_id)
    content = _stored(session, evaluation_id, name)
    if content is None and name in DRAWN_ON_DEMAND:
        drawn = _draw(session, evaluation_id, name)
        _store(session, evaluation_id, name, drawn)
        session.commit()
        content = _stored(session, evaluation_id, name)
    if content is None:
        raise Problem(404, f"评估 {evaluation_id} 没有文件“{name}” / evaluation {evaluation_id} has no {name}")
    return content, MEDIA_TYPES[name]


def plan_choices(session: Session) -> list[dict[str, Any]]:
    """The plans an evaluation may be scoped to, newest year first."""
    rows = session.execute(text("SELECT id, title, year FROM plans ORDER BY year DESC, id")).mappings()
    return [dict(r) for r in rows]


def rule_summary() -> dict[str, Any]:
    """The scoreboard rule now in force, as the page shows it before an evaluation is made."""
    return rule().describe()


def behind_tasks(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot's tasks that are behind (已开工进展缓慢, 应开工未开工), in task order."""
    return [t for t in document["tasks"] if t["status"] in BEHIND_CLASSES]


sha256 = snapshot.sha256


def compare(session: Session, first: int, second: int) -> dict[str, Any]:
    """What moved between two evaluations (the earlier's figures against the later's)."""
    return comparing.compare(snapshot_document(session, first), snapshot_document(session, second))
