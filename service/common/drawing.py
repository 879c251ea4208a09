"""The drawing kit: what every static map of xiangmap (the wall map, the screening report figures, anything
later) draws the same way, defined once: the CJK font, the scale bar, the north arrow, the legend, and the
status and verdict colours (also served to the web maps' JavaScript, so a browser map and a printed one agree).

The font is found as a FILE (fc-match, then the Debian fonts-noto-cjk paths) and registered with matplotlib's
``fontManager.addfont``: asking for the family by name goes through matplotlib's font cache, which may have
been built before the font was installed (a container image, a developer's old ~/.cache/matplotlib) and then
draws every Chinese character as a missing-glyph box.
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle

log = logging.getLogger(__name__)

CJK_FAMILY = "Noto Sans CJK SC"
# Debian / Ubuntu fonts-noto-cjk; fc-match is asked first, these are where the package puts them
KNOWN_CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)

# A task's schedule class (service.common.derived_status), the same on the wall map, the web maps and the tiles.
STATUS_COLORS = {
    "正常推进": "#1f78b4",
    "已开工进展缓慢": "#ff7f00",
    "应开工未开工": "#e31a1c",
    "已完成": "#33a02c",
    "暂停": "#9e9e9e",
}
# A screening verdict (service.screening.rules); "outside" is a zone near the site but not touched.
VERDICT_COLOURS = {
    "prohibited": "#d7301f",
    "needs_approval": "#fc8d59",
    "allowed": "#41ab5d",
    "not_applicable": "#6baed6",  # inside a zone, but the task builds nothing (issue 18)
    "outside": "#969696",
}
# Zones told apart on a screening figure (ColorBrewer Dark2).
ZONE_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def web_colours() -> dict[str, list[list[str]]]:
    """The colours the web maps' JavaScript reads from the page, so it keeps no copy of its own.

    As [name, colour] pairs, not objects: the page config goes through Jinja's ``tojson``, which sorts an
    object's keys, and the legend lists the statuses in this order.
    """
    return {"status": [list(p) for p in STATUS_COLORS.items()], "verdict": [list(p) for p in VERDICT_COLOURS.items()]}


def _fc_match(pattern: str) -> Path | None:
    """The file fontconfig picks for ``pattern``, if it is a Noto Sans CJK face (fc-match always answers
    with something, DejaVu when the CJK fonts are missing)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run(
            [fc_match, "-f", "%{family}\t%{file}", pattern], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    family, _, file = out.partition("\t")
    return Path(file) if "Noto Sans CJK" in family and file else None


def cjk_font_files() -> list[Path]:
    """The Noto Sans CJK files on this machine (regular and bold), fontconfig's choice first."""
    found: list[Path] = []
    for candidate in (_fc_match(f"{CJK_FAMILY}"), _fc_match(f"{CJK_FAMILY}:bold"), *map(Path, KNOWN_CJK_FILES)):
        if candidate is not None and candidate.is_file() and candidate not in found:
            found.append(candidate)
    return found


@lru_cache
def use_cjk_font() -> str:
    """Register the CJK font files with matplotlib once and make them the default; returns the family.

    Call it before the figure's axes exist: their labels take the font current at creation.  Without the
    font (fonts-noto-cjk not installed) the drawing still works, in DejaVu Sans, and the log says why.
    """
    files = cjk_font_files()
    for path in files:
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError) as exc:
            log.warning("cannot load the CJK font %s: %s", path, exc)
    if not files:
        log.warning("no Noto Sans CJK font found (install fonts-noto-cjk): Chinese text will not render")
    matplotlib.rcParams["font.family"] = [CJK_FAMILY, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["pdf.fonttype"] = 42  # TrueType embedded: the PDF prints its Chinese anywhere
    return CJK_FAMILY


def nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) near a fifth of ``span_m``."""
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target))
    return max(step * power for step in (1, 2, 5) if step * power <= target)


def scale_bar(
    ax: Axes,
    extent: tuple[float, float, float, float],
    *,
    metres_per_unit: float = 1.0,
    style: str = "checkered",
) -> float:
    """A scale bar of a round length about a fifth of the width; returns that length in metres.

    ``extent`` is (x0, y0, x1, y1) in the axes' units, ``metres_per_unit`` what one unit is along x (1 in a
    metric CRS, ~111 km·cos(lat) in degrees).  ``checkered``: the wall map's bar, four black and white
    segments in the lower left, labelled 米 / 千米; ``line``: a report figure's plain bar in the lower right,
    labelled m / km.
    """
    x0, y0, x1, y1 = extent
    length_m = nice_length((x1 - x0) * metres_per_unit)
    length = length_m / metres_per_unit
    if style == "checkered":
        bx, by, bh = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05, (y1 - y0) * 0.008
        for i in range(4):
            ax.add_patch(
                Rectangle(
                    (bx + i * length / 4, by),
                    length / 4,
                    bh,
                    facecolor="black" if i % 2 == 0 else "white",
                    edgecolor="black",
                    linewidth=0.6,
                    zorder=20,
                )
            )
        label = f"{length_m / 1000:g} 千米" if length_m >= 1000 else f"{length_m:g} 米"
        ax.text(bx, by + bh * 1.6, "0", fontsize=8, ha="center", zorder=20)
        ax.text(bx + length, by + bh * 1.6, label, fontsize=8, ha="center", zorder=20)
    elif style == "line":
        right, bottom = x1 - (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.05
        ax.plot([right - length, right], [bottom, bottom], color="black", linewidth=3, solid_capstyle="butt")
        label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
        ax.annotate(
            label,
            xy=(right - length / 2, bottom),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    else:
        raise ValueError(f"no scale bar style {style!r}")
    return length_m


def north_arrow(ax: Axes, at: tuple[float, float] = (0.95, 0.95)) -> None:
    """An arrow pointing up with 北 / N over it, at ``at`` in axes fraction (the map is north-up)."""
    x, y = at
    ax.annotate(
        "",
        xy=(x, y),
        xytext=(x, y - 0.09),
        xycoords="axes fraction",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 12, "headlength": 12},
        zorder=20,
    )
    ax.text(x, y + 0.01, "北\nN", transform=ax.transAxes, ha="center", va="bottom", fontsize=10, fontweight="bold")


def legend(ax: Axes, handles: Sequence[Artist], *, stack: bool = False, **options: Any) -> Legend:
    """A frameless legend of ``handles``; ``stack`` keeps it when another legend is added to the same axes
    (matplotlib keeps only the last ``ax.legend``), so a legend panel can hold several titled groups."""
    drawn = ax.legend(handles=list(handles), **({"frameon": False} | options))
    if stack:
        ax.add_artist(drawn)
    return drawn
