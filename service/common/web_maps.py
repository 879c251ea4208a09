"""What every Folium web map of xiangmap shares (the progress and project maps, the screening map): the
basemaps, and its scripts and stylesheets served from xiangmap's own /static/vendor copy.

The basemaps: OpenStreetMap and, with a key, Tianditu vector / imagery, each with its annotation layer.

Folium renders CDN URLs (jsdelivr, cdnjs, code.jquery.com, netdna); on an offline intranet those never
load.  ``localise`` rewrites the ones service.assets installs and drops the two that serve nothing the
maps use (Bootstrap 3 glyphicons, the awesome-markers rotate rule).  Any other external script or
stylesheet is an error, so a Folium upgrade that adds one fails the tests instead of a planner's map.
"""

from __future__ import annotations

import re

import folium

BASEMAPS = ("osm", "tianditu-vec", "tianditu-img", "none")
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)


def add_basemaps(m: folium.Map, chosen: str, tianditu_key: str | None) -> None:
    """OpenStreetMap and, with a key, Tianditu vector / imagery (each with its annotation layer); ``chosen``
    is shown first."""
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=chosen == "osm", overlay=False, control=True).add_to(m)
    if tianditu_key:
        for base, label, annotation in (("vec", "天地图矢量", "cva"), ("img", "天地图影像", "cia")):
            group = folium.FeatureGroup(name=label, overlay=False, show=chosen == f"tianditu-{base}")
            for layer in (base, annotation):
                folium.TileLayer(
                    TIANDITU.format(s="{s}", layer=layer, z="{z}", y="{y}", x="{x}", key=tianditu_key),
                    attr="天地图 © 国家地理信息公共服务平台",
                    subdomains="01234567",
                    max_zoom=18,
                    overlay=False,
                    control=False,
                ).add_to(group)
            group.add_to(m)


def resolve_basemap(requested: str | None, default: str, tianditu_key: str | None) -> str:
    """The basemap to show: the one asked for, else the configured one; OpenStreetMap when that is unknown
    or is Tianditu without a key."""
    chosen = requested or default
    if chosen not in BASEMAPS:
        chosen = "osm"
    if chosen.startswith("tianditu") and not tianditu_key:
        chosen = "osm"
    return chosen


V = "/static/vendor"

CDN_TO_LOCAL: dict[str, str] = {
    # folium.Map
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": f"{V}/leaflet/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": f"{V}/leaflet/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{V}/jquery/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
        f"{V}/bootstrap/js/bootstrap.bundle.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": f"{V}/bootstrap/css/bootstrap.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
        f"{V}/fontawesome/css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        f"{V}/awesome-markers/leaflet.awesome-markers.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        f"{V}/awesome-markers/leaflet.awesome-markers.css"
    ),
    # folium.plugins.MarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        f"{V}/leaflet.markercluster/leaflet.markercluster.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": (
        f"{V}/leaflet.markercluster/MarkerCluster.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        f"{V}/leaflet.markercluster/MarkerCluster.Default.css"
    ),
    # folium.plugins.Fullscreen
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
        f"{V}/leaflet.fullscreen/Control.FullScreen.js"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
        f"{V}/leaflet.fullscreen/Control.FullScreen.css"
    ),
}
DROPPED = (
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
)
_EXTERNAL_ASSET = re.compile(r"""<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*["'](https?:)?//[^"']+["']""", re.I)


class ExternalAssetError(RuntimeError):
    """The rendered page still loads something from the internet."""


def localise(html: str) -> str:
    """Rewrite Folium's CDN links to /static/vendor, drop the unused ones, refuse anything else external."""
    for url in DROPPED:
        html = re.sub(rf"""\s*<link[^>]*href=["']{re.escape(url)}["'][^>]*>""", "", html)
    for url, local in CDN_TO_LOCAL.items():
        html = html.replace(f'"{url}"', f'"{local}"')
    leftover = _EXTERNAL_ASSET.search(html)
    if leftover:
        raise ExternalAssetError(f"the page would load {leftover.group(0)!r} from the internet")
    return html
