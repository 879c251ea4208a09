"""Run QGIS's own data providers (Debian ``python3-qgis``) headless in a child process against the live server.

QGIS is Debian's, for Debian's Python (/usr/bin/python3), not the project's venv; it runs in a child
process with ``QT_QPA_PLATFORM=offscreen`` and a throwaway profile, as GDAL does in gdal_client.py.
``make test`` installs the package where it can (scripts/bootstrap.sh); elsewhere these tests are
skipped with the reason.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"

# One job: {"kind": "vector", "provider": "OAPIF"|"ogr"|..., "uri": ..., "fields": [...]}
#       or {"kind": "vectortile", "uri": ..., "extent": [xmin, ymin, xmax, ymax] in EPSG:3857, "style": bool}
RUNNER = r"""
import json, os, sys
from qgis.core import (QgsApplication, QgsVectorLayer, QgsVectorTileLayer, QgsWkbTypes, QgsMapSettings,
                       QgsMapRendererSequentialJob, QgsRectangle, QgsCoordinateReferenceSystem, QgsFeatureRequest)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

app = QgsApplication([], False)
app.initQgis()
jobs = json.load(open(sys.argv[1]))
results = []


def vector(job):
    layer = QgsVectorLayer(job["uri"], "layer", job["provider"])
    out = {"valid": layer.isValid(), "error": layer.error().summary() if not layer.isValid() else ""}
    if not layer.isValid():
        return out
    out["wkb_type"] = QgsWkbTypes.displayString(layer.wkbType())
    out["crs"] = layer.crs().authid()
    out["fields"] = [f.name() for f in layer.fields()]
    out["feature_count"] = layer.featureCount()
    features = []
    for feature in layer.getFeatures(QgsFeatureRequest()):
        geometry = feature.geometry()
        features.append({
            "fid": feature.id(),
            "attributes": {name: feature[name] if not hasattr(feature[name], "isNull") or not feature[name].isNull()
                           else None for name in job.get("fields", []) if name in out["fields"]},
            "wkt": geometry.asWkt(7) if not geometry.isNull() else None,
        })
    out["features"] = features
    return out


def vectortile(job):
    layer = QgsVectorTileLayer(job["uri"], "tiles")
    out = {"valid": layer.isValid(), "error": layer.error().summary() if not layer.isValid() else ""}
    if not layer.isValid():
        return out
    if job.get("style"):
        for _attempt in range(3):  # QGIS fetches the style itself; a first fetch right after start may time out
            message, ok = layer.loadDefaultStyle()
            if ok:
                break
        out["style_loaded"] = bool(ok)
        out["style_message"] = message
    out["source_zoom"] = [layer.sourceMinZoom(), layer.sourceMaxZoom()]
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(QgsRectangle(*job["extent"]))
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(255, 255, 255))
    render = QgsMapRendererSequentialJob(settings)
    render.start()
    render.waitForFinished()
    image = render.renderedImage()
    background = int(job.get("background", "#ffffff").lstrip("#"), 16)
    wanted = {name: int(name.lstrip("#"), 16) for name in job.get("count_colours", [])}
    drawn, colours, hits = 0, set(), {name: 0 for name in wanted}
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixel(x, y) & 0xFFFFFF
            if pixel not in (0xFFFFFF, background):
                drawn += 1
                colours.add(pixel)
            for name, value in wanted.items():
                if all(abs(((pixel >> s) & 255) - ((value >> s) & 255)) <= 12 for s in (0, 8, 16)):
                    hits[name] += 1
    out["drawn_pixels"] = drawn
    out["colours"] = len(colours)
    out["colour_hits"] = hits
    if job.get("png"):
        image.save(job["png"])
    return out


for job in jobs:
    try:
        results.append(vector(job) if job["kind"] == "vector" else vectortile(job))
    except Exception as error:  # reported to the test, which fails with it
        results.append({"valid": False, "error": f"{type(error).__name__}: {error}"})
with open(sys.argv[2], "w") as handle:
    json.dump(results, handle, ensure_ascii=False)
# QGIS 3.22 crashes tearing down layers at interpreter exit: the results are written, leave at once
os._exit(0)
"""


def qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    return done.returncode == 0


requires_qgis = pytest.mark.skipif(
    not qgis_available(),
    reason="QGIS is not installed (Debian: apt-get install python3-qgis; make test installs it when run as root)",
)


def qgis_run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each job through QGIS in one child process; the results in order."""
    with tempfile.TemporaryDirectory() as folder:
        jobs_file, results_file = Path(folder) / "jobs.json", Path(folder) / "results.json"
        jobs_file.write_text(json.dumps(jobs, ensure_ascii=False), encoding="utf-8")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": folder,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": folder,
            "LANG": "C.UTF-8",
            "GDAL_HTTP_TIMEOUT": "60",
            "NO_PROXY": "*",
        }
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", RUNNER, str(jobs_file), str(results_file)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=folder,
        )
        if not results_file.exists():
            raise AssertionError(f"QGIS failed (exit {done.returncode}): {done.stderr[-3000:]}")
        results: list[dict[str, Any]] = json.loads(results_file.read_text(encoding="utf-8"))
        for result in results:
            result["stderr"] = done.stderr[-3000:]
        return results
