"""Screenshots of the web maps and the printable wall map for docs/, taken in headless Chromium with the
internet cut off (so they also prove the pages work offline).

    .venv/bin/python -m tests.browser.screenshots --base-url http://127.0.0.1:8000 --out docs/screenshots
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx

from tests.browser.headless import Browser

URBAN_ZHUZHOU = "112.98,27.76,113.22,27.95"  # urban Zhuzhou and Qingshuitang, where most 2018 tasks are
# everything the page fetches has arrived: projects, choropleth, filters, overlay layers (progress map);
# the project map has only its own data
SETTLED = (
    "window.XM && XM.state.drawn && (XM.state.reports !== undefined"
    " || (XM.state.facets && XM.state.choropleth !== undefined && !XM.state.overlaysLoading))"
)
SHOTS = (
    # file, path, what it shows
    ("maps-progress-2018-06.png", "/maps/progress?basemap=none&plan=zhuzhou-2018&as_of=2018-06", "mid-year"),
    ("maps-progress-2018-12.png", "/maps/progress?basemap=none&plan=zhuzhou-2018&as_of=2018-12", "year end"),
    ("maps-progress-delayed.png", "/maps/progress?basemap=none&status=滞后&as_of=2018-12", "delayed only"),
)


def linear_project_with_done_part(base_url: str) -> int | None:
    """A project whose latest report carries a built section, for the project map screenshot."""
    features = httpx.get(f"{base_url}/maps/data/projects.geojson", params={"as_of": "2018-12"}, timeout=60).json()
    for feature in features["features"]:
        if feature["geometry"]["type"] in ("LineString", "MultiLineString") and feature["properties"]["q"] in (1, 2, 5):
            parts = httpx.get(f"{base_url}/maps/data/projects/{feature['id']}/features.geojson", timeout=60).json()
            if any(f["properties"]["role"] == "done" for f in parts["features"]):
                return int(feature["id"])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    with Browser(width=1400, height=900, offline=True) as browser:
        shots = list(SHOTS)
        project = linear_project_with_done_part(base)
        if project is not None:
            shots.append(("maps-project.png", f"/maps/projects/{project}?basemap=none&as_of=2018-12", "one project"))
        for name, path, _ in shots:
            page = browser.new_page()
            page.goto(base + path)
            page.wait_for(SETTLED, timeout=60)
            time.sleep(0.5)  # let the last layers paint
            page.screenshot(args.out / name)
            print(f"{args.out / name}: {base + path}")
    for name, extra in (("wallmap-a3.png", {}), ("wallmap-a3-urban.png", {"bbox": URBAN_ZHUZHOU})):
        params = {"plan": "zhuzhou-2018", "as_of": "2018-12", "size": "A3", "dpi": "150", **extra}
        response = httpx.get(f"{base}/maps/progress.png", params=params, timeout=120)
        response.raise_for_status()
        (args.out / name).write_bytes(response.content)
        print(f"{args.out / name}: {response.url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
