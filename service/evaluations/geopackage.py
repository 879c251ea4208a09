"""``tasks.gpkg``: the frozen tasks as a GeoPackage layer, for the evaluator's GIS (QGIS, ArcGIS).

Written once when the evaluation is made, in its transaction (the geometries of that moment), with the
snapshot's own columns, so the map and the tables of the package agree.  A task not located yet is a row
without geometry: GeoPackage allows it and QGIS lists it in the attribute table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

MEDIA_TYPE = "application/geopackage+sqlite3"
LAYER = "tasks"
LIST_FIELDS = ("lead_units", "assessed_units")


def _geometries(session: Session, ids: list[int]) -> dict[int, bytes]:
    rows = session.execute(
        text("SELECT id, ST_AsBinary(geom) AS wkb FROM projects WHERE id = ANY(:ids) AND geom IS NOT NULL"),
        {"ids": ids},
    )
    return {int(r.id): bytes(r.wkb) for r in rows}


def tasks_gpkg(session: Session, tasks: list[dict[str, Any]], evaluation_title: str) -> bytes:
    """The tasks as GeoPackage bytes (EPSG:4326), one feature per task in snapshot order."""
    wkb = _geometries(session, [t["project_id"] for t in tasks])
    records = [{k: ("、".join(v) if k in LIST_FIELDS else v) for k, v in t.items()} for t in tasks]
    geometry = [shapely.from_wkb(wkb[t["project_id"]]) if t["project_id"] in wkb else None for t in tasks]
    frame = gpd.GeoDataFrame(records, geometry=geometry, crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="xiangmap-eval-") as tmp:
        path = Path(tmp) / "tasks.gpkg"
        frame.to_file(
            path,
            layer=LAYER,
            driver="GPKG",
            engine="pyogrio",
            layer_options={"IDENTIFIER": evaluation_title[:200], "DESCRIPTION": "xiangmap evaluation tasks"},
        )
        return path.read_bytes()
