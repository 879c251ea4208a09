"""QGIS's own providers, headless: OAPIF for every collection, vector tiles drawn, downloads opened by URL.

What GIS staff do in QGIS 3.22 (Debian's), done by QGIS itself in a child process (qgis_client.py):
every feature, in the right place, with every character of its Chinese text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
import shapely
from sqlalchemy import Engine, text

from service.common.drawing import STATUS_COLORS
from service.ogc.registry import collections
from tests.ogc.qgis_client import qgis_run, requires_qgis

pytestmark = requires_qgis


def _label(collection_id: str) -> str:
    return "title" if collection_id.startswith("projects") else "name"


def _match_field(engine: Engine, collection_id: str) -> str:
    """QGIS numbers OAPIF features itself: they are matched to stored rows by ``key`` (or name)."""
    return "key" if "key" in collections(engine)[collection_id].field_map else _label(collection_id)


def _stored(engine: Engine, collection_id: str) -> dict[str, tuple[str | None, Any]]:
    collection = collections(engine)[collection_id]
    match, label = _match_field(engine, collection_id), _label(collection_id)
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT t.{match}, t.{label}, ST_AsBinary(t.geom) FROM {collection.source_sql} ORDER BY t.id")
        ).all()
    return {row[0]: (row[1], shapely.from_wkb(bytes(row[2])) if row[2] is not None else None) for row in rows}


def _oapif(live_server: str, collection_id: str, *fields: str) -> dict[str, Any]:
    uri = f"pagingEnabled='true' typename='{collection_id}' url='{live_server}/'"
    return {"kind": "vector", "provider": "OAPIF", "uri": uri, "fields": [_label(collection_id), *fields]}


def test_qgis_oapif_shows_every_feature_of_every_typed_collection(
    live_server: str, engine: Engine, ogc_rows: dict
) -> None:
    typed = sorted(c.id for c in collections(engine).values() if c.geometry_type != "Geometry")
    assert {"projects_points", "projects_lines", "projects_areas", "roads"} <= set(typed)
    jobs = [_oapif(live_server, collection_id, _match_field(engine, collection_id)) for collection_id in typed]
    for collection_id, result in zip(typed, qgis_run(jobs), strict=True):
        assert result["valid"], (collection_id, result["error"], result["stderr"])
        stored = _stored(engine, collection_id)
        match = _match_field(engine, collection_id)
        served = {f["attributes"][match]: f for f in result["features"]}
        assert len(result["features"]) == len(stored) == result["feature_count"], collection_id
        assert sorted(served) == sorted(stored), f"{collection_id}: QGIS got other features than stored"
        for key, (label, geometry) in stored.items():
            feature = served[key]
            assert feature["attributes"][_label(collection_id)] == label, (collection_id, key)
            got = shapely.from_wkt(feature["wkt"]) if feature["wkt"] else None
            if geometry is None:
                assert got is None or got.is_empty
            else:
                assert got is not None and got.hausdorff_distance(geometry) < 1e-6, (collection_id, key)


def test_qgis_shows_every_located_project_through_the_kind_collections(
    live_server: str, engine: Engine, ogc_rows: dict
) -> None:
    kinds = ["projects_points", "projects_lines", "projects_areas"]
    results = qgis_run([_oapif(live_server, collection_id, "key", "task_text") for collection_id in kinds])
    with engine.connect() as conn:
        located = dict(conn.execute(text("SELECT key, task_text FROM projects WHERE geom IS NOT NULL")).all())
    seen = set()
    for collection_id, result in zip(kinds, results, strict=True):
        assert result["valid"], (collection_id, result["error"])
        assert result["wkb_type"].startswith("Multi"), (collection_id, result["wkb_type"])
        for feature in result["features"]:
            key = feature["attributes"]["key"]
            assert feature["attributes"]["task_text"] == located[key], (collection_id, key)  # every character
            seen.add(key)
    assert located and seen == set(located)


def _xyz(live_server: str, collection_id: str) -> str:
    template = f"{live_server}/collections/{collection_id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    return f"type=xyz&url={quote(template, safe='')}&zmin=0&zmax=16"


def test_qgis_vector_tile_provider_draws_the_tiles(live_server: str, ogc_rows: dict) -> None:
    # Zhuzhou's centre at zoom ~12: roads and the projects drawn in QGIS's default vector-tile style
    extent = [12_580_000.0, 3_225_000.0, 12_600_000.0, 3_245_000.0]
    jobs = [{"kind": "vectortile", "uri": _xyz(live_server, c), "extent": extent} for c in ("roads", "projects")]
    for collection_id, result in zip(("roads", "projects"), qgis_run(jobs), strict=True):
        assert result["valid"], (collection_id, result["error"])
        assert result["drawn_pixels"] > 50, (collection_id, result)


def test_qgis_reads_the_published_style_and_draws_projects_by_status(live_server: str, ogc_rows: dict) -> None:
    """The MapLibre style, converted by QGIS 3.22's own converter: status colours, not its default grey."""
    style_url = quote(f"{live_server}/collections/projects/styles/default", safe="")
    job = {
        "kind": "vectortile",
        "uri": f"styleUrl={style_url}&{_xyz(live_server, 'projects')}",
        "extent": [12_580_000.0, 3_225_000.0, 12_600_000.0, 3_245_000.0],
        "style": True,
        "background": "#f4f3ef",  # the style's background layer
        "count_colours": list(STATUS_COLORS.values()),
    }
    result = qgis_run([job])[0]
    assert result["valid"] and result["style_loaded"], result
    coloured = {colour for colour, hits in result["colour_hits"].items() if hits > 0}
    assert len(coloured) >= 2, result["colour_hits"]  # several statuses show in their own colours


