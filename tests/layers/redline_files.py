"""Files GIS staff bring: a GBK Shapefile of 生态保护红线 polygons in EPSG:4546 (CGCS2000 3° GK, CM 111°E).

Built with pyogrio from shapely polygons so each test knows exactly what the file holds.  The polygons lie
west of Xiangtan (韶山 / 湘乡, about 112.3°E 27.9°N), inside the zone EPSG:4546 is made for.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import Transformer

TO_4546 = Transformer.from_crs(4326, 4546, always_xy=True)

# (编号, 名称, 类型, 面积公顷, 批准日期, lon, lat, half-size in degrees)
REDLINE_V1 = [
    ("HN-430382-001", "韶山水源涵养生态保护红线", "水源涵养", 1200.5, "2018-06-29", 112.30, 27.90, 0.02),
    ("HN-430381-002", "湘乡东山生物多样性维护红线", "生物多样性维护", 860.0, "2018-06-29", 112.40, 27.80, 0.015),
    ("HN-430381-003", "水府庙水土保持红线", "水土保持", 540.25, "2018-06-29", 112.20, 27.75, 0.01),
]
# the second edition (2023 adjustment): 003 is gone, 001 grew, 004 is new
REDLINE_V2 = [
    ("HN-430382-001", "韶山水源涵养生态保护红线", "水源涵养", 1500.0, "2023-10-01", 112.30, 27.90, 0.03),
    ("HN-430381-002", "湘乡东山生物多样性维护红线", "生物多样性维护", 860.0, "2018-06-29", 112.40, 27.80, 0.015),
    ("HN-430381-004", "涟水河口生态保护红线", "水源涵养", 300.0, "2023-10-01", 112.45, 27.70, 0.01),
]


def square_4546(lon: float, lat: float, half: float) -> shapely.Polygon:
    ring = [(lon - half, lat - half), (lon + half, lat - half), (lon + half, lat + half), (lon - half, lat + half)]
    return shapely.Polygon([TO_4546.transform(x, y) for x, y in ring])


def write_redline_shapefile(
    folder: Path, rows: list[tuple], *, name: str = "生态保护红线", with_cpg: bool = True, bowtie_first: bool = False
) -> Path:
    """A zipped Shapefile (.shp .shx .dbf .prj, and .cpg saying GBK unless ``with_cpg`` is False)."""
    folder.mkdir(parents=True, exist_ok=True)
    geoms = [square_4546(lon, lat, half) for *_, lon, lat, half in rows]
    if bowtie_first:  # a self-intersecting ring, as digitised by hand: repaired on load
        x0, y0, x1, y1 = geoms[0].bounds
        geoms[0] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    frame = gpd.GeoDataFrame(
        {
            "BH": [r[0] for r in rows],
            "HXMC": [r[1] for r in rows],
            "LX": [r[2] for r in rows],
            "MJ_GQ": [r[3] for r in rows],
            "PZRQ": [r[4] for r in rows],
        },
        geometry=geoms,
        crs="EPSG:4546",
    )
    shp = folder / f"{name}.shp"
    frame.to_file(shp, driver="ESRI Shapefile", encoding="GBK")
    cpg = shp.with_suffix(".cpg")
    if with_cpg:
        cpg.write_text("GBK")
    elif cpg.exists():
        cpg.unlink()
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in sorted(folder.glob(f"{name}.*")):
            if part.suffix != ".zip":
                z.write(part, part.name)
    return archive
