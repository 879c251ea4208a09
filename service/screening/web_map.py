"""``/maps/screening/{id}``: a Folium map of a recorded screening, drawn from what the record kept
(the site, the zones around it as seen, the overlap shaded, the distance lines labelled)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

import folium
import shapely

from service.common.drawing import VERDICT_COLOURS
from service.common.web_maps import add_basemaps, localise
from service.screening.report_facts import DISCLAIMER, VERDICT_ZH, category_reason, site_name, zone_citations
from service.screening.zones import VIEW_RADIUS_M, margin_degrees
from service.settings import get_settings


def screening_map_html(result: dict[str, Any]) -> str:
    site = shapely.geometry.shape(result["input"]["geometry"])
    minx, miny, maxx, maxy = site.bounds
    # the recorded zones reach VIEW_RADIUS_M around the site: the map pans and zooms out no further, so no
    # zone is seen to end at the edge of what was recorded
    reach = margin_degrees(site.bounds, VIEW_RADIUS_M)
    m = folium.Map(
        location=((miny + maxy) / 2, (minx + maxx) / 2),
        zoom_start=14,
        tiles=None,
        control_scale=True,
        min_zoom=12,
        max_bounds=True,
        min_lat=miny - reach,
        max_lat=maxy + reach,
        min_lon=minx - reach,
        max_lon=maxx + reach,
    )
    tianditu_key = get_settings().tianditu_key
    add_basemaps(m, "tianditu-vec" if tianditu_key else "osm", tianditu_key)
    zones = {f"{e['layer']}/{z['zone_key']}": z for e in result["layers"] for z in e["zones"]}
    legend_items: list[tuple[str, str, str]] = [("#000", "line", "项目/场地")]
    for key, view in (result.get("map") or {}).items():
        zone = zones.get(key)
        if zone is None or not view.get("zone"):
            continue
        colour = VERDICT_COLOURS.get(zone["verdict"], "#666") if zone["inside"] else VERDICT_COLOURS["outside"]
        where = f"重叠 {zone['overlap_pct']:.1f}%" if zone["inside"] else f"距离 {zone['distance_m']:.0f} m"
        subzone = zone["subzone"] if zone["subzone"] and zone["subzone"] not in zone["name"] else ""
        shown = f"{zone['name']}{' ' + subzone if subzone else ''} · {VERDICT_ZH.get(zone['verdict'], zone['verdict'])}"
        shown += f" · {where}"
        legend_items.append((colour, "area", shown))
        label = (
            f"{zone['name']} {zone['subzone'] or ''} · {zone['scheme'] or ''}"
            f" · {VERDICT_ZH.get(zone['verdict'], zone['verdict'])}"
            f" · 重叠 {zone['overlap_m2']:.0f} m² ({zone['overlap_pct']:.1f}%) · 距离 {zone['distance_m']:.0f} m"
        )
        folium.GeoJson(
            json.loads(view["zone"]),
            name=f"{zone['name']} {zone['subzone'] or ''}",
            style_function=lambda _f, c=colour: {"color": c, "fillColor": c, "fillOpacity": 0.25, "weight": 1},
            tooltip=label,
        ).add_to(m)
        if zone["inside"] and site.geom_type.endswith("Polygon"):
            overlap = site.intersection(shapely.geometry.shape(json.loads(view["zone"])))
            if not overlap.is_empty:
                folium.GeoJson(
                    shapely.geometry.mapping(overlap),
                    name="重叠部分",
                    style_function=lambda _f, c=colour: {"color": "#000", "fillColor": c, "fillOpacity": 0.6},
                    tooltip=f"重叠 {zone['overlap_m2']:.0f} m²",
                ).add_to(m)
        if view.get("shortest_line"):
            line = json.loads(view["shortest_line"])
            folium.PolyLine(
                [(y, x) for x, y in line["coordinates"]],
                color="#3182bd",
                dash_array="6",
                tooltip=f"距 {zone['name']} {zone['distance_m']:.0f} m",
            ).add_to(m)
    folium.GeoJson(
        result["input"]["geometry"],
        name="项目/场地",
        style_function=lambda _f: {"color": "#000", "weight": 3, "fillOpacity": 0},
        tooltip=f"#{result.get('id')} {VERDICT_ZH.get(result['verdict'], result['verdict'])} ({result['date']})",
    ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=16, padding=(60, 60))
    folium.LayerControl(collapsed=True).add_to(m)  # an icon: open, it would cover the verdict on a phone
    m.get_root().html.add_child(folium.Element(PHONE_CSS + _verdict_box(result) + _legend(result, legend_items)))
    title = f"<title>筛查 #{result.get('id')} · {VERDICT_ZH.get(result['verdict'], result['verdict'])}</title>"
    m.get_root().header.add_child(folium.Element(title))
    return localise(m.get_root().render())


# on a phone the legend sits above the scale bar and the verdict box keeps clear of the layer button
PHONE_CSS = (
    "<style>@media (max-width: 480px) { .xm-legend { bottom: 64px !important; left: 10px !important; }"
    " .xm-verdict { max-width: calc(100vw - 110px) !important; font-size: 12px !important; } }</style>"
)
BOX_STYLE = (
    "position:fixed;z-index:1000;background:#fff;border:1px solid #999;border-radius:4px;padding:6px 10px;"
    "font:13px/1.5 'Noto Sans CJK SC','Noto Sans SC',sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:22rem"
)


def _verdict_box(result: dict[str, Any]) -> str:
    """The verdict, the site, the date and the category, over the map (a shared link shows them to anyone)."""
    verdict = result["verdict"]
    colour = VERDICT_COLOURS.get(verdict, "#333")
    category = result.get("category") or {}
    source = result.get("input") or {}
    return (
        f'<div class="xm-verdict" style="{BOX_STYLE};top:10px;left:50px">'
        f"<strong>筛查 #{escape(str(result.get('id', '')))} · {escape(site_name(result))}</strong><br>"
        f'结论：<strong style="color:{colour}">{escape(VERDICT_ZH.get(verdict, verdict))}</strong>'
        f" · {escape(result['date'])}<br>类别：{escape(str(category.get('zh') or '—'))}"
        f"（{escape(category_reason(category))}）"
        f"<br>筛查人：{escape(str(result.get('actor') or '—'))} · 输入坐标系：{escape(str(source.get('crs') or '—'))}"
        f"{'（未声明，按 WGS84）' if source.get('crs_declared') is False else ''}"
        f"{_deciding_clause(result)}"
        f'<br><span style="font-size:11px;color:#555">{escape(DISCLAIMER.split(" / ")[0])}</span></div>'
    )


def _deciding_clause(result: dict[str, Any]) -> str:
    """The regulation and clause of the zone that decided the verdict (the worst one the site is in)."""
    decided = [c for c in zone_citations(result) if c["inside"] and c["verdict"] == result["verdict"]]
    if not decided:
        return ""
    c = decided[0]
    article = f"{c['article']} " if c["article"] else ""
    return f"<br>依据：{escape(c['regulation'])}：{escape(article + c['clause'])}"


def _legend(result: dict[str, Any], items: list[tuple[str, str, str]]) -> str:
    """What each colour and line on the map is."""
    rows = []
    for colour, kind, label in items:
        swatch = (
            f'<span style="display:inline-block;width:14px;height:0;border-top:3px solid {colour};'
            'margin-right:6px;vertical-align:middle"></span>'
            if kind == "line"
            else f'<span style="display:inline-block;width:14px;height:12px;background:{colour};opacity:.6;'
            f'border:1px solid {colour};margin-right:6px;vertical-align:middle"></span>'
        )
        rows.append(f"<div>{swatch}{escape(label)}</div>")
    if any(v.get("shortest_line") for v in (result.get("map") or {}).values()):
        rows.append(
            '<div><span style="display:inline-block;width:14px;border-top:2px dashed #3182bd;margin-right:6px;'
            'vertical-align:middle"></span>到最近保护区的距离</div>'
        )
    return (
        f'<div class="xm-legend" style="{BOX_STYLE};bottom:28px;right:10px"><strong>图例</strong>{"".join(rows)}</div>'
    )
