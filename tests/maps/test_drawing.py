"""The drawing kit (service/common/drawing.py): the CJK font is registered by FILE, so Chinese text renders in
Noto Sans CJK even when matplotlib's font cache was built without it; the web map reads the kit's colours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from service.common import drawing
from service.settings import PROJECT_ROOT

# Build matplotlib's font cache in an empty MPLCONFIGDIR, then drop the CJK fonts from it: the cache of a
# machine (or image layer) where matplotlib ran before fonts-noto-cjk was installed.
STALE_CACHE = """
import os
import matplotlib
from matplotlib import font_manager
fm = font_manager.fontManager
fm.ttflist = [f for f in fm.ttflist if "CJK" not in f.name]
font_manager.json_dump(fm, os.path.join(matplotlib.get_cachedir(), f"fontlist-v{fm.__version__}.json"))
"""

DRAW = """
import io, json, warnings
from matplotlib import font_manager
from matplotlib.figure import Figure

cached = sorted({f.fname for f in font_manager.fontManager.ttflist if "CJK" in f.name})
added = []
original = font_manager.fontManager.addfont
font_manager.fontManager.addfont = lambda path: (added.append(str(path)), original(path))[1]

from service.common.drawing import cjk_font_files, use_cjk_font

family = use_cjk_font()
fig = Figure(figsize=(3, 2))
ax = fig.add_subplot()
ax.set_title("长株潭两型社会 项目进展")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = io.BytesIO()
    fig.savefig(out, format="pdf")
print(json.dumps({
    "cached_before": cached,
    "added": added,
    "files": [str(p) for p in cjk_font_files()],
    "title_font": font_manager.findfont(ax.title.get_fontproperties(), fallback_to_default=False),
    "family": family,
    "embedded": b"NotoSansCJK" in out.getvalue(),
    "warnings": [str(w.message) for w in caught],
}))
"""


def _python(code: str, mplconfigdir: Path) -> str:
    env = os.environ | {"MPLCONFIGDIR": str(mplconfigdir), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not drawing.cjk_font_files():
        pytest.skip("fonts-noto-cjk is not installed on this machine")
    cache = tmp_path_factory.mktemp("mplconfig")
    _python(STALE_CACHE, cache)
    return json.loads(_python(DRAW, cache).strip().splitlines()[-1])


def test_the_font_is_registered_by_file_over_a_cache_without_it(drawn: dict) -> None:
    assert drawn["cached_before"] == []  # the stale cache really knew no CJK font
    assert drawn["files"] and set(drawn["added"]) == set(drawn["files"])
    assert all(Path(f).is_file() and "NotoSansCJK" in Path(f).name for f in drawn["files"])


def test_chinese_text_renders_in_the_cjk_file(drawn: dict) -> None:
    assert drawn["family"] == "Noto Sans CJK SC"
    assert drawn["title_font"] in drawn["files"]
    assert drawn["embedded"]
    assert not [w for w in drawn["warnings"] if "missing" in w.lower() or "findfont" in w.lower()]


def test_the_web_map_reads_the_kits_colours(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/maps/progress").text
    pairs = [list(p) for p in drawing.STATUS_COLORS.items()]  # in the legend's order
    assert json.dumps(pairs).replace(" ", "") in page.replace(" ", "")
    script = (PROJECT_ROOT / "service" / "templates" / "maps" / "progress_map.js").read_text(encoding="utf-8")
    assert not any(colour in script for colour in drawing.STATUS_COLORS.values())  # no second copy
