"""Layer-load throughput: 10,000 points and 2,000 polygons through the layer loader.

Run: ``.venv/bin/python -m bench layers`` (about 30 s; its own throwaway PostGIS).
Baseline, in the same run: GeoPandas ``to_postgis`` of the same file into a plain table, i.e. a bulk
insert with no CRS checks, no repair, no upsert by key, no re-derivation and no audit.  The ratio says
what the loader's guarantees cost over the fastest plain way to get the file into PostGIS.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point
from sqlalchemy import create_engine, text

from service import migrate
from service.database import session_scope
from service.layers.loader import load_layer_file
from service.pgcluster import Cluster


def _write_inputs(folder: Path) -> None:
    rng = np.random.default_rng(1)
    points = [Point(113 + rng.random() * 0.3, 27.8 + rng.random() * 0.3) for _ in range(10_000)]
    gpd.GeoDataFrame({"name": [f"点{i}" for i in range(len(points))]}, geometry=points, crs=4326).to_file(
        folder / "points.gpkg"
    )
    polygons = [p.buffer(0.002, quad_segs=16) for p in points[:2000]]
    gpd.GeoDataFrame({"name": [f"区{i}" for i in range(len(polygons))]}, geometry=polygons, crs=4326).to_file(
        folder / "polygons.gpkg"
    )


def main(argv: list[str]) -> None:
    cluster = Cluster.throwaway_cluster().ensure()
    try:
        engine = create_engine(cluster.url())
        migrate.upgrade(engine)
        folder = Path(tempfile.mkdtemp())
        _write_inputs(folder)
        print(f"{'layer':10} {'file':14} {'run':28} {'rows':>6} {'seconds':>8} {'x baseline':>11}")
        for layer, name in (("sites", "points.gpkg"), ("demo_zones", "polygons.gpkg")):
            started = time.perf_counter()
            frame = gpd.read_file(folder / name)
            frame.to_postgis(f"baseline_{layer}", engine, if_exists="replace", index=False)
            baseline = time.perf_counter() - started
            print(
                f"{layer:10} {name:14} {'baseline: geopandas to_postgis':28} {len(frame):6d} {baseline:8.2f} {1:11.2f}"
            )
            for attempt in ("xiangmap first load", "xiangmap same file again"):
                started = time.perf_counter()
                with session_scope(engine) as session:
                    report = load_layer_file(session, layer, folder / name, actor="bench", kind="cli")
                elapsed = time.perf_counter() - started
                print(f"{layer:10} {name:14} {attempt:28} {report.rows:6d} {elapsed:8.2f} {elapsed / baseline:11.2f}")
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE baseline_{layer}"))
        engine.dispose()
    finally:
        cluster.destroy()
