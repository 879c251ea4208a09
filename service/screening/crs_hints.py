"""What to tell a caller whose coordinates' CRS is unknown or misread, instead of guessing (issue 18).

A screening is only as good as the place it screens.  Three mistakes are common here and each used to
end in silence or in a message that did not help:

- a KML / GPX / GeoJSON from a phone map app (AMap, Tencent: GCJ-02) read as WGS84, 500-700 m off around
  Changsha: still screened, but with a warning that names ``crs=gcj02`` (:func:`crs_assumed_warning`);
- CGCS2000 Gauss-Kruger metres sent without ``crs``: a 400 that names the likely zone, worked out by
  back-projecting the first point with each 3-degree zone over Hunan (:func:`metres_problem`);
- latitude and longitude (or northing and easting) swapped: the refusal carries the swapped reading, where
  it lands, and how to send it (:func:`swapped_detail`).

Plain functions of coordinates (pyproj, shapely and the bundled districts file; no database, no HTTP), so
every input path of ``service.screening.site_input`` uses the same words.  Messages are "中文 / English".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
from pyproj import CRS, Transformer

from service.common.chinese_crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02
from service.common.crs_area import HUNAN
from service.common.geometry_guard import GEOGRAPHIC, check_ranges
from service.errors import Problem
from service.settings import get_settings

Box = tuple[float, float, float, float]

# Hunan's bounds (service.common.crs_area.HUNAN) rounded outward: where a back-projection must land to be believed
HUNAN_BOX: Box = (
    math.floor(HUNAN[0] * 10) / 10,
    math.floor(HUNAN[1] * 10) / 10,
    math.ceil(HUNAN[2] * 10) / 10,
    math.ceil(HUNAN[3] * 10) / 10,
)  # (108.7, 24.6, 114.3, 30.2)
# the Chang-Zhu-Tan cities xiangmap serves: when two zones both land in Hunan, the one nearer to these comes first
SERVICE_FOCUS = (113.0, 27.9)
# Gauss-Kruger northings over Hunan (24.6-30.2 N at any of its central meridians, plus a little)
HUNAN_NORTHINGS = (2_700_000.0, 3_360_000.0)
ZONE_WIDTH_M = 1_000_000  # the zone number is written as the millions of the easting (38 → 38 500 000 at the CM)
DEGREE_DECIMALS = 6  # about 0.1 m: finer than any map an inspector copies from
METRE_DECIMALS = 2
METRES_SURELY = 10_000  # beyond this no degree is a typo: the numbers are metres (or feet) of some projection
# what an undeclared file or body most likely is, by where it came from
PHONE_KINDS = ("geojson", "kml", "gpx")


@dataclass(frozen=True)
class GaussKrugerZone:
    """One CGCS2000 3-degree Gauss-Kruger zone, under its two EPSG codes.

    ``epsg``: eastings without the zone number (false easting 500 000 m, "CM 114E");
    ``prefixed_epsg``: eastings with it (38 500 000 m, "zone 38").  Same projection, same metres otherwise.
    """

    zone: int
    central_meridian: int
    epsg: int
    prefixed_epsg: int

    @property
    def name(self) -> str:
        return f"CGCS2000 / 3-degree Gauss-Kruger CM {self.central_meridian}E"

    @property
    def prefixed_name(self) -> str:
        return f"CGCS2000 / 3-degree Gauss-Kruger zone {self.zone}"

    def name_of(self, epsg: int) -> str:
        return self.prefixed_name if epsg == self.prefixed_epsg else self.name

    def zh(self, prefixed: bool = False) -> str:
        band = f"第 {self.zone} 带，" if prefixed else ""
        return f"CGCS2000 高斯-克吕格 3 度带，{band}中央经线 {self.central_meridian}°E"


# the three zones that cover Hunan (108.8-114.3 E); codes as PROJ names them (checked by the tests)
HUNAN_ZONES = (
    GaussKrugerZone(36, 108, 4545, 4524),
    GaussKrugerZone(37, 111, 4546, 4525),
    GaussKrugerZone(38, 114, 4547, 4526),
)
ZONE_BY_EPSG = {code: z for z in HUNAN_ZONES for code in (z.epsg, z.prefixed_epsg)}
# the screening CRS names these zones add (EPSG:4547 was supported before them)
GAUSS_KRUGER_CRS = tuple(f"EPSG:{z.epsg}" for z in HUNAN_ZONES) + tuple(f"EPSG:{z.prefixed_epsg}" for z in HUNAN_ZONES)


def zone_of(crs: str) -> GaussKrugerZone | None:
    """The Hunan Gauss-Kruger zone a canonical CRS name ("EPSG:4546") stands for, or None."""
    if not crs.startswith("EPSG:"):
        return None
    code = crs.removeprefix("EPSG:")
    return ZONE_BY_EPSG.get(int(code)) if code.isdigit() else None


# ---------------------------------------------------------------- small helpers


@lru_cache(maxsize=16)
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)


def lonlat_of(x: float, y: float, crs: str) -> tuple[float, float]:
    """(x, y) in ``crs`` as WGS84 longitude / latitude: where a reading would put the site."""
    if crs in ("EPSG:4326", "EPSG:4490"):
        return x, y
    if crs == "gcj02":
        return gcj02_to_wgs84(x, y)
    if crs == "bd09":
        return bd09_to_wgs84(x, y)
    lon, lat = _to_lonlat(crs).transform(x, y)
    return float(lon), float(lat)


def _inside(lon: float, lat: float, box: Box) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def rounded(values: Any, geographic: bool) -> list[float]:
    """Coordinates as a report prints them: degrees to 6 decimals (0.1 m), metres to the centimetre."""
    digits = DEGREE_DECIMALS if geographic else METRE_DECIMALS
    return [round(float(v), digits) for v in values]


@lru_cache(maxsize=64)
def is_geographic(crs: str) -> bool:
    """Degrees (longitude / latitude) or not: decides the rounding and the words of advice."""
    if crs in GEOGRAPHIC:
        return True
    if zone_of(crs) is not None:
        return False
    try:
        return bool(CRS.from_user_input(crs).is_geographic)
    except Exception:  # a name PROJ does not know (never reached with canonical names): no degree rounding
        return False


def received_coordinates(first: tuple[float, float] | None, bounds: Box, vertices: int, crs: str) -> dict[str, Any]:
    """The input's coordinates as received, before any transformation, for the answer and the report.

    ``first``: the first position as sent (x, y); ``bounds``: (min x, min y, max x, max y) as sent.
    A single point has no ``bbox`` (it would repeat ``first``).
    """
    geographic = is_geographic(crs)
    return {
        "crs": crs,
        "axis_order": "longitude, latitude" if geographic else "easting, northing",
        "first": rounded(first, geographic) if first is not None else None,
        "bbox": rounded(bounds, geographic) if vertices > 1 else None,
        "vertices": vertices,
    }


# ---------------------------------------------------------------- where a point lands


@lru_cache(maxsize=1)
def _districts() -> tuple[shapely.STRtree, list[tuple[str, str]]] | None:
    """The bundled county-level units of Changsha, Zhuzhou and Xiangtan (geodata/layers/districts.geojson).

    Read from the file, not the database: site_input runs before any session is open, and a hint must never
    fail a request, so a missing or unreadable file just means no district is named.
    """
    path = get_settings().geodata_dir / "layers" / "districts.geojson"
    try:
        features = json.loads(path.read_text(encoding="utf-8")).get("features") or []
    except (OSError, ValueError):
        return None
    geoms, names = [], []
    for feature in features:
        try:
            geom = shapely.geometry.shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException):
            continue
        props = feature.get("properties") or {}
        geoms.append(geom)
        names.append((str(props.get("city") or ""), str(props.get("name") or "")))
    return (shapely.STRtree(geoms), names) if geoms else None


def place_of(lon: float, lat: float) -> dict[str, Any]:
    """Where a WGS84 point lies: inside Hunan's bounding box, and its city and district when in Chang-Zhu-Tan."""
    found = _districts()
    city = district = None
    if found is not None and math.isfinite(lon) and math.isfinite(lat):
        tree, names = found
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits):
            city, district = names[int(min(hits))]
    in_hunan = _inside(lon, lat, HUNAN_BOX)
    if district:
        zh, en = f"{city}{district}", f"in {city}{district} (Chang-Zhu-Tan)"
    elif in_hunan:
        zh, en = "湖南省范围内（长株潭以外）", "inside Hunan's bounds, outside Changsha / Zhuzhou / Xiangtan"
    else:
        zh, en = "湖南省范围以外", "outside Hunan"
    return {"in_hunan_bbox": in_hunan, "city": city or None, "district": district or None, "zh": zh, "en": en}


