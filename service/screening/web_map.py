"""``/maps/screening/{id}``: a Folium map of a recorded screening, drawn from what the record kept
(the site, the zones around it as seen, the overlap shaded, the distance lines labelled)."""

from __future__ import annotations

import json
from typing import Any

import folium
import shapely

from service.common.drawing import VERDICT_COLOURS
from service.common.web_maps import add_basemaps, localise
from service.screening.report_figures import VERDICT_ZH
from service.settings import get_settings


def screening_map_html(result: dict[str, Any]) -> str:
    site = shapely.geometry.shape(result["input"]["geometry"])
    minx, miny, maxx, maxy = site.bounds
    m = folium.Map(location=((miny + maxy) / 2, (minx + maxx) / 2), zoom_start=14, tiles=None, control_scale=True)
    tianditu_key = get_settings().tianditu_key
    add_basemaps(m, "tianditu-vec" if tianditu_key else "osm", tianditu_key)
    zones = {f"{e['layer']}/{z['zone_key']}": z for e in result["layers"] for z in e["zones"]}
    for key, view in (result.get("map") or {}).items():
        zone = zones.get(key)
        if zone is None or not view.get("zone"):
            continue
        colour = VERDICT_COLOURS[zone["verdict"]] if zone["inside"] else VERDICT_COLOURS["outside"]
        label = (
            f"{zone['name']} {zone['subzone'] or ''} · {zone['scheme'] or ''} · {VERDICT_ZH[zone['verdict']]}"
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
        tooltip=f"#{result.get('id')} {VERDICT_ZH[result['verdict']]} ({result['date']})",
    ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=16, padding=(60, 60))
    folium.LayerControl(collapsed=False).add_to(m)
    title = f"<title>筛查 #{result.get('id')} · {VERDICT_ZH[result['verdict']]}</title>"
    m.get_root().header.add_child(folium.Element(title))
    return localise(m.get_root().render())
