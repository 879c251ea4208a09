"""Does a file's data lie where its CRS is used, and where xiangmap serves?

A .prj that lies does not fail any transformation: degrees read as CGCS2000 Gauss-Kruger metres
become points a few metres from the zone's false origin (109.5 E, 0.0003 N for EPSG:4547), and a
load "succeeds".  PROJ knows where each CRS is meant to be used (``CRS.area_of_use``); data outside
it is refused with the CRS, the bounds and what to pass instead.
"""

from __future__ import annotations

import math

from pyproj import CRS, Transformer

from service.errors import Problem
from service.settings import get_settings

HUNAN = (108.78, 24.63, 114.26, 30.13)  # lon/lat bounds of Hunan province
NEAR_HUNAN_DEG = 2.0  # further than this from Hunan's bounds: loaded, with a warning
PROJECTED_MARGIN_DEG = 1.0  # Gauss-Kruger zones are used a little beyond their official 3° or 6°
HINT = (
    "the file's CRS (its .prj) is probably wrong: pass crs (e.g. crs=EPSG:4326 for longitude/latitude degrees, "
    "crs=EPSG:4547 for CGCS2000 3° Gauss-Kruger metres at 114°E, gcj02 for AMap, bd09 for Baidu)"
)


def _fmt(bounds: tuple[float, float, float, float]) -> str:
    return "({:.6g}, {:.6g}) .. ({:.6g}, {:.6g})".format(*bounds)


def lonlat_bounds(bounds: tuple[float, float, float, float], crs: CRS) -> tuple[float, float, float, float]:
    """``bounds`` in ``crs`` as longitude/latitude bounds (densified edges, as PROJ does)."""
    if crs.is_geographic and crs.to_epsg() in (4326, 4490, 4555):
        return bounds
    transformer = Transformer.from_crs(crs, 4326, always_xy=True)
    return tuple(transformer.transform_bounds(*bounds, densify_pts=21))  # type: ignore[return-value]


def check_area_of_use(
    bounds: tuple[float, float, float, float],
    crs: CRS,
    label: str,
    where: str,
    *,
    lonlat: tuple[float, float, float, float] | None = None,
) -> None:
    """422 when the data (``bounds`` in ``crs``) falls outside the CRS's area of use."""
    area = crs.area_of_use
    try:
        x0, y0, x1, y1 = lonlat or lonlat_bounds(bounds, crs)
    except Exception:  # PROJ cannot transform them at all: far outside anything sensible
        x0 = y0 = x1 = y1 = math.inf
    finite = all(math.isfinite(v) for v in (x0, y0, x1, y1))
    if area is None and finite:
        return
    if finite and area is not None:
        margin = PROJECTED_MARGIN_DEG if crs.is_projected else 0.0
        lon_ok = area.west > area.east or (area.west - margin <= x0 and x1 <= area.east + margin)
        if lon_ok and area.south - margin <= y0 and y1 <= area.north + margin:
            return
    used = (
        f"{area.name}: {area.west:g}..{area.east:g}°E, {area.south:g}..{area.north:g}°N"
        if area is not None
        else "nowhere PROJ can place"
    )
    lands = f"which is {_fmt((x0, y0, x1, y1))} in longitude/latitude" if finite else "which PROJ cannot place"
    raise Problem(
        422,
        f"{where}: the coordinates {_fmt(bounds)} read as {label} fall outside where {label} is used ({used}), "
        f"{lands}; {HINT}",
        parameter="crs",
        fault="outside_crs_area",
        crs=label,
        bounds=list(bounds),
    )


def check_service_area(lonlat: tuple[float, float, float, float], label: str, where: str) -> list[str]:
    """422 outside the service area (``XIANGMAP_SERVICE_AREA``, China's box, as the geometry guard uses);
    a warning (returned) when the data lies far from Hunan."""
    x0, y0, x1, y1 = lonlat
    ax0, ay0, ax1, ay1 = (float(v) for v in get_settings().service_area)
    if not (ax0 <= x0 <= x1 <= ax1 and ay0 <= y0 <= y1 <= ay1):
        raise Problem(
            422,
            f"{where}: read as {label}, the data lies at {_fmt(lonlat)} (longitude/latitude), outside China, "
            f"where xiangmap serves; {HINT}",
            parameter="crs",
            fault="outside_service_area",
            crs=label,
            bounds=list(lonlat),
        )
    hx0, hy0, hx1, hy1 = HUNAN
    d = NEAR_HUNAN_DEG
    if x1 < hx0 - d or x0 > hx1 + d or y1 < hy0 - d or y0 > hy1 + d:
        return [f"the data lies at {_fmt(lonlat)} (longitude/latitude), far from Hunan; check its CRS ({label})"]
    return []
