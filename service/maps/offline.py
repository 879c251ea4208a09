"""Point every script and stylesheet Folium's templates reference at xiangmap's own /static/vendor copy.

Folium renders CDN URLs (jsdelivr, cdnjs, code.jquery.com, netdna); on an offline intranet those never
load.  ``localise`` rewrites the ones service.assets installs and drops the two that serve nothing the
maps use (Bootstrap 3 glyphicons, the awesome-markers rotate rule).  Any other external script or
stylesheet is an error, so a Folium upgrade that adds one fails the tests instead of a planner's map.
"""

from __future__ import annotations

import re

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
