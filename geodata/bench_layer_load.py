"""Load throughput: 10,000 points and 2,000 polygons through the layer loader into a throwaway PostGIS.

Run: ``.venv/bin/python geodata/bench_layer_load.py`` (prints one line per load; takes about 20 s).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import migrate
from service.domain.layer_load import load_layer_file
from service.pgcluster import Cluster


def main() -> None:
    cluster = Cluster.throwaway_cluster().ensure()
    try:
        engine = create_engine(cluster.url())
        migrate.upgrade(engine)
        rng = np.random.default_rng(1)
        points = [Point(113 + rng.random() * 0.3, 27.8 + rng.random() * 0.3) for _ in range(10_000)]
        folder = Path(tempfile.mkdtemp())
        gpd.GeoDataFrame({"name": [f"点{i}" for i in range(len(points))]}, geometry=points, crs=4326).to_file(
            folder / "points.gpkg"
        )
        polygons = [p.buffer(0.002, quad_segs=16) for p in points[:2000]]
        gpd.GeoDataFrame({"name": [f"区{i}" for i in range(len(polygons))]}, geometry=polygons, crs=4326).to_file(
            folder / "polygons.gpkg"
        )
        for layer, name in (("sites", "points.gpkg"), ("demo_zones", "polygons.gpkg")):
            for attempt in ("first load", "same file again"):
                started = time.perf_counter()
                with engine.begin() as conn:
                    report = load_layer_file(conn, layer, folder / name, actor="bench", kind="cli")
                elapsed = time.perf_counter() - started
                print(f"{layer:10s} {name:14s} {attempt:16s} {report.rows:6d} rows {elapsed:6.2f} s")
        engine.dispose()
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
