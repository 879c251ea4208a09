"""A static map of one recorded screening (matplotlib, Noto Sans CJK): the site, the zones as seen,
the overlap shaded and the distance to zones near but not touched, drawn with its length."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from service.common.drawing import ZONE_PALETTE, legend, scale_bar, use_cjk_font
from service.screening.report_facts import VERDICT_ZH, site_name


def _path(geom: BaseGeometry) -> MplPath | None:
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        return None
    vertices, codes = [], []
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            xy = list(ring.coords)
            vertices += xy
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(vertices, codes)


def _draw(ax: Axes, geom: BaseGeometry, **style: Any) -> None:
    geom = shapely.get_parts(geom) if geom.geom_type == "GeometryCollection" else [geom]
    for g in geom:
        if g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            path = _path(g)
            if path is not None:
                ax.add_patch(PathPatch(path, **style))
        elif g.geom_type in ("LineString", "MultiLineString", "LinearRing"):
            for line in shapely.get_parts(g):
                x, y = line.xy
                ax.plot(x, y, color=style.get("edgecolor", "black"), linewidth=style.get("linewidth", 2))
        else:
            for p in shapely.get_parts(g):
                ax.plot(p.x, p.y, marker="o", markersize=7, color=style.get("edgecolor", "black"))


def _zone_index(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['layer']}/{z['zone_key']}": {**z, "layer": e["layer"]} for e in result["layers"] for z in e["zones"]}


def draw_screening(ax: Axes, result: dict[str, Any]) -> None:
    """Everything on one axes, in lon/lat with the local aspect so shapes are not stretched."""
    use_cjk_font()
    site = shapely.geometry.shape(result["input"]["geometry"])
    zones = _zone_index(result)
    handles: dict[str, Patch] = {}
    lines_drawn: list[tuple[float, float, str, str]] = []
    for n, (key, view) in enumerate((result.get("map") or {}).items()):
        zone = zones.get(key)
        if zone is None or not view.get("zone"):
            continue
        shape = shapely.geometry.shape(json.loads(view["zone"]))
        colour = ZONE_PALETTE[n % len(ZONE_PALETTE)]
        _draw(ax, shape, facecolor=colour, edgecolor=colour, alpha=0.3, linewidth=1.2)
        label = f"{zone['name']} · {VERDICT_ZH[zone['verdict']]}"
        if not zone["inside"]:
            label += f" · 距离 {zone['distance_m']:.0f} m"
        handles.setdefault(label, Patch(facecolor=colour, edgecolor=colour, alpha=0.5, label=label))
        if zone["inside"]:
            overlap = site.intersection(shape) if site.geom_type.endswith("Polygon") else None
            if overlap is not None and not overlap.is_empty:
                _draw(ax, overlap, facecolor="none", edgecolor="black", hatch="///", linewidth=0.6)
                hatched = Patch(facecolor="white", edgecolor="black", hatch="///", label="重叠部分")
                handles.setdefault("重叠部分", hatched)
        if view.get("shortest_line") and zone["distance_m"] > 0:
            line = shapely.geometry.shape(json.loads(view["shortest_line"]))
            x, y = line.xy
            ax.plot(x, y, linestyle="--", color=colour, linewidth=1.5)
            lines_drawn.append((sum(x) / 2, sum(y) / 2, f"{zone['distance_m']:.0f} m", colour))
    if len(lines_drawn) <= 3:  # more labels than that collide; the legend gives every distance
        for x, y, text_, colour in lines_drawn:
            ax.annotate(text_, xy=(x, y), color=colour, fontsize=9, ha="center", va="bottom", fontweight="bold")
    _draw(ax, site, facecolor="none", edgecolor="black", linewidth=2)
    handles["项目/场地"] = Patch(facecolor="none", edgecolor="black", linewidth=2, label="项目/场地")
    minx, miny, maxx, maxy = site.bounds
    pad = max(maxx - minx, maxy - miny, 0.004) * 0.6
    for view in (result.get("map") or {}).values():
        if view.get("shortest_line"):
            lx0, ly0, lx1, ly1 = shapely.geometry.shape(json.loads(view["shortest_line"])).bounds
            minx, miny, maxx, maxy = min(minx, lx0), min(miny, ly0), max(maxx, lx1), max(maxy, ly1)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect(1 / math.cos(math.radians((miny + maxy) / 2)))
    ax.set_xlabel("经度 (WGS84)")
    ax.set_ylabel("纬度 (WGS84)")
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    metres_per_degree = 111_320 * math.cos(math.radians((miny + maxy) / 2))
    scale_bar(ax, (minx - pad, miny - pad, maxx + pad, maxy + pad), metres_per_unit=metres_per_degree, style="line")
    legend(
        ax,
        list(handles.values()),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=2,
        fontsize=8,
    )


def screening_title(result: dict[str, Any]) -> str:
    project = result.get("project") or {}
    if project:
        head = f"项目 {project['id']} · {project['title']} (筛查 #{result.get('id', '')})"
    else:
        head = f"筛查 #{result.get('id', '')} · {site_name(result)}"
    return f"{head}\n{result['date']} 结论: {VERDICT_ZH[result['verdict']]} ({result['verdict']})"


def screening_png(result: dict[str, Any], *, dpi: int = 110) -> bytes:
    use_cjk_font()
    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot()
    draw_screening(ax, result)
    ax.set_title(screening_title(result), fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight")
    return out.getvalue()
