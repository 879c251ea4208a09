"""Where each offered CRS is used: its area of use for the ``/crs`` listing, and a 400 for a box outside it.

A ``bbox`` typed in the wrong axis order (``bbox-crs=EPSG:4326`` with longitude first, so latitude 113)
used to select nothing, silently.  Each box is now compared, in the CRS's own coordinates, with the CRS's
area of use as PROJ knows it (``CRS.area_of_use``, widened by a degree for Gauss-Kruger zones, which
survey offices use a little beyond their 3 or 6 degrees, as ``service.common.crs_area`` does for uploads).
A box wholly outside is refused, saying so and, when the swapped box would fit, that its axes look
swapped; a box partly outside is served as it is.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import shapely.geometry
from pyproj import CRS, Transformer

from service.common.crs_area import PROJECTED_MARGIN_DEG
from service.errors import Problem
from service.ogc.crs import CRS84, GCJ02_URI, CrsInfo, crs_for_epsg

Box = tuple[float, float, float, float]
# the same Gauss-Kruger zone without and with its number in the false easting: a box of one sent as the other
# is the usual mistake, and worth naming
ZONE_PARTNERS = {4545: 4524, 4546: 4525, 4547: 4526, 4508: 4497, 4509: 4498}
ZONE_PARTNERS |= {zone: cm for cm, zone in ZONE_PARTNERS.items()}
CHINA = (72.004, 0.8293, 137.8347, 55.8271)  # where GCJ-02 moves coordinates (chinese_crs.outside_china)


@lru_cache
def _pyproj_crs(info: CrsInfo) -> CRS:
    return CRS.from_user_input("OGC:CRS84" if info.uri == CRS84 else info.srid)


@lru_cache
def native_area(info: CrsInfo) -> Box:
    """The area of use as (min east, min north, max east, max north) in the CRS's own units."""
    crs = _pyproj_crs(info)
    area = crs.area_of_use
    if area is None:  # every offered CRS has one; keep the world for safety
        return (-180.0, -90.0, 180.0, 90.0)
    if crs.is_geographic:
        return (area.west, area.south, area.east, area.north)
    margin = PROJECTED_MARGIN_DEG
    west, south = max(-180.0, area.west - margin), max(-90.0, area.south - margin)
    east, north = min(180.0, area.east + margin), min(90.0, area.north + margin)
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    return tuple(to_crs.transform_bounds(west, south, east, north, densify_pts=21))  # type: ignore[return-value]


def _east_north(box: Box, info: CrsInfo) -> Box:
    x1, y1, x2, y2 = box
    return (y1, x1, y2, x2) if info.north_first else box


def _meets(box: Box, area: Box) -> bool:
    return not (box[2] < area[0] or box[0] > area[2] or box[3] < area[1] or box[1] > area[3])


def _axes(info: CrsInfo) -> str:
    crs = _pyproj_crs(info)
    names = [a.name.lower() for a in crs.axis_info]
    return ", ".join(names)


def check_box(box: Box, info: CrsInfo, parameter: str, what: str = "bbox") -> None:
    """400 when ``box`` (in ``info``'s axis order, as the client wrote it) lies wholly outside the area of use."""
    if info.output_only:
        return
    area = native_area(info)
    east_north = _east_north(box, info)
    if _meets(east_north, area):
        return
    x1, y1, x2, y2 = east_north
    swapped_fits = _meets((y1, x1, y2, x2), area)
    label = _label(info)
    used = _pyproj_crs(info).area_of_use
    name = used.name.rstrip(".") if used else ""
    where = f"{name}: {used.west:g}..{used.east:g}°E, {used.south:g}..{used.north:g}°N" if used else "nowhere"
    detail = f"{parameter}: the {what} {list(box)} lies wholly outside the area of use of {label} ({where})"
    if swapped_fits:
        detail += (
            f"; its axis order looks swapped: {label} takes its axes in the order {_axes(info)}"
            + (" (latitude first)" if info.north_first and info.geographic else "")
            + (" (northing first)" if info.north_first and not info.geographic else "")
        )
    elif info.srid in ZONE_PARTNERS and _meets(east_north, native_area(crs_for_epsg(ZONE_PARTNERS[info.srid]))):
        partner = ZONE_PARTNERS[info.srid]
        form = "with" if partner < info.srid else "without"  # the zone-numbered codes are the lower ones
        crs_parameter = "bbox-crs" if parameter == "bbox" else parameter
        detail += (
            f"; the eastings look like those of EPSG:{partner} ({_pyproj_crs(crs_for_epsg(partner)).name}, "
            f"{form} the zone number in front of the easting): use {crs_parameter}=EPSG:{partner}"
        )
    else:
        detail += "; check the numbers and the CRS"
    raise Problem(400, detail, parameter=parameter, fault="outside_crs_area", crs=info.uri, swapped=swapped_fits)