def _spaced(metres: float) -> str:
    """Metres as the guard writes them: 38 500 000."""
    return f"{metres:,.0f}".replace(",", " ")


def _at(lon: float, lat: float) -> str:
    return f"{lon:.5f}°E {lat:.5f}°N"


# ---------------------------------------------------------------- warnings (structured, bilingual)


def warning(code: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    """One entry of ``ScreeningInput.warnings``: ``message`` is what a report prints ("中文 / English")."""
    return {"code": code, "message": f"{zh} / {en}", "zh": zh, "en": en, **extra}


def crs_assumed_warning(kind: str) -> dict[str, Any]:
    """WGS84 was assumed for an input that did not say its CRS; GCJ-02 is likely for phone files.

    ``kind``: geojson / kml / gpx (the formats phone apps export, nominally WGS84 but in practice GCJ-02
    when they come from AMap or Tencent) or anything else (WKT, a Shapefile without .prj ...).
    """
    gcj_off_m = round(_gcj02_offset_m(*SERVICE_FOCUS) / 50) * 50  # "about": to 50 m (650 at Changsha)
    if kind in PHONE_KINDS:
        zh = (
            f"未声明坐标系，已按 WGS84（EPSG:4326）处理。手机地图应用（高德、腾讯等）导出的文件多为 GCJ-02，"
            f"在长株潭与 WGS84 相差约 {gcj_off_m:.0f} 米：如是，请加参数 crs=gcj02 重新筛查（百度为 crs=bd09）；"
            "确为 WGS84（GPS 原始坐标）请加 crs=EPSG:4326 确认"
        )
        en = (
            f"no CRS was declared, so WGS84 (EPSG:4326) was assumed; files from phone map apps (AMap, Tencent) "
            f"are usually GCJ-02, about {gcj_off_m:.0f} m off WGS84 around Changsha: if so, screen again with "
            "crs=gcj02 (Baidu: crs=bd09); send crs=EPSG:4326 to confirm WGS84 (raw GPS)"
        )
    else:
        zh = (
            "未声明坐标系，已按 WGS84（EPSG:4326）处理；如坐标取自高德、腾讯地图请加 crs=gcj02，百度地图 crs=bd09，"
            "确为 WGS84 请加 crs=EPSG:4326 确认"
        )
        en = (
            "no CRS was declared, so WGS84 (EPSG:4326) was assumed; coordinates taken from AMap or Tencent maps "
            "need crs=gcj02, from Baidu crs=bd09; send crs=EPSG:4326 to confirm WGS84"
        )
    return warning(
        "crs_assumed",
        zh,
        en,
        parameter="crs",
        assumed="EPSG:4326",
        likely="gcj02" if kind in PHONE_KINDS else None,
        suggest=["crs=gcj02", "crs=bd09", "crs=EPSG:4326"],
    )


def z_dropped_warning() -> dict[str, Any]:
    return warning(
        "z_dropped", "高程（z）已舍去，按平面位置筛查", "heights (z) were dropped; the site is screened in 2D"
    )


@lru_cache(maxsize=4)
def _gcj02_offset_m(lon: float, lat: float) -> float:
    glon, glat = wgs84_to_gcj02(lon, lat)
    dx = (glon - lon) * 111_320 * math.cos(math.radians(lat))
    return math.hypot(dx, (glat - lat) * 110_574)


# ---------------------------------------------------------------- metres without a CRS


@dataclass(frozen=True)
class ZoneReading:
    """The first point read in one zone: where it lands, and whether that is believable."""

    zone: GaussKrugerZone
    epsg: int  # the code to send: prefixed or not, as the eastings are written
    lon: float
    lat: float
    in_hunan: bool
    in_band: bool  # within the zone's own 3 degrees (±1.5° of its central meridian)

    def as_dict(self) -> dict[str, Any]:
        return {
            "crs": f"EPSG:{self.epsg}",
            "name": self.zone.name_of(self.epsg),
            "zone": self.zone.zone,
            "central_meridian": self.zone.central_meridian,
            "zone_number_in_easting": self.epsg == self.zone.prefixed_epsg,
            "first_point_lonlat": rounded((self.lon, self.lat), True),
            "in_hunan_bbox": self.in_hunan,
            "in_zone_band": self.in_band,
        }


def _read_in(zone: GaussKrugerZone, epsg: int, x: float, y: float) -> ZoneReading:
    lon, lat = lonlat_of(x, y, f"EPSG:{epsg}")
    in_band = abs(lon - zone.central_meridian) <= 1.5 + 0.05
    return ZoneReading(zone, epsg, lon, lat, _inside(lon, lat, HUNAN_BOX), in_band)


def _prefix(x0: float, x1: float) -> int | None:
    """The zone number written before the eastings (their millions), when all of them carry the same one."""
    p0, p1 = math.floor(x0 / ZONE_WIDTH_M), math.floor(x1 / ZONE_WIDTH_M)
    return p0 if p0 == p1 and 25 <= p0 <= 45 else None  # China's 3-degree zones are 25-45 (75-135 E)


def zone_readings(box: Box, first: tuple[float, float]) -> tuple[list[ZoneReading], bool] | None:
    """Readings of metres as CGCS2000 Gauss-Kruger over Hunan, best first, and whether the axes are swapped.

    None when the numbers are not Gauss-Kruger metres over Hunan at all (the northings decide: 2.7-3.36 million,
    on either axis).  Eastings with a zone number name their zone; without one, every Hunan zone is tried and
    only those that put the first point in Hunan are kept, those whose own band holds it and nearest
    Chang-Zhu-Tan first (two zones often both land in Hunan: the eastings alone cannot tell them apart).
    """
    x0, y0, x1, y1 = box
    fx, fy = first
    for (e0, n0, e1, n1), (east, north), swapped in (
        ((x0, y0, x1, y1), (fx, fy), False),
        ((y0, x0, y1, x1), (fy, fx), True),
    ):
        if not (HUNAN_NORTHINGS[0] <= n0 and n1 <= HUNAN_NORTHINGS[1]):
            continue
        prefix = _prefix(e0, e1)
        if prefix is not None:
            zones = [z for z in HUNAN_ZONES if z.zone == prefix]
            readings = [_read_in(z, z.prefixed_epsg, east, north) for z in zones]
            return readings, swapped
        if e0 > 0 and e1 < ZONE_WIDTH_M:
            readings = [r for r in (_read_in(z, z.epsg, east, north) for z in HUNAN_ZONES) if r.in_hunan]
            readings.sort(key=lambda r: (not r.in_band, math.dist((r.lon, r.lat), SERVICE_FOCUS)))
            return readings, swapped
    return None


def _looks_like_metres(box: Box) -> bool:
    x0, y0, x1, y1 = box
    return max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90


def _other_metres_problem(box: Box, first: tuple[float, float], where: str, supported: tuple[str, ...]) -> Problem:
    """Metres, but not Gauss-Kruger over Hunan (web-map metres, UTM, a far zone): name the CRS all the same."""
    names = ", ".join(supported)
    zh = (
        "这些坐标像是米制投影坐标，但不是湖南的 CGCS2000 高斯-克吕格 3 度带；"
        f"请用 crs 参数指明坐标系（支持 {names}；网络地图的墨卡托米制坐标 EPSG:3857 请先换算成经纬度）"
    )
    en = (
        "these look like projected metres, but not CGCS2000 Gauss-Kruger over Hunan; name the CRS with the crs "
        f"parameter (one of {names}; web-map metres, EPSG:3857, must be converted to longitude/latitude first)"
    )
    return Problem(
        400,
        f"{where}: {zh} / {en}",
        parameter="crs",
        fault="crs_needed",
        likely_crs=[],
        candidates=[],
        axes_swapped=False,
        coordinates_received={"first": rounded(first, False), "bbox": rounded(box, False)},
        supported=list(supported),
    )


def metres_problem(
    box: Box,
    first: tuple[float, float],
    where: str,
    *,
    declared: str | None = None,
    supported: tuple[str, ...] = (),
) -> Problem | None:
    """A Problem asking for the CRS by name when the coordinates look like Gauss-Kruger metres, else None.

    ``declared``: the geographic CRS the caller named (then a 422: the CRS was named and contradicts the
    numbers, as the range check always said); None when no CRS was named (a 400: name it).  ``supported``:
    the CRS names the caller accepts, listed when the metres fit no zone over Hunan.
    """
    if not _looks_like_metres(box):
        return None
    found = zone_readings(box, first)
    if found is None:
        if declared is None and max(abs(v) for v in box) > METRES_SURELY:
            return _other_metres_problem(box, first, where, supported)
        return None  # a longitude of 213.8 is a typo, not metres: the guard's out-of-range refusal says so
    readings, swapped = found
    received = {"first": rounded(first, False), "bbox": rounded(box, False)}
    order_zh = "；北坐标在前：请按 [东坐标, 北坐标] 的顺序发送" if swapped else ""
    order_en = "; the northing comes first: send [easting, northing]" if swapped else ""
    named_zh = f"（收到的是 crs={declared}，那是经纬度）" if declared else ""
    named_en = f" (crs={declared} was sent, which is longitude/latitude)" if declared else ""
    if not readings:
        zh = (
            "这些坐标像是米制投影坐标，但湖南的 CGCS2000 3 度带（EPSG:4545、4546、4547）都不能把它们放进湖南；"
            f"请用 crs 参数指明坐标系{named_zh}{order_zh}"
        )
        en = (
            "these look like projected metres, but no CGCS2000 3-degree zone over Hunan (EPSG:4545, 4546, 4547) "
            f"puts them in Hunan; name the CRS with the crs parameter{named_en}{order_en}"
        )
        likely: list[str] = []
    else:
        best = readings[0]
        prefixed = best.epsg == best.zone.prefixed_epsg
        if prefixed:
            zh = (
                f"这些坐标像是带带号的米制投影坐标（{best.zone.zh(True)}，EPSG:{best.epsg}，首点在 "
                f"{_at(best.lon, best.lat)}）；请用 crs=EPSG:{best.epsg} 指明坐标系"
                f"（或去掉东坐标前的带号 {best.zone.zone}，用 crs=EPSG:{best.zone.epsg}）"
            )
            en = (
                f"these look like projected metres with the zone number {best.zone.zone} before the easting; name "
                f"the CRS with crs=EPSG:{best.epsg} ({best.zone.prefixed_name}, CM {best.zone.central_meridian}E: "
                f"the first point lands at {_at(best.lon, best.lat)}), or drop the leading {best.zone.zone} and "
                f"send crs=EPSG:{best.zone.epsg}"
            )
        else:
            zh = (
                f"这些坐标像是米制投影坐标（{best.zone.zh()}，EPSG:{best.epsg}，首点在 {_at(best.lon, best.lat)}）；"
                "请用 crs 参数指明坐标系"
            )
            en = (
                f"these look like projected metres; name the CRS with crs=EPSG:{best.epsg} ({best.zone.name}: "
                f"the first point lands at {_at(best.lon, best.lat)})"
            )
            for other in readings[1:]:
                zh += (
                    f"；若图纸为中央经线 {other.zone.central_meridian}°E 的 3 度带，则用 crs=EPSG:{other.epsg}"
                    f"（首点在 {_at(other.lon, other.lat)}）"
                )
                en += (
                    f"; if the sheet is in the {other.zone.central_meridian}E zone, crs=EPSG:{other.epsg} "
                    f"(lands at {_at(other.lon, other.lat)})"
                )
        zh += named_zh + order_zh
        en += named_en + order_en
        likely = [f"EPSG:{r.epsg}" for r in readings]
    return Problem(
        422 if declared else 400,
        f"{where}: {zh} / {en}",
        parameter="crs",
        fault="out_of_range" if declared else "crs_needed",
        likely_crs=likely,
        candidates=[r.as_dict() for r in readings],
        axes_swapped=swapped,
        coordinates_received=received,
        note="旧图纸可能为西安 1980 或北京 1954 坐标系，xiangmap 不作换算 / older sheets may be in Xian 1980 or "
        "Beijing 1954, which xiangmap does not convert",
    )


# ---------------------------------------------------------------- ranges of a named Gauss-Kruger CRS


def check_gauss_kruger(box: Box, crs: str, where: str) -> None:
    """The range checks of the shared guard, for every Hunan zone and with the zone number handled.

    The guard (service.common.geometry_guard.check_ranges) knows EPSG:4547's numbers; the other zones have the
    same ones once the zone number is taken off a prefixed easting, and a zone number on the wrong side
    (present for a "CM" code, missing for a "zone" code) is named with the code that fits.
    """
    zone = zone_of(crs)
    if zone is None:
        check_ranges(box, crs, where)
        return
    x0, y0, x1, y1 = box
    prefixed = crs == f"EPSG:{zone.prefixed_epsg}"
    offset = zone.zone * ZONE_WIDTH_M if prefixed else 0
    name = zone.name_of(int(crs.removeprefix("EPSG:")))
    if max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
        raise Problem(
            422,
            f"{where}: 坐标 ({x0:g}, {y0:g}) 像是经纬度（度），但 {crs} 以米为单位 / coordinates ({x0:g}, {y0:g}) "
            f"look like degrees, but {crs} ({name}) is in metres (easting about {_spaced(offset + 500_000)} ± 170 000, "
            "northing 2 700 000-3 350 000 over Hunan); send crs=EPSG:4326 for degrees (crs=gcj02 from AMap)",
            fault="degrees_as_metres",
            parameter=where,
        )
    low, high = offset, offset + ZONE_WIDTH_M
    if prefixed:
        swapped = not (low <= x0 and x1 < high) and low <= y0 and y1 < high
    else:
        swapped = x0 > ZONE_WIDTH_M and y1 < ZONE_WIDTH_M  # as the guard tells it for EPSG:4547
    if swapped:
        raise Problem(
            422,
            f"{where}: 东坐标与北坐标像是写反了 / easting and northing look swapped ({x0:.2f}, {y0:.2f}); {crs} wants "
            f"[easting, northing]; swapped it would read ({y0:.2f}, {x0:.2f})",
            fault="swapped_axes",
            swapped_reading=[y0, x0, y1, x1],
            parameter=where,
        )
    prefix = _prefix(x0, x1)
    if not prefixed and prefix is not None:
        other = next((z for z in HUNAN_ZONES if z.zone == prefix), None)
        fits = (
            f"send crs=EPSG:{other.prefixed_epsg} ({other.prefixed_name}) or drop the leading {prefix}"
            if other is not None
            else f"drop the leading {prefix}"
        )
        zh_fits = (
            f"请用 crs=EPSG:{other.prefixed_epsg}，或去掉带号 {prefix}" if other is not None else f"请去掉带号 {prefix}"
        )
        raise Problem(
            422,
            f"{where}: 东坐标 {x0:.2f} 前带有带号 {prefix}，而 {crs} 的东坐标不带带号；{zh_fits} / the eastings "
            f"({x0:.2f} ..) start with the zone number {prefix}, which {crs} ({name}) does not write; {fits}",
            fault="out_of_range",
            parameter=where,
            likely_crs=[f"EPSG:{other.prefixed_epsg}"] if other is not None else [],
        )
    if prefixed and not (low <= x0 and x1 < high):
        hint_zh, hint_en = "", ""
        if x0 > 0 and x1 < ZONE_WIDTH_M:
            hint_zh = f"；东坐标不带带号时请用 crs=EPSG:{zone.epsg}"
            hint_en = f"; eastings without the zone number are crs=EPSG:{zone.epsg} ({zone.name})"
        raise Problem(
            422,
            f"{where}: {crs} 的东坐标应以带号 {zone.zone} 开头（{_spaced(low)}-{_spaced(high)}）{hint_zh} / "
            f"the eastings of {crs} ({name}) start with the zone number {zone.zone} "
            f"({_spaced(low)}-{_spaced(high)}), these are {x0:.2f} .. {x1:.2f}{hint_en}",
            fault="out_of_range",
            parameter=where,
            likely_crs=[f"EPSG:{zone.epsg}"] if hint_en else [],
        )
    # the rest (negative or absurd northings) as the guard says it, on the eastings without the zone number
    check_ranges((x0 - offset, y0, x1 - offset, y1), crs, where)


# ---------------------------------------------------------------- swapped axes: the reading that would fit


def _how_to_send(kind: str, geographic: bool) -> dict[str, str]:
    if not geographic:
        return {
            "zh": "请按 [东坐标, 北坐标]（x 为东坐标）发送：把每个位置的两个数对调",
            "en": "send [easting, northing] (x is the easting): swap the two numbers of every position",
        }
    if kind == "wkt":
        return {
            "zh": "WKT 的顺序是「经度 纬度」：把每个位置的两个数对调后重新提交",
            "en": "WKT positions are 'longitude latitude': swap the two numbers of every position and send again",
        }
    if kind == "file":
        return {
            "zh": "文件中纬度写在了经度前：请重新导出，x 为经度、y 为纬度",
            "en": "the file holds latitude before longitude: export it again with x = longitude, y = latitude",
        }
    return {
        "zh": "GeoJSON 的坐标顺序是 [经度, 纬度]：把每个位置的两个数对调后重新提交",
        "en": "GeoJSON positions are [longitude, latitude]: swap the two numbers of every position and send again",
    }


def swapped_detail(first: tuple[float, float], box: Box, crs: str, kind: str) -> dict[str, Any]:
    """The swapped reading of a refused input: its first point swapped, where that lands, how to send it.

    ``kind``: geojson / wkt / file, for the advice.  ``first`` and ``box`` as received, in ``crs``.
    """
    geographic = is_geographic(crs)
    sx, sy = first[1], first[0]
    try:
        lon, lat = lonlat_of(sx, sy, crs)
    except Exception:  # a hint never fails the request it explains
        lon = lat = math.nan
    place = place_of(lon, lat)
    how = _how_to_send(kind, geographic)
    return {
        "crs": crs,
        "first_point_received": rounded(first, geographic),
        "first_point": rounded((sx, sy), geographic),
        "first_point_lonlat": rounded((lon, lat), True) if math.isfinite(lon) else None,
        "bbox": rounded((box[1], box[0], box[3], box[2]), geographic),
        **place,
        "how_to_send": how,
    }


def swapped_problem(exc: Problem, first: tuple[float, float], box: Box, crs: str, kind: str) -> Problem:
    """The guard's swapped-axes refusal, with ``swapped_detail`` and a sentence saying where the swap lands.

    ``swapped_reading`` (the swapped bounding box) stays as documented (docs/trust.md, decision 0093).
    """
    detail = swapped_detail(first, box, crs, kind)
    lonlat = detail["first_point_lonlat"]
    if lonlat is not None:
        zh = f"对调后首点为 {_at(*lonlat)}，位于{detail['zh']}；{detail['how_to_send']['zh']}"
        en = f"swapped, the first point is {_at(*lonlat)}, {detail['en']}; {detail['how_to_send']['en']}"
    else:
        zh, en = detail["how_to_send"]["zh"], detail["how_to_send"]["en"]
    return Problem(exc.status, f"{exc.detail}. {zh} / {en}", **{**exc.extra, "swapped_detail": detail})
