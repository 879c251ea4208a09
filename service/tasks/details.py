"""What the task page shows besides progress: the task, its plan, its units from the register, its location's
review state, and the planned and latest built geometries for the map."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.geometry_guard import display_sql
from service.errors import Problem

REVIEW_STATES = ("review", "unresolved")  # a person must place the task (the projects area's review queue)
LOCATION_STATUS_LABELS = {
    "pending": "待定位",
    "auto": "自动定位",
    "review": "待人工复核",
    "unresolved": "无法定位，待人工处理",
    "manual": "人工定位",
}
METHOD_LABELS = {"gazetteer": "地名匹配", "admin": "行政区划", "seat": "责任单位驻地", "manual": "人工绘制"}
PRECISION_LABELS = {  # IATI / AidData precision codes
    1: "1 精确位置",
    2: "2 附近（25 公里内）",
    3: "3 区县内",
    4: "4 省内",
    5: "5 估计（沿道路、河流或两地之间）",
    6: "6 全国",
    8: "8 责任单位驻地",
}


def task(session: Session, project_id: int) -> dict[str, Any]:
    """The task with its plan, deadline and location state; 404 when there is none."""
    row = (
        session.execute(
            text(
                "SELECT p.id, p.plan_id, pl.title AS plan_title, COALESCE(p.year, pl.year) AS year, p.section,"
                " p.number, p.title, p.task_text, p.category, p.lead_units, p.responsible_units, p.deadline,"
                " p.deadline_text, p.location_status, p.precision, p.version,"
                " CASE WHEN p.geom IS NULL THEN NULL"
                "      WHEN NOT ST_IsEmpty(ST_CollectionExtract(p.geom, 3)) THEN 'areal'"
                "      WHEN NOT ST_IsEmpty(ST_CollectionExtract(p.geom, 2)) THEN 'linear'"
                "      ELSE 'point' END AS kind,"
                " (SELECT l.method FROM project_locations l WHERE l.project_id = p.id"
                "   ORDER BY l.precision, l.id LIMIT 1) AS method"
                " FROM projects p JOIN plans pl ON pl.id = p.plan_id WHERE p.id = :id"
            ),
            {"id": project_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, f"任务 {project_id} 不存在 / project {project_id} does not exist", parameter="id")
    found = dict(row)
    found["needs_review"] = found["location_status"] in REVIEW_STATES
    found["location_status_label"] = LOCATION_STATUS_LABELS.get(found["location_status"], found["location_status"])
    found["method_label"] = METHOD_LABELS.get(found["method"], found["method"]) if found["method"] else None
    found["precision_label"] = PRECISION_LABELS.get(found["precision"]) if found["precision"] else None
    return found


def units(session: Session, project_id: int) -> dict[str, list[dict[str, Any]]]:
    """The task's lead and responsible units as the register links them: each unit (with the group it came
    from), or the name as written and why it is not resolved yet."""
    rows = session.execute(
        text(
            "SELECT pu.role, pu.raw, pu.via_group, pu.reason, u.id AS unit_id, u.name"
            " FROM project_units pu LEFT JOIN units u ON u.id = pu.unit_id"
            " WHERE pu.project_id = :p ORDER BY pu.role, pu.id"
        ),
        {"p": project_id},
    ).mappings()
    out: dict[str, list[dict[str, Any]]] = {"lead": [], "responsible": []}
    for r in rows:
        out.setdefault(r["role"], []).append(dict(r))
    return out


def map_features(session: Session, project_id: int) -> dict[str, Any]:
    """A FeatureCollection of the planned geometry and the latest report's built part (bounded for display)."""
    planned = display_sql("p.geom", "p.geom")
    done = display_sql("r.done_geom", "r.done_geom")
    rows = session.execute(
        text(
            f"SELECT 'planned' AS role, NULL AS period, ST_AsGeoJSON({planned}, 7) AS gj"
            " FROM projects p WHERE p.id = :p AND p.geom IS NOT NULL"
            " UNION ALL"
            f" (SELECT 'done', to_char(r.period, 'YYYY-MM'), ST_AsGeoJSON({done}, 7)"
            "  FROM progress_reports r WHERE r.project_id = :p AND r.done_geom IS NOT NULL"
            "  ORDER BY r.period DESC, r.created_at DESC, r.id DESC LIMIT 1)"
        ),
        {"p": project_id},
    ).mappings()
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(r["gj"]),
            "properties": {"role": r["role"], "period": r["period"]},
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}