def _label(info: CrsInfo) -> str:
    return "CRS84" if info.uri == CRS84 else f"EPSG:{info.srid}"


def check_filter_geometries(node: Any, info: CrsInfo) -> None:
    """Every geometry literal and BBOX(...) of a parsed CQL2 filter, checked as :func:`check_box` checks a bbox."""
    for box in _literal_boxes(node):
        check_box(box, info, "filter-crs", "filter geometry")


def _literal_boxes(node: Any) -> list[Box]:
    found: list[Box] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
            continue
        geo = getattr(item, "__geo_interface__", None)
        if geo is not None and type(item).__module__.startswith("pygeofilter"):
            bounds = shapely.geometry.shape(geo).bounds
            if len(bounds) == 4 and all(b == b for b in bounds):  # an empty geometry has NaN bounds
                found.append(tuple(float(b) for b in bounds))  # type: ignore[arg-type]
            continue
        if getattr(item, "name", None) and str(item.name).lower() == "bbox" and hasattr(item, "arguments"):
            numbers = [a for a in item.arguments if isinstance(a, int | float)]
            if len(numbers) == 4:
                found.append((float(numbers[0]), float(numbers[1]), float(numbers[2]), float(numbers[3])))
            elif len(numbers) == 6:
                found.append((float(numbers[0]), float(numbers[1]), float(numbers[3]), float(numbers[4])))
            continue
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return found


def describe(info: CrsInfo) -> dict[str, Any]:
    """One entry of the ``/crs`` listing: identifiers, axes and where the CRS is used."""
    if info.is_gcj02:
        return {
            "uri": GCJ02_URI,
            "aliases": ["GCJ-02", "GCJ02"],
            "name": "GCJ-02 (火星坐标, AMap / Tencent Maps): WGS 84 longitude/latitude moved by the published offset",
            "axes": [
                {"name": "longitude", "direction": "east", "unit": "degree"},
                {"name": "latitude", "direction": "north", "unit": "degree"},
            ],
            "outputOnly": True,
            "areaOfUse": {
                "name": "mainland China's box; WGS 84 unchanged outside it",
                "bbox": list(CHINA),
            },
            "bounds": list(CHINA),
            "note": "crs=GCJ-02 on items, items/{featureId} and downloads; refused for bbox-crs and filter-crs",
        }
    crs = _pyproj_crs(info)
    area = crs.area_of_use
    x1, y1, x2, y2 = native_area(info)
    bounds = [y1, x1, y2, x2] if info.north_first else [x1, y1, x2, y2]
    entry: dict[str, Any] = {
        "uri": info.uri,
        "aliases": [_label(info)] + ([f"urn:ogc:def:crs:EPSG::{info.srid}"] if info.uri != CRS84 else []),
        "name": crs.name,
        "axes": [
            {"name": a.name, "direction": a.direction, "unit": a.unit_name, "abbreviation": a.abbrev}
            for a in crs.axis_info
        ],
        "outputOnly": False,
        "bounds": [round(v, 7 if info.geographic else 2) for v in bounds],
    }
    if area is not None:
        entry["areaOfUse"] = {"name": area.name, "bbox": [area.west, area.south, area.east, area.north]}
    return entry
