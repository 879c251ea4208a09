"""Done-when of issue 14 items 7-8: a MapLibre page on another origin draws the styled tiles in Chromium.

The page is served by a second, throwaway HTTP server on another port (another origin), imports MapLibre
as an ES module from xiangmap's /static/vendor, loads ``/styles/default``, and so fetches the TileJSON
and the tiles cross-origin: without CORS the module, the style and every tile would be refused.  The
internet is cut off (``Browser(offline=True)``): nothing may come from anywhere but the loopback.
Chromium renders WebGL with SwiftShader (no GPU here).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.headless import Browser

ZHUZHOU = (113.10, 27.84, 11)  # urban Zhuzhou: districts, roads, streams, the Xiang and most located projects
# 推进中 / 已完成 / 滞后 ... (service.common.drawing.STATUS_COLORS): the projects must show in them
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>xiangmap from another origin</title>
<link rel="stylesheet" href="{service}/static/vendor/maplibre-gl/maplibre-gl.css">
<style>html, body, #map {{ margin: 0; width: 100%; height: 100%; }}</style></head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from "{service}/static/vendor/maplibre-gl/maplibre-gl.mjs";
window.XMT = {{ errors: [], done: null }};
const map = new maplibregl.Map({{
  container: "map",
  style: "{service}/styles/default",
  center: [{lon}, {lat}],
  zoom: {zoom},
  fadeDuration: 0,
  attributionControl: false,
  canvasContextAttributes: {{ preserveDrawingBuffer: true, failIfMajorPerformanceCaveat: false }},
}});
map.on("error", (e) => XMT.errors.push(String((e.error && e.error.message) || e)));
map.once("idle", async () => {{
  const features = map.queryRenderedFeatures();
  const projects = features.filter((f) => f.source === "projects");
  // the pixels: how many are not the background, and how many are in a status colour
  const canvas = map.getCanvas();
  const copy = document.createElement("canvas");
  copy.width = canvas.width; copy.height = canvas.height;
  const ctx = copy.getContext("2d");
  ctx.drawImage(canvas, 0, 0);
  const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
  const bg = [0xf4, 0xf3, 0xef];
  const statuses = {statuses};
  let painted = 0, inStatus = 0;
  for (let i = 0; i < data.length; i += 4) {{
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (Math.abs(r - bg[0]) + Math.abs(g - bg[1]) + Math.abs(b - bg[2]) > 12) painted++;
    if (statuses.some((c) => Math.abs(r - c[0]) + Math.abs(g - c[1]) + Math.abs(b - c[2]) < 10)) inStatus++;
  }}
  // a click away: the tile's feature id opens the whole feature
  let clicked = null;
  if (projects.length) {{
    const f = projects[0];
    const r = await fetch("{service}/collections/projects/items/" + f.id);
    const full = await r.json();
    const taskText = full.properties.task_text;
    clicked = {{ id: f.id, status: r.status, tileKeys: Object.keys(f.properties), taskText }};
  }}
  XMT.done = {{
    features: features.length,
    sources: [...new Set(features.map((f) => f.source))].sort(),
    projects: projects.length,
    projectStatuses: [...new Set(projects.map((f) => f.properties.derived_status))],
    painted, inStatus, pixels: data.length / 4, clicked,
  }};
}});
</script></body></html>
"""


def _rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the base class's signature
        pass


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static HTTP server on another loopback port: the origin of the map page."""
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.browser
def test_a_maplibre_page_on_another_origin_draws_the_styled_tiles(
    live_server: str, other_origin: tuple[str, Path]
) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs /usr/bin/chromium")
    from service.common.drawing import STATUS_COLORS

    origin, folder = other_origin
    assert urlsplit(origin).port != urlsplit(live_server).port  # another origin
    lon, lat, zoom = ZHUZHOU
    statuses = [_rgb(c) for c in STATUS_COLORS.values()]
    page_html = PAGE.format(service=live_server, lon=lon, lat=lat, zoom=zoom, statuses=statuses)
    (folder / "index.html").write_text(page_html, encoding="utf-8")

    with Browser(width=1000, height=750, offline=True, webgl=True) as browser:
        page = browser.new_page()
        page.goto(f"{origin}/index.html")
        done = page.wait_for("window.XMT && XMT.done", timeout=90)
        shot = page.screenshot(folder / "maplibre-cross-origin.png")
        print(f"\nscreenshot: {shot}\n{done}")
        assert page.evaluate("XMT.errors") == [] and page.console_errors == []
        requests = page.requests

    assert done["features"] > 0 and done["projects"] > 0
    assert {"districts", "projects", "roads", "streams"} <= set(done["sources"])
    assert done["painted"] > done["pixels"] * 0.2  # districts fill most of the view: not a blank canvas
    assert done["inStatus"] > 50  # projects drawn in their status colours
    assert done["projectStatuses"] and set(done["projectStatuses"]) <= {*STATUS_COLORS, None}
    clicked = done["clicked"]
    assert clicked["status"] == 200 and clicked["taskText"] and "task_text" not in clicked["tileKeys"]
    # tiles, the style, the TileJSON and MapLibre itself all came from xiangmap; nothing from elsewhere
    hosts = {urlsplit(u).netloc for u in requests if u.startswith("http")}
    assert hosts <= {urlsplit(live_server).netloc, urlsplit(origin).netloc}
    assert any("/tiles/WebMercatorQuad/" in u and u.startswith(live_server) for u in requests)
