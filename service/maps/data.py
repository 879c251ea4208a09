"""GeoJSON the web maps fetch (never inlined into the page): built in SQL, as light as the map needs.

Projects go out with only what styling needs (status, percent, precision); the popup text is fetched
when a project is clicked.  Points, and anything located no finer than a district (precision 3, 4, 6,
8), go out as one representative point so they cluster; lines and areas go out simplified to ~5 m.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.derived_status import SCHEDULE_CLASSES
from service.common.geometry_guard import display_sql
from service.common.location_codes import place_label
from service.errors import Problem

# Overlay layers the progress map offers, with the properties each popup shows.
OVERLAYS: dict[str, tuple[str, ...]] = {
    "green_heart": ("name", "scheme", "subzone", "regulation"),
    "qingshuitang": ("name", "kind"),
    "demo_zones": ("name", "kind"),
    "districts": ("name", "city", "adcode"),
    "roads": ("name", "road_class"),
    "streams": ("name", "kind"),
    "sewage_plants": ("name", "phase", "capacity_m3_d"),
}
SIMPLIFY_DEG = 0.00005  # about 5 m: invisible on screen, shrinks long roads and district outlines


def display_geom() -> str:
    """The project's map geometry; a stored row over ``map_simplify_vertices`` is drawn as its bounding box
    (or the box's centre where a point is drawn) and never given to GEOS, which cannot be interrupted there."""
    point = display_sql("p.geom", "ST_PointOnSurface(p.geom)", point=True)
    simplified = display_sql("p.geom", f"ST_SimplifyPreserveTopology(p.geom, {SIMPLIFY_DEG})")
    return f"""
CASE WHEN ST_Dimension(p.geom) = 0 OR COALESCE(p.precision, 0) IN (3, 4, 6, 8) THEN {point}
     ELSE {simplified} END"""


def projects_geojson(session: Session, state_sql: str, params: dict[str, Any]) -> str:
    """A FeatureCollection of the projects ``state_sql`` gives (the derived state, from the use case, which
    reads it through progress.usecases and tunes the transaction for it), as text straight from PostGIS."""
    # Text concatenation, not json_build_object: no re-parsing of ST_AsGeoJSON output (3x faster at 100 000).
    # Status comes from a fixed vocabulary and the rest are numbers, so nothing needs JSON escaping.
    sql = f"""
SELECT '{{"type":"FeatureCollection","as_of":"' || CAST(:as_of AS date) || '","features":[' || COALESCE(string_agg(
    '{{"type":"Feature","id":' || p.id || ',"geometry":' || ST_AsGeoJSON({display_geom()}, 6)
    || ',"properties":{{"s":"' || s.status || '","p":' || s.percent || ',"q":' || COALESCE(p.precision::text, 'null')
    || '}}}}', ',' ORDER BY p.id), '') || ']}}'
FROM ({state_sql}) s JOIN projects p ON p.id = s.project_id
WHERE p.geom IS NOT NULL"""
    return str(session.execute(text(sql), params).scalar_one())


def project_popup(session: Session, project_id: int, state_sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Everything a project's popup shows, in one small JSON document; ``state_sql`` (with ``params``) is
    the derived state filtered to that project, from the use case."""
    row = (
        session.execute(
            text(
                f"SELECT p.id, p.key, p.title, p.task_text, p.category, p.lead_units, p.responsible_units,"
                f" p.targets, p.deadline, p.deadline_text, p.precision, p.location_status, pl.title AS plan_title,"
                f" s.status, s.reported_status, s.percent, s.delayed, s.delay_reason, s.period, s.note,"
                f" s.investment_wan, s.elapsed_pct, s.demo"
                f" FROM ({state_sql}) s JOIN projects p ON p.id = s.project_id JOIN plans pl ON pl.id = p.plan_id"
            ),
            params,
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, f"project {project_id} does not exist", parameter="id")
    out = dict(row)
    out["deadline"] = out["deadline"].isoformat() if out["deadline"] else None
    out["period"] = out["period"].strftime("%Y-%m") if out["period"] else None
    out["place"] = place_label(out["precision"], out["location_status"])  # 8: names no place (issue 19)
    return out


# a stored row over the map bound is centred on its bounding box, never handed to GEOS (decision 0093)
CENTRE = display_sql("geom", "ST_PointOnSurface(geom)", point=True)


def project_for_page(session: Session, project_id: int) -> dict[str, Any]:
    """What /maps/projects/{id} puts in its page config: the project's text and the centre to open on."""
    row = (
        session.execute(
            text(
                "SELECT id, key, title, task_text, lead_units, deadline::text AS deadline, deadline_text,"
                f" ST_Y({CENTRE}) AS lat, ST_X({CENTRE}) AS lon"
                " FROM projects WHERE id = :id"
            ),
            {"id": project_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, f"project {project_id} does not exist", parameter="id")
    return dict(row)


def has_demo_progress(session: Session) -> bool:
    """Whether any progress report is demonstration data: the progress page says so when there is some."""
    return bool(session.execute(text("SELECT EXISTS (SELECT 1 FROM progress_reports WHERE demo)")).scalar_one())


def overlay_geojson(session: Session, layer: str) -> str:
    """One reference layer, simplified, with the few properties its popup shows."""
    if layer not in OVERLAYS:
        raise Problem(404, f"no map layer {layer!r}; one of {', '.join(OVERLAYS)}", parameter="layer")
    props = ", ".join(f"'{column}', t.{column}" for column in OVERLAYS[layer])
    simplified = display_sql("t.geom", f"ST_SimplifyPreserveTopology(t.geom, {SIMPLIFY_DEG})")
    sql = f"""
SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(json_build_object(
    'type', 'Feature', 'id', t.id,
    'geometry', ST_AsGeoJSON({simplified}, 6)::json,
    'properties', json_build_object({props}, 'source', t.source, 'accuracy_m', t.accuracy_m)
)), '[]'::json))::text FROM {layer} t"""
    return str(session.execute(text(sql)).scalar_one())


def districts_choropleth(session: Session, as_of: date, summary: dict[str, Any]) -> str:
    """Districts with their completion rate (share of projects done) at ``as_of``, for the choropleth;
    ``summary`` is the progress statistics grouped by district (the use case reads them from progress)."""
    by_adcode = {g["adcode"]: g for g in summary["groups"] if g.get("adcode")}
    rows = session.execute(
        text(
            f"SELECT id, name, city, adcode,"
            f" ST_AsGeoJSON({display_sql('geom', f'ST_SimplifyPreserveTopology(geom, {SIMPLIFY_DEG * 4})')}, 6)"
            " AS geometry FROM districts ORDER BY adcode"
        )
    ).mappings()
    features = []
    for row in rows:
        group = by_adcode.get(row["adcode"], {})
        features.append(
            {
                "type": "Feature",
                "id": row["id"],
                "geometry": json.loads(row["geometry"]),
                "properties": {
                    "name": row["name"],
                    "city": row["city"],
                    "adcode": row["adcode"],
                    "projects": group.get("projects", 0),
                    "done": group.get("by_status", {}).get("已完成", 0),
                    "delayed": group.get("delayed", 0),
                    "completion_rate": group.get("completion_rate"),
                    "mean_percent": group.get("mean_percent"),
                },
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "as_of": as_of.isoformat(), "features": features}, ensure_ascii=False
    )


def facets(session: Session) -> dict[str, Any]:
    """The choices the page's filters offer, and the report periods the time slider steps through."""

    def column(sql: str) -> list[Any]:
        return [row[0] for row in session.execute(text(sql))]

    return {
        "plans": [
            {"id": r.id, "title": r.title, "year": r.year}
            for r in session.execute(text("SELECT id, title, year FROM plans ORDER BY year, id"))
        ],
        "categories": column("SELECT DISTINCT category FROM projects WHERE category IS NOT NULL ORDER BY 1"),
        "lead_units": column("SELECT DISTINCT unnest(lead_units) FROM projects ORDER BY 1"),
        "districts": [
            {"name": r.name, "city": r.city, "adcode": r.adcode}
            for r in session.execute(text("SELECT name, city, adcode FROM districts ORDER BY adcode"))
        ],
        "years": column(
            "SELECT DISTINCT COALESCE(p.year, pl.year) FROM projects p JOIN plans pl ON pl.id = p.plan_id ORDER BY 1"
        ),
        "periods": [d.strftime("%Y-%m") for d in column("SELECT DISTINCT period FROM progress_reports ORDER BY 1")],
        "statuses": list(SCHEDULE_CLASSES),
    }


def project_features(session: Session, project_id: int, as_of: date) -> str:
    """One project's planned geometry, done part, located features and the protected zones within 5 km."""
    exists = session.execute(text("SELECT 1 FROM projects WHERE id = :id"), {"id": project_id}).first()
    if exists is None:
        raise Problem(404, f"project {project_id} does not exist", parameter="id")
    params = {"id": project_id, "as_of_month": as_of.replace(day=1)}
    sql = """
WITH p AS (SELECT * FROM projects WHERE id = :id),
done AS (
    SELECT r.done_geom, r.period FROM progress_reports r
    WHERE r.project_id = :id AND r.done_geom IS NOT NULL AND r.period <= :as_of_month
    ORDER BY r.period DESC, r.created_at DESC, r.id DESC LIMIT 1
),
zones AS (
    SELECT 'green_heart' AS layer, z.name || '（' || z.scheme || ' ' || z.subzone || '）' AS name, z.geom
    FROM green_heart z, p WHERE p.geom IS NOT NULL AND ST_DWithin(z.geom::geography, p.geom::geography, 5000)
    UNION ALL
    SELECT 'qingshuitang', z.name, z.geom FROM qingshuitang z, p
    WHERE p.geom IS NOT NULL AND ST_DWithin(z.geom::geography, p.geom::geography, 5000)
    UNION ALL
    SELECT 'demo_zones', z.name, z.geom FROM demo_zones z, p
    WHERE p.geom IS NOT NULL AND ST_DWithin(z.geom::geography, p.geom::geography, 5000)
),
parts AS (
    SELECT 'planned' AS role, p.title AS name, NULL::text AS layer, p.geom, p.precision FROM p WHERE p.geom IS NOT NULL
    UNION ALL
    SELECT 'done', to_char(done.period, 'YYYY-MM'), NULL, done.done_geom, NULL FROM done
    UNION ALL
    SELECT 'location', l.name, l.layer, l.geom, l.precision FROM project_locations l
    WHERE l.project_id = :id AND l.geom IS NOT NULL
    UNION ALL
    SELECT 'zone', z.name, z.layer, z.geom, NULL FROM zones z
)
SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(parts.geom, 6)::json,
    'properties', json_build_object('role', parts.role, 'name', parts.name, 'layer', parts.layer,
                                    'precision', parts.precision)
)), '[]'::json))::text FROM parts"""
    return str(session.execute(text(sql), params).scalar_one())