# QGIS's "Protocol HTTP(S)" layer: the ogr provider on the download URL through /vsicurl/ (docs/ogc.md)
DOWNLOADS = [
    ("geojson", "", "/vsicurl/{url}"),
    ("csv", "", "/vsicurl/{url}"),
    ("gpkg", "", "/vsicurl/{url}"),
    ("fgb", "", "/vsicurl/{url}"),
    ("shp.zip", "", "/vsizip//vsicurl/{url}/roads.shp"),
    ("geojson", "EPSG:4546", "/vsicurl/{url}"),
    ("gpkg", "EPSG:4526", "/vsicurl/{url}&_=.gpkg"),  # GDAL wants the name to end in .gpkg; _= is ignored
    ("shp.zip", "EPSG:4547", "/vsizip/{{/vsicurl/{url}}}/roads.shp"),  # braces: the zip's URL has a query
]


def test_qgis_opens_the_downloads_by_url_in_the_right_place(live_server: str, engine: Engine, ogc_rows: dict) -> None:
    """Every road, where it is stored, with its Chinese name, in every format and a CRS of each kind."""
    from pyproj import Transformer

    stored = _stored(engine, "roads")
    jobs = []
    for fmt, crs, pattern in DOWNLOADS:
        url = f"{live_server}/collections/roads/download.{fmt}" + (f"?crs={crs}" if crs else "")
        jobs.append({"kind": "vector", "provider": "ogr", "uri": pattern.format(url=url), "fields": ["key", "name"]})
    for (fmt, crs, _), result in zip(DOWNLOADS, qgis_run(jobs), strict=True):
        assert result["valid"], (fmt, crs, result["error"], result["stderr"])
        # a CSV carries no CRS: QGIS leaves it unset, the file is WGS84 longitude, latitude (docs/ogc.md)
        assert result["crs"] == (crs or ("" if fmt == "csv" else "EPSG:4326")), (fmt, crs, result["crs"])
        back = Transformer.from_crs(crs or "EPSG:4326", "EPSG:4326", always_xy=True)
        served = {f["attributes"]["key"]: f for f in result["features"]}
        assert sorted(served) == sorted(stored), (fmt, crs)
        for key, (name, geometry) in stored.items():
            assert served[key]["attributes"]["name"] == name, (fmt, crs, key)
            got = shapely.transform(
                shapely.from_wkt(served[key]["wkt"]), lambda xy, t=back: np.column_stack(t.transform(*xy.T))
            )
            assert got.hausdorff_distance(geometry) < 2e-6, (fmt, crs, key)  # about 20 cm
