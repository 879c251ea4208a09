"""The Folium pages: map scaffolding (basemaps, controls, assets) rendered by Folium; the data is fetched by the
page from /maps/data/... so a page stays a few kilobytes whatever the number of projects."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen
from jinja2 import Template

from service.common.drawing import web_colours
from service.common.web_maps import add_basemaps, localise

CENTER = (27.86, 113.10)  # Zhuzhou / Chang-Zhu-Tan
OVERLAY_LABELS = (
    # layer, label, shown at first
    ("green_heart", "长株潭生态绿心（示意）", True),
    ("qingshuitang", "清水塘老工业区", True),
    ("demo_zones", "示范区 / 片区", False),
    ("districts", "区县界", False),
    ("roads", "道路", False),
    ("streams", "河流 / 港渠", False),
    ("sewage_plants", "污水处理厂", False),
)
DEMO_NOTE = "含演示进度数据（demo=true），非真实报告"


class PageScript(JSCSSMixin, MacroElement):
    """Loads a page script and stylesheet from xiangmap and calls its entry point with the map and config."""

    _template = Template(
        """
{% macro header(this, kwargs) %}<title>{{ this.title }}</title>{% endmacro %}
{% macro script(this, kwargs) %}
XM.{{ this.entry }}({{ this._parent.get_name() }}, {{ this.control }}, {{ this.config | tojson }});
{% endmacro %}
"""
    )

    def __init__(self, entry: str, script: str, control: str, config: dict[str, Any], title: str) -> None:
        super().__init__()
        self._name = "PageScript"
        self.entry, self.control, self.config, self.title = entry, control, config, title
        self.default_js = [
            ("supercluster", "/static/vendor/supercluster/supercluster.min.js"),
            ("xm_page_js", f"/maps/assets/{script}"),
        ]
        self.default_css = [("xm_maps_css", "/maps/assets/maps.css")]


def _page(
    entry: str,
    script: str,
    config: dict[str, Any],
    title: str,
    basemap: str,
    tianditu_key: str | None,
    location: tuple[float, float] = CENTER,
    zoom: int = 10,
) -> str:
    m = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    # Only Leaflet of the Map's defaults is used by these pages: jQuery, Bootstrap, Font Awesome and
    # awesome-markers (installed by service.assets, rewritten by localise when present) would add ~0.5 s of
    # loading and parsing before the data is even requested.
    m.default_js = [(name, url) for name, url in m.default_js if name == "leaflet"]
    m.default_css = [(name, url) for name, url in m.default_css if name == "leaflet_css"]
    add_basemaps(m, basemap, tianditu_key)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(m)
    PageScript(entry, script, control.get_name(), config | {"basemap": basemap}, title).add_to(m)
    m.get_root().header.add_child(Element('<meta name="robots" content="noindex">'))
    return localise(m.get_root().render())


@lru_cache(maxsize=64)
def progress_page(basemap: str, tianditu_key: str | None, basemap_param: str | None, has_demo: bool) -> str:
    """/maps/progress: every project by status, filters, time slider, choropleth, reference layers.

    The page holds no data (the map fetches it from the API), so it depends only on its arguments and
    is rendered once per combination: Folium's rendering is the costly part of serving it.
    """
    config = {
        "title": "长株潭两型社会建设项目进展图",
        "choropleth": True,
        # the cases the caller may see (fetched per caller from /maps/data/cases.geojson, so the page stays shared)
        "cases": {"label": "案件（按状态，红圈为逾期）", "show": False},
        "overlays": [{"layer": layer, "label": label, "show": show} for layer, label, show in OVERLAY_LABELS],
        "basemap_param": basemap_param,
        "demo_note": DEMO_NOTE if has_demo else None,
        "colours": web_colours(),  # the drawing kit's, so the web map and the wall map agree
    }
    return _page("progressMap", "progress_map.js", config, config["title"], basemap, tianditu_key)


def project_page(project: dict[str, Any], basemap: str, tianditu_key: str | None) -> str:
    """/maps/projects/{id}: one project, planned against done, its located features, zones nearby, reports."""
    config = {"project": project}
    location = (project["lat"], project["lon"]) if project.get("lat") is not None else CENTER
    return _page(
        "projectMap",
        "project_map.js",
        config,
        f"{project['title']}｜项目地图",
        basemap,
        tianditu_key,
        location=location,
        zoom=14,
    )
