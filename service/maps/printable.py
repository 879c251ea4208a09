"""The printable wall map (挂图作战): PNG / PDF from A0 to A4, drawn by matplotlib in EPSG:4547 (metres, so
the scale bar is true) with the Noto Sans CJK file registered by path (service.common.drawing).

What is on it (decisions 0045, 0260-0262): the frame fitted to the plan's city (its districts), never to
the projects, so an approximate or far-off location cannot push the city into a corner; every task
numbered on the map and keyed to a task table beside it (number, task, lead unit, derived status,
percent), continued on further pages when long; district and main-stream labels; the Green Heart as a
hatched outline under the projects; title, plan, date and the layers' sources read from the data.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import geopandas as gpd
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle
from shapely import clip_by_rect
from shapely.geometry import LineString, MultiLineString, Point, box
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.drawing import STATUS_COLORS, legend, north_arrow, scale_bar, use_cjk_font
from service.common.geometry_guard import display_sql

# ISO 216, millimetres, landscape (width, height)
PAPERS = {"A0": (1189.0, 841.0), "A1": (841.0, 594.0), "A2": (594.0, 420.0), "A3": (420.0, 297.0), "A4": (297.0, 210.0)}
MAX_PIXELS = 60_000_000  # a PNG larger than this (A0 at 200 dpi) is refused: ask for a PDF
METRIC_CRS = 4547
# The reference layers under the projects, in drawing order, styled once for the map and its legend.  The
# Green Heart is an outline with a light hatch and no fill, so a project area over it keeps its own colour.
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "districts": {"facecolor": "#fbfbf8", "edgecolor": "#8a8a8a", "linewidth": 0.7, "zorder": 1},
    "green_heart": {"facecolor": "none", "edgecolor": "#1b7837", "linewidth": 1.0, "hatch": "////", "zorder": 2},
    "qingshuitang": {"facecolor": "none", "edgecolor": "#8c510a", "linewidth": 1.2, "linestyle": "--", "zorder": 3},
    "streams": {"color": "#4a9fd4", "linewidth": 1.0, "zorder": 4},
    "roads": {"color": "#c4c4c4", "linewidth": 0.8, "zorder": 4},
}
LAYER_LABELS = {  # in the legend's order
    "green_heart": "生态绿心（示意）",
    "qingshuitang": "清水塘老工业区",
    "streams": "河流 / 港渠",
    "roads": "道路",
    "districts": "区县界",
}
MAIN_STREAM_KINDS = ("江", "河")  # labelled by name; the 港 are labelled when long enough in the frame
GENERIC_TITLE = "两型社会建设重点任务进展图"
# precision codes (decision 0021) -> how a task is placed on the map and what its table row says
EXACT, NEAR, DISTRICT, REGION, SEAT = (1,), (2, 5), (3,), (4, 6), (8,)
PLACE_NOTES = {
    "exact": "",
    "near": "近似",
    "district": "区县",
    "seat": "驻地",
    "pending": "位置待定",
    "outside": "图外",
}


class Scope(Protocol):
    """What the map's scope line names: the fields of progress's ProjectFilter (the route passes one; this
    module reads only these, so it need not import the progress use cases)."""

    @property
    def plan(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def lead_unit(self) -> str | None: ...
    @property
    def district(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def year(self) -> int | None: ...


@dataclass(frozen=True)
class PrintRequest:
    fmt: str  # png | pdf
    paper: str  # A0 .. A4
    orientation: str  # landscape | portrait
    dpi: int
    title: str | None
    as_of: date
    filters: Scope
    threshold_pct: float
    bbox: tuple[float, float, float, float] | None = None  # lon/lat; default: the plan's city
    page: int = 1  # PNG only: which sheet (1: the map, 2..: the rest of the task table)


@dataclass
class Task:
    no: int
    project_id: int
    title: str
    unit: str
    status: str
    percent: float
    place: str  # a key of PLACE_NOTES
    point: Point | None  # where its number sits (EPSG:4547), None when not on the map


@dataclass
class WallMap:
    """What is drawn, before drawing: the frame, the tasks in table order, the texts from the data."""

    extent: tuple[float, float, float, float]  # EPSG:4547
    inset: tuple[float, float, float, float] | None  # EPSG:4547, the enlargement (市区放大图), if any
    city_bounds: tuple[float, float, float, float] | None  # EPSG:4547, the plan's city's districts
    tasks: list[Task]
    title: str
    plan_line: str
    sources: list[str]
    has_demo: bool
    projects: gpd.GeoDataFrame = field(repr=False)
    districts: gpd.GeoDataFrame = field(repr=False)
    cities: list[str] = field(default_factory=list)


def _read(session: Session, sql: str, params: dict | None = None) -> gpd.GeoDataFrame:
    """Rows of ``sql`` (a ``geom`` column in EPSG:4326) as a GeoDataFrame in metres."""
    rows = (
        session.execute(text(f"SELECT q.*, ST_AsBinary(q.geom) AS wkb FROM ({sql}) q"), params or {}).mappings().all()
    )
    frame = pd.DataFrame([{k: v for k, v in row.items() if k not in ("geom", "wkb")} for row in rows])
    geometry = gpd.GeoSeries.from_wkb([bytes(row["wkb"]) for row in rows], crs=4326)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326).to_crs(METRIC_CRS)


def _projects(session: Session, state: tuple[str, dict[str, Any]]) -> gpd.GeoDataFrame:
    """The selected projects in table order (plan year, plan, import order), with their derived state."""
    state_sql, params = state
    sql = (
        "SELECT s.project_id, s.status, s.percent, s.demo, p.precision, p.plan_id, p.number, p.title,"
        " p.lead_units, pl.year AS plan_year, pl.city AS plan_city,"
        " CASE WHEN ST_Dimension(p.geom) = 0 OR COALESCE(p.precision, 0) IN (3, 4, 6, 8)"
        f"      THEN {display_sql('p.geom', 'ST_PointOnSurface(p.geom)', point=True)}"
        f" ELSE {display_sql('p.geom', 'p.geom')} END AS geom"
        f" FROM ({state_sql}) s JOIN projects p ON p.id = s.project_id JOIN plans pl ON pl.id = p.plan_id"
        " WHERE p.geom IS NOT NULL ORDER BY pl.year, p.plan_id, p.id"
    )
    return _read(session, sql, params)


def _unplaced(session: Session, state: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Selected projects with no geometry yet: listed in the table as 位置待定."""
    state_sql, params = state
    sql = (
        "SELECT s.project_id, s.status, s.percent, p.title, p.lead_units, pl.year AS plan_year, p.plan_id"
        f" FROM ({state_sql}) s JOIN projects p ON p.id = s.project_id JOIN plans pl ON pl.id = p.plan_id"
        " WHERE p.geom IS NULL ORDER BY pl.year, p.plan_id, p.id"
    )
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def _layer(session: Session, table: str, columns: str = "name", where: str = "TRUE", params: dict | None = None):
    return _read(session, f"SELECT {columns}, geom FROM {table} WHERE {where}", params)


def _plans(session: Session, plan_ids: list[str]) -> list[dict[str, Any]]:
    if not plan_ids:
        return []
    sql = "SELECT id, title, year, city FROM plans WHERE id = ANY(:ids) ORDER BY year, id"
    return [dict(r) for r in session.execute(text(sql), {"ids": plan_ids}).mappings()]


def _sources(session: Session, layers: list[str]) -> list[str]:
    """'标题：来源' of every drawn layer, from the layer catalogue (as loaded, so a replaced layer says so)."""
    sql = "SELECT id, title_zh, source FROM layer_catalogue WHERE id = ANY(:ids) AND source IS NOT NULL"
    rows = {r["id"]: r for r in session.execute(text(sql), {"ids": layers}).mappings()}
    return [f"{rows[name]['title_zh']}：{rows[name]['source']}" for name in layers if name in rows]


def _fit(bounds: tuple[float, float, float, float], aspect: float, pad: float = 0.04) -> tuple[float, ...]:
    """``bounds`` padded by ``pad`` of each side (at least 10 km across), widened to the frame's aspect."""
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, 10_000.0) * (1 + 2 * pad), max(y1 - y0, 10_000.0) * (1 + 2 * pad)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _precise_bounds(projects: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """The bounds of the projects placed exactly or near (precision 1, 2, 5): the fallback frame."""
    if not len(projects):
        return None
    good = projects[projects["precision"].isin([*EXACT, *NEAR])]
    return tuple(good.total_bounds) if len(good) else None  # type: ignore[return-value]


def _place(precision: int | None) -> str:
    if precision in EXACT:
        return "exact"
    if precision in NEAR:
        return "near"
    if precision in DISTRICT:
        return "district"
    if precision in SEAT:
        return "seat"
    return "pending"


def _anchor(geometry: Any) -> Point:
    """Where a task's number goes: the point, the middle of a line, a point inside an area."""
    if geometry.geom_type == "Point":
        return geometry
    if isinstance(geometry, (LineString, MultiLineString)):
        longest = max(getattr(geometry, "geoms", [geometry]), key=lambda g: g.length)
        return longest.interpolate(0.5, normalized=True)
    return geometry.representative_point()


def plan_map(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> tuple[WallMap, Layout]:
    """Read everything the wall map shows, decide its frames (the city; an enlargement of where the precisely
    placed tasks crowd, when they crowd in a small part of it) and the sheet's layout."""
    projects = _projects(session, state)
    districts = _layer(session, "districts", "name, city")
    plan_ids = list(dict.fromkeys(projects["plan_id"])) if len(projects) else []
    if req.filters.plan and req.filters.plan not in plan_ids:
        plan_ids.insert(0, req.filters.plan)
    plans = _plans(session, plan_ids)
    cities = [p["city"] for p in plans]
    city_bounds = None
    if plans and all(cities):
        mine = districts[districts["city"].isin(cities)]
        city_bounds = tuple(mine.total_bounds) if len(mine) else None
    elif len(districts):  # a plan without a city (the region's 2010 plan): the three cities
        city_bounds = tuple(districts.total_bounds)
    if req.bbox is not None:
        bounds = tuple(gpd.GeoSeries([box(*req.bbox)], crs=4326).to_crs(METRIC_CRS).total_bounds)
    else:
        bounds = city_bounds or _precise_bounds(projects) or (3_040_000.0, 3_070_000.0, 3_100_000.0, 3_120_000.0)
    focus = _focus(projects, bounds) if req.bbox is None and req.orientation == "landscape" else None  # type: ignore[arg-type]
    lay = layout(req.paper, req.orientation, inset=focus is not None)
    extent = _fit(bounds, lay.map_box[2] / lay.map_box[3], pad=0.0 if req.bbox else 0.04)  # type: ignore[arg-type]
    inset = _fit(focus, lay.inset_box[2] / lay.inset_box[3], pad=0.06) if focus and lay.inset_box else None
    frame = box(*extent)

    tasks: list[Task] = []
    for row in projects.itertuples():
        place = _place(None if pd.isna(row.precision) else int(row.precision))
        point = _anchor(row.geometry) if place != "pending" else None
        if point is not None and not frame.contains(point):
            place, point = "outside", None
        tasks.append(
            Task(
                no=len(tasks) + 1,
                project_id=int(row.project_id),
                title=row.title,
                unit="、".join(row.lead_units or []) or "—",
                status=row.status,
                percent=float(row.percent or 0),
                place=place,
                point=point,
            )
        )
    for row in _unplaced(session, state):
        tasks.append(
            Task(
                no=len(tasks) + 1,
                project_id=row["project_id"],
                title=row["title"],
                unit="、".join(row["lead_units"] or []) or "—",
                status=row["status"],
                percent=float(row["percent"] or 0),
                place="pending",
                point=None,
            )
        )

    if req.title:
        title = req.title
    elif len(plans) == 1:
        title = f"{plans[0]['title']} · 任务进展图"
    else:
        title = f"{'、'.join(c for c in dict.fromkeys(cities) if c) or '长株潭'}{GENERIC_TITLE}"
    plan_line = "；".join(f"{p['title']}（{p['year']}年{'，' + p['city'] if p['city'] else ''}）" for p in plans)
    drawn = ["districts", "streams", "roads", "green_heart", "qingshuitang"]
    has_demo = bool(len(projects) and projects["demo"].fillna(False).astype(bool).any())
    wall = WallMap(
        extent=extent,  # type: ignore[arg-type]
        inset=inset,  # type: ignore[arg-type]
        city_bounds=city_bounds,  # type: ignore[arg-type]
        tasks=tasks,
        title=title,
        plan_line=plan_line or "（未选计划）",
        sources=_sources(session, drawn),
        has_demo=has_demo,
        projects=projects,
        districts=districts,
        cities=[c for c in cities if c],
    )
    return wall, lay


def _focus(projects: gpd.GeoDataFrame, bounds: tuple[float, float, float, float]) -> tuple[float, ...] | None:
    """The bounds of the precisely placed tasks inside ``bounds`` when they cover under a tenth of it (the
    urban core of a prefecture-wide frame), else None: no enlargement needed."""
    if not len(projects):
        return None
    good = projects[projects["precision"].isin([*EXACT, *NEAR])]
    anchors = [_anchor(g) for g in good.geometry]
    inside = [p for p in anchors if box(*bounds).contains(p)]
    if len(inside) < 3:
        return None
    xs, ys = [p.x for p in inside], [p.y for p in inside]
    fx0, fy0, fx1, fy1 = min(xs), min(ys), max(xs), max(ys)
    side = max(fx1 - fx0, fy1 - fy0, 8_000.0) * 1.15
    bx0, by0, bx1, by1 = bounds
    if side * side > 0.1 * (bx1 - bx0) * (by1 - by0):
        return None
    cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


# --- layout --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Millimetre boxes (x, y from the lower left, width, height) of one sheet, and the text scale."""

    width: float
    height: float
    k: float  # font scale against A3
    map_box: tuple[float, float, float, float]
    inset_box: tuple[float, float, float, float] | None
    legend_box: tuple[float, float, float, float]
    table_box: tuple[float, float, float, float]
    margin: float
    header: float
    footer: float


def layout(paper: str, orientation: str, inset: bool = False) -> Layout:
    width, height = PAPERS[paper]
    if orientation == "portrait":
        width, height = height, width
    k = math.sqrt(width * height / (420.0 * 297.0))  # text grows with the sheet, slower than its sides
    margin, header, footer = 9 * k, 22 * k, 17 * k
    inner_w, inner_h = width - 2 * margin, height - header - footer
    inset_box = None
    if orientation == "landscape" and inset:  # the city, its enlargement over the legend, the table
        gap = 5 * k
        map_w, inset_w = inner_w * 0.29, inner_w * 0.37
        legend_h = 36 * k
        map_box = (margin, footer, map_w, inner_h)
        ix = margin + map_w + gap
        inset_box = (ix, footer + legend_h + 2 * k, inset_w, inner_h - legend_h - 2 * k)
        legend_box = (ix, footer, inset_w, legend_h)
        tx = ix + inset_w + gap
        table_box = (tx, footer, width - margin - tx, inner_h)
    elif orientation == "landscape":
        map_w = inner_w * 0.56
        map_box = (margin, footer, map_w, inner_h)
        side_x = margin + map_w + 5 * k
        side_w = width - margin - side_x
        legend_h = 40 * k
        legend_box = (side_x, footer + inner_h - legend_h, side_w, legend_h)
        table_box = (side_x, footer, side_w, inner_h - legend_h - 3 * k)
    else:
        map_h = inner_h * 0.55
        map_box = (margin, height - header - map_h, inner_w, map_h)
        legend_h = 34 * k
        legend_box = (margin, map_box[1] - legend_h - 2 * k, inner_w, legend_h)
        table_box = (margin, footer, inner_w, legend_box[1] - footer - 3 * k)
    return Layout(width, height, k, map_box, inset_box, legend_box, table_box, margin, header, footer)


def _frac(lay: Layout, b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (b[0] / lay.width, b[1] / lay.height, b[2] / lay.width, b[3] / lay.height)


def _text_width(s: str) -> float:
    """Width in em of ``s``: CJK and full-width characters 1, the rest about 0.55."""
    return sum(1.0 if ord(c) > 0x2E80 else 0.55 for c in s)


def _clip(s: str, em: float) -> str:
    """``s`` cut to ``em`` wide, with … when cut."""
    s = " ".join(str(s).split())
    if _text_width(s) <= em:
        return s
    out, w = "", 0.0
    for c in s:
        cw = 1.0 if ord(c) > 0x2E80 else 0.55
        if w + cw > em - 1:
            break
        out, w = out + c, w + cw
    return out + "…"


# table columns: header, share of the block width, alignment
COLUMNS = (
    ("编号", 0.08, "right"),
    ("任务", 0.44, "left"),
    ("牵头单位", 0.26, "left"),
    ("状态", 0.12, "left"),
    ("进度", 0.10, "right"),
)
MM_PER_PT = 25.4 / 72


def _table_geometry(box_mm: tuple[float, float, float, float], k: float) -> tuple[int, int, float, float, float]:
    """(blocks side by side, rows per block, block width, row height, font size) for a table box."""
    _, _, w, h = box_mm
    font = 7.6 * k
    row_h = font * MM_PER_PT * 1.55
    min_block = 118 * k  # wide enough for a readable task text
    blocks = max(1, int((w + 4 * k) // (min_block + 4 * k)))
    block_w = (w - (blocks - 1) * 4 * k) / blocks
    rows = max(1, int((h - row_h * 1.4) // row_h))
    return blocks, rows, block_w, row_h, font


def _draw_table(fig: Figure, lay: Layout, box_mm: tuple[float, float, float, float], tasks: list[Task]) -> None:
    """``tasks`` (as many as fit) as a table in ``box_mm``: blocks side by side, each with its header."""
    x, y, _, h = box_mm
    blocks, rows, block_w, row_h, font = _table_geometry(box_mm, lay.k)
    top = y + h
    for b in range(blocks):
        chunk = tasks[b * rows : (b + 1) * rows]
        if not chunk:
            break
        bx = x + b * (block_w + 4 * lay.k)
        cx = bx
        for name, share, align in COLUMNS:
            tx = cx + share * block_w - 1.2 * lay.k if align == "right" else cx
            fig.text(
                tx / lay.width,
                (top - row_h * 0.7) / lay.height,
                name,
                fontsize=font,
                fontweight="bold",
                ha=align,
                va="center",
            )
            cx += share * block_w
        fig.add_artist(
            Line2D(
                [bx / lay.width, (bx + block_w) / lay.width],
                [(top - row_h * 1.3) / lay.height] * 2,
                color="#333",
                linewidth=0.6 * lay.k,
            )
        )
        for i, task in enumerate(chunk):
            ry = top - row_h * (1.4 + i + 0.5)
            if i % 2 == 1:
                fig.add_artist(
                    Rectangle(
                        (bx / lay.width, (ry - row_h / 2) / lay.height),
                        block_w / lay.width,
                        row_h / lay.height,
                        facecolor="#f1f1f1",
                        edgecolor="none",
                        zorder=-1,
                    )
                )
            note = PLACE_NOTES[task.place]
            cells = (
                str(task.no),
                task.title + (f"〔{note}〕" if note else ""),
                task.unit,
                task.status,
                f"{task.percent:.0f}%",
            )
            cx = bx
            for (name, share, align), cell in zip(COLUMNS, cells, strict=True):
                em = share * block_w / (font * MM_PER_PT) - 0.6
                shown = _clip(cell, em)
                if name == "状态":
                    fig.add_artist(
                        Rectangle(
                            (cx / lay.width, (ry - row_h * 0.28) / lay.height),
                            row_h * 0.56 / lay.width,
                            row_h * 0.56 / lay.height,
                            facecolor=STATUS_COLORS.get(task.status, "#999"),
                            edgecolor="#333",
                            linewidth=0.3,
                        )
                    )
                    tx = cx + row_h * 0.8
                    shown = _clip(cell, em - 1.2)
                else:
                    tx = cx + share * block_w - 1.2 * lay.k if align == "right" else cx
                fig.text(
                    tx / lay.width,
                    ry / lay.height,
                    shown,
                    fontsize=font,
                    ha=align,
                    va="center",
                    color="#111" if task.place != "pending" else "#555",
                )
                cx += share * block_w


def table_capacity(lay: Layout) -> tuple[int, int]:
    """(tasks in the table beside the map, tasks on each continuation sheet)."""
    blocks, rows, *_ = _table_geometry(lay.table_box, lay.k)
    cont_box = _continuation_box(lay)
    cblocks, crows, *_ = _table_geometry(cont_box, lay.k)
    return blocks * rows, cblocks * crows


def _continuation_box(lay: Layout) -> tuple[float, float, float, float]:
    return (lay.margin, lay.footer, lay.width - 2 * lay.margin, lay.height - lay.header - lay.footer)


def sheets(wall: WallMap, lay: Layout) -> list[list[Task]]:
    """The tasks of each sheet: the first beside the map, the rest on continuation sheets."""
    first, rest = table_capacity(lay)
    out = [wall.tasks[:first]]
    remaining = wall.tasks[first:]
    while remaining:
        out.append(remaining[:rest])
        remaining = remaining[rest:]
    return out


# --- drawing -------------------------------------------------------------------------------------------


def _reference_layers(session: Session, wall: WallMap, req: PrintRequest) -> dict[str, gpd.GeoDataFrame]:
    return {
        "districts": wall.districts,
        "green_heart": _layer(
            session,
            "green_heart",
            where="valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)",
            params={"d": req.as_of},
        ),
        "qingshuitang": _layer(session, "qingshuitang"),
        "streams": _layer(session, "streams", "name, kind"),
        "roads": _layer(session, "roads"),
    }


def _draw_layers(ax: Axes, frames: dict[str, gpd.GeoDataFrame], wall: WallMap, extent: tuple[float, ...], k: float):
    x0, y0, x1, y1 = extent
    mask = (x0, y0, x1, y1)
    for name, style in LAYER_STYLES.items():
        frame = frames[name]
        shown = frame.clip(mask) if len(frame) else frame
        if not len(shown):
            continue
        style = dict(style)
        if "linewidth" in style:
            style["linewidth"] *= k
        if name == "districts" and wall.cities:  # the plan's city on white, its neighbours greyed
            mine = shown[shown["city"].isin(wall.cities)]
            others = shown[~shown["city"].isin(wall.cities)]
            if len(others):
                others.plot(ax=ax, **(style | {"facecolor": "#ececec"}))
            if len(mine):
                mine.plot(ax=ax, **style)
            continue
        if name == "green_heart":  # hatch in a light green, the outline darker
            shown.plot(ax=ax, facecolor="none", edgecolor="#a6dba0", linewidth=0, hatch="////", zorder=2)
            shown.plot(ax=ax, facecolor="none", edgecolor=style["edgecolor"], linewidth=style["linewidth"], zorder=2)
            continue
        shown.plot(ax=ax, **style)
    # district names: the plan's city's in dark grey, neighbours lighter
    frame = box(*mask)
    for row in wall.districts.itertuples():
        part = clip_by_rect(row.geometry, *mask)
        if part.is_empty or part.area < 4e6:
            continue
        p = part.representative_point()
        mine = not wall.cities or row.city in wall.cities
        ax.text(
            p.x,
            p.y,
            row.name,
            fontsize=(9.5 if mine else 8) * k,
            color="#555" if mine else "#999",
            ha="center",
            va="center",
            zorder=5,
            fontweight="bold" if mine else "normal",
        )
    # main streams: the name along the longest part inside the frame
    streams = frames["streams"]
    span = x1 - x0
    for row in streams.itertuples():
        part = clip_by_rect(row.geometry, *mask)
        if part.is_empty:
            continue
        longest = max(getattr(part, "geoms", [part]), key=lambda g: g.length)
        if longest.length < span * (0.04 if row.kind in MAIN_STREAM_KINDS else 0.08):
            continue
        a, b = longest.interpolate(0.45, normalized=True), longest.interpolate(0.55, normalized=True)
        angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        mid = longest.interpolate(0.5, normalized=True)
        ax.text(
            mid.x,
            mid.y,
            row.name,
            fontsize=(9 if row.kind in MAIN_STREAM_KINDS else 7.5) * k,
            color="#1f5f8b",
            style="italic",
            rotation=angle,
            rotation_mode="anchor",
            ha="center",
            va="bottom",
            zorder=6,
        )


def _draw_projects(ax: Axes, wall: WallMap, extent: tuple[float, ...], k: float, skip_numbers=None) -> None:
    """The tasks in ``extent``: geometries by status, one marker per place with its numbers (none for the
    places inside ``skip_numbers``, an extent drawn enlarged elsewhere on the sheet)."""
    projects = wall.projects
    if not len(projects):
        return
    frame = box(*extent)
    on_map = {t.project_id for t in wall.tasks if t.point is not None}
    shown = projects[projects["project_id"].isin(on_map)]
    kind = shown.geometry.geom_type
    for status, color in STATUS_COLORS.items():
        mine = shown[shown["status"] == status]
        if not len(mine):
            continue
        kk = kind[mine.index]
        areas, lines = mine[kk.str.contains("Polygon")], mine[kk.str.contains("LineString")]
        if len(areas):
            areas = areas.clip(extent)
            # exact areas filled (one fill per status: tasks on the same area do not darken it by stacking);
            # approximate ones (a whole zone, a drawn disc) only outlined, dashed, so the zone under them shows
            exact = areas[areas["precision"].isin(EXACT)]
            if len(exact):
                exact.dissolve().plot(ax=ax, facecolor=color, edgecolor="none", alpha=0.22, zorder=8)
                exact.plot(ax=ax, facecolor="none", edgecolor=color, linewidth=1.4 * k, zorder=8)
            rough = areas[~areas["precision"].isin(EXACT)]
            if len(rough):
                rough.plot(ax=ax, facecolor="none", edgecolor=color, linewidth=1.3 * k, linestyle="--", zorder=8)
        if len(lines):
            exact = lines[lines["precision"].isin(EXACT)]
            rough = lines[~lines["precision"].isin(EXACT)]
            if len(exact):
                exact.clip(extent).plot(ax=ax, color=color, linewidth=2.4 * k, zorder=9)
            if len(rough):
                rough.clip(extent).plot(ax=ax, color=color, linewidth=2.0 * k, linestyle="--", zorder=9)
    # one marker per place, numbers beside it: several tasks located to the same seat share one marker
    groups: dict[tuple[int, int], list[Task]] = defaultdict(list)
    for task in wall.tasks:
        if task.point is not None and frame.contains(task.point):
            groups[(round(task.point.x / 150), round(task.point.y / 150))].append(task)
    span = extent[2] - extent[0]
    skip = box(*skip_numbers) if skip_numbers else None
    for members in groups.values():
        p = members[0].point
        assert p is not None
        statuses = {t.status for t in members}
        color = STATUS_COLORS.get(members[0].status, "#777") if len(statuses) == 1 else "#555"
        place = members[0].place
        size = (7 if len(members) == 1 else 9) * k
        if place == "exact":
            ax.plot(
                p.x,
                p.y,
                "o",
                markersize=size,
                markerfacecolor=color,
                markeredgecolor="#222",
                markeredgewidth=0.6 * k,
                zorder=11,
            )
        elif place == "near":
            ax.plot(
                p.x,
                p.y,
                "o",
                markersize=size,
                markerfacecolor=color,
                alpha=0.6,
                markeredgecolor=color,
                markeredgewidth=1.0 * k,
                zorder=10,
            )
        else:  # district or seat: hollow, dashed
            ax.plot(
                p.x,
                p.y,
                "o",
                markersize=size * 1.3,
                markerfacecolor="none",
                markeredgecolor=color,
                markeredgewidth=1.2 * k,
                linestyle="none",
                zorder=10,
                dashes=(2, 1),
            )
            ax.add_patch(
                Circle(
                    (p.x, p.y),
                    span * 0.006,
                    facecolor="none",
                    edgecolor=color,
                    linewidth=1.0 * k,
                    linestyle=(0, (2, 1.5)),
                    zorder=10,
                )
            )
        if skip is not None and skip.contains(p):
            continue
        numbers = [t.no for t in members]
        label = _number_label(numbers)
        ax.annotate(
            label,
            (p.x, p.y),
            xytext=(4.5 * k, 3 * k),
            textcoords="offset points",
            fontsize=7.2 * k,
            color="#111",
            zorder=12,
            va="bottom",
            ha="left",
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": color,
                "linewidth": 0.5 * k,
                "alpha": 0.85,
            },
        )


def _number_label(numbers: list[int]) -> str:
    """'3' / '3,7,12' / '2-5,9…（共 41 项）': runs joined, long lists wrapped and cut."""
    runs: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    if len(runs) <= 4:
        return ",".join(runs)
    lines = textwrap.wrap(",".join(runs[:12]), 18)
    more = f"…（共 {len(numbers)} 项，见表“驻地”）" if len(runs) > 12 else f"（共 {len(numbers)} 项）"
    return "\n".join(lines) + "\n" + more


def _legend(ax: Axes, wall: WallMap, k: float, portrait: bool) -> None:
    counts: dict[str, int] = defaultdict(int)
    for t in wall.tasks:
        counts[t.status] += 1
    dot = {"marker": "o", "linestyle": "", "markersize": 7 * k}
    status_handles = [
        Line2D([], [], markerfacecolor=c, markeredgecolor="#222", label=f"{s}（{counts.get(s, 0)}）", **dot)
        for s, c in STATUS_COLORS.items()
    ]
    precision_handles = [
        Line2D([], [], markerfacecolor="#555", markeredgecolor="#222", label="精确位置", **dot),
        Line2D([], [], markerfacecolor="#555", alpha=0.55, label="近似（附近 / 沿线）", **dot),
        Line2D([], [], markerfacecolor="none", markeredgecolor="#555", label="仅到区县 / 政府驻地", **dot),
        Line2D([], [], color="#555", linewidth=2.4 * k, label="线状任务"),
        Patch(facecolor="#bbb", edgecolor="#555", label="面状任务（精确）"),
        Patch(facecolor="none", edgecolor="#555", linestyle="--", label="近似范围（虚线）"),
    ]
    layer_handles = [_layer_handle(name, label) for name, label in LAYER_LABELS.items()]
    places = ((0.0, 1.0), (0.36, 1.0), (0.70, 1.0))
    titles = (f"任务状态（共 {len(wall.tasks)} 项）", "位置精度与形态", "参考图层")
    for handles, title, place in zip((status_handles, precision_handles, layer_handles), titles, places, strict=True):
        legend(
            ax,
            handles,
            stack=True,
            title=title,
            loc="upper left",
            bbox_to_anchor=place,
            fontsize=7.6 * k,
            title_fontsize=8.6 * k,
            alignment="left",
            handlelength=1.6,
            labelspacing=0.35,
            borderpad=0.2,
        )


def _layer_handle(name: str, label: str) -> Artist:
    """The legend's sample of a reference layer, in the colours it is drawn with."""
    style = LAYER_STYLES[name]
    if "color" in style:  # a line layer
        return Line2D([], [], color=style["color"], label=label)
    return Patch(
        facecolor=style["facecolor"],
        edgecolor=style["edgecolor"],
        hatch=style.get("hatch"),
        linestyle=style.get("linestyle", "-"),
        label=label,
    )


def _header(fig: Figure, lay: Layout, wall: WallMap, req: PrintRequest, sheet: int, total: int) -> None:
    title = wall.title if sheet == 1 else f"{wall.title}（续表 {sheet}/{total}）"
    fig.text(0.5, 1 - 8.5 * lay.k / lay.height, title, ha="center", va="center", fontsize=17 * lay.k, fontweight="bold")
    scope = [f"截至 {req.as_of.year}年{req.as_of.month}月{req.as_of.day}日"]
    f = req.filters
    for label, value in (
        ("类别", f.category),
        ("牵头单位", f.lead_unit),
        ("区县", f.district),
        ("状态", f.status),
        ("年度", f.year),
    ):
        if value:
            scope.append(f"{label}：{value}")
    scope.append(f"计划：{wall.plan_line}")
    line = _clip("　".join(scope), (lay.width - 2 * lay.margin) / (9.5 * lay.k * MM_PER_PT))
    fig.text(0.5, 1 - 16.5 * lay.k / lay.height, line, ha="center", va="center", fontsize=9.5 * lay.k, color="#333")


def _footer(fig: Figure, lay: Layout, wall: WallMap, sheet: int, total: int) -> None:
    size = 6.2 * lay.k
    footer = (
        f"制图：xiangmap　制图日期：{date.today().isoformat()}　"
        "坐标系：CGCS2000 / 3度带高斯-克吕格 CM114E（EPSG:4547）　位置精度见各要素 accuracy_m 与任务精度代码"
    )
    if wall.has_demo:
        footer += "　注：含演示进度数据（非真实报告）"
    if total > 1:
        footer += f"　第 {sheet}/{total} 页"
    chars = int((lay.width - 2 * lay.margin) / (size * MM_PER_PT) * 1.5)  # the sources are mostly Latin
    lines = [footer, *textwrap.wrap("数据来源：" + "；".join(wall.sources), chars)][:4]
    for i, line in enumerate(reversed(lines)):
        fig.text(
            lay.margin / lay.width,
            (3 * lay.k + i * size * MM_PER_PT * 1.45) / lay.height,
            line,
            fontsize=size,
            ha="left",
            va="bottom",
            color="#222" if i == len(lines) - 1 else "#555",
        )


def _map_sheet(session: Session, req: PrintRequest, wall: WallMap, lay: Layout, tasks: list[Task], total: int):
    fig = Figure(figsize=(lay.width / 25.4, lay.height / 25.4))  # no pyplot: safe in a threaded server
    ax = fig.add_axes(_frac(lay, lay.map_box))
    legend_ax = fig.add_axes(_frac(lay, lay.legend_box))
    legend_ax.axis("off")
    frames = _reference_layers(session, wall, req)
    _draw_layers(ax, frames, wall, wall.extent, lay.k)
    _draw_projects(ax, wall, wall.extent, lay.k, skip_numbers=wall.inset)
    _frame_axes(ax, wall.extent)
    if wall.inset is not None and lay.inset_box is not None:
        ix0, iy0, ix1, iy1 = wall.inset
        ax.add_patch(
            Rectangle(
                (ix0, iy0), ix1 - ix0, iy1 - iy0, facecolor="none", edgecolor="#333", linewidth=1.0 * lay.k, zorder=15
            )
        )
        ax.text(
            ix1,
            iy1,
            "见放大图",
            fontsize=7.5 * lay.k,
            ha="right",
            va="bottom",
            zorder=15,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
        inset_ax = fig.add_axes(_frac(lay, lay.inset_box))
        _draw_layers(inset_ax, frames, wall, wall.inset, lay.k)
        _draw_projects(inset_ax, wall, wall.inset, lay.k)
        _frame_axes(inset_ax, wall.inset)
        inset_ax.text(
            0.01,
            0.99,
            "市区放大图",
            transform=inset_ax.transAxes,
            fontsize=9 * lay.k,
            ha="left",
            va="top",
            fontweight="bold",
            zorder=20,
            bbox={"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": "#333", "linewidth": 0.5},
        )
        scale_bar(inset_ax, wall.inset)
    scale_bar(ax, wall.extent)
    north_arrow(ax)
    _legend(legend_ax, wall, lay.k, req.orientation == "portrait")
    _draw_table(fig, lay, lay.table_box, tasks)
    if total > 1:
        tx, ty, tw, _ = lay.table_box
        fig.text(
            (tx + tw) / lay.width,
            (ty - 1.5 * lay.k) / lay.height,
            f"续表见第 2-{total} 页",
            fontsize=7 * lay.k,
            ha="right",
            va="top",
            color="#555",
        )
    _header(fig, lay, wall, req, 1, total)
    _footer(fig, lay, wall, 1, total)
    return fig


def _frame_axes(ax: Axes, extent: tuple[float, ...]) -> None:
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _table_sheet(req: PrintRequest, wall: WallMap, lay: Layout, tasks: list[Task], sheet: int, total: int):
    fig = Figure(figsize=(lay.width / 25.4, lay.height / 25.4))
    _draw_table(fig, lay, _continuation_box(lay), tasks)
    _header(fig, lay, wall, req, sheet, total)
    _footer(fig, lay, wall, sheet, total)
    return fig


MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf"}


def wall_map(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> tuple[bytes, str]:
    """The wall map as (bytes, media type): the route, not the drawing, builds the HTTP response."""
    return render(session, req, state), MEDIA_TYPES[req.fmt]


class PageOutOfRange(ValueError):
    """A PNG sheet past the last: the route answers 400 naming ``page``."""

    def __init__(self, page: int, total: int) -> None:
        super().__init__(f"page {page} does not exist: this wall map has {total} sheet(s)")
        self.total = total


def prepare(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> tuple[WallMap, Layout]:
    """The wall map's content and layout, read but not drawn (tests and the route check them)."""
    use_cjk_font()  # before any axes exist: their texts take the font current at creation
    return plan_map(session, req, state)


def render(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> bytes:
    """Draw the wall map and return PNG (sheet ``req.page``) or PDF (every sheet) bytes.

    ``state`` is the derived state's SQL and parameters for ``req`` (at its date, threshold and filters),
    from the use case, which reads it through progress.usecases and tunes the transaction for it.
    """
    wall, lay = prepare(session, req, state)
    pages = sheets(wall, lay)
    total = len(pages)
    out = io.BytesIO()
    if req.fmt == "png":
        if req.page > total:
            raise PageOutOfRange(req.page, total)
        if req.page == 1:
            fig = _map_sheet(session, req, wall, lay, pages[0], total)
        else:
            fig = _table_sheet(req, wall, lay, pages[req.page - 1], req.page, total)
        try:
            fig.savefig(out, format="png", dpi=req.dpi)
        finally:
            fig.clear()
        return out.getvalue()
    with PdfPages(out, metadata={"Title": wall.title, "Creator": "xiangmap"}) as pdf:
        for i, tasks in enumerate(pages, start=1):
            fig = (
                _map_sheet(session, req, wall, lay, tasks, total)
                if i == 1
                else _table_sheet(req, wall, lay, tasks, i, total)
            )
            try:
                pdf.savefig(fig)
            finally:
                fig.clear()
    return out.getvalue()
