"""PDF report (matplotlib, Noto Sans CJK embedded): a summary page, then one page per flagged site
with its map and the zones it touches."""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from service.common.drawing import use_cjk_font
from service.models import Screening
from service.screening.report_figures import draw_screening, screening_title, site_name
from service.screening.report_table import VERDICT_ZH

A4 = (8.27, 11.69)
SUMMARY_LINES = 42


def _summary_pages(screenings: Sequence[Screening], title: str) -> list[Figure]:
    use_cjk_font()
    counts = Counter(s.result["verdict"] for s in screenings)
    notes = {s.result.get("note") or s.params.get("note") for s in screenings} - {None}
    note = next(iter(notes)) if len(notes) == 1 else None  # one screening's note, or a batch's
    head = [
        f"{title} · 生态保护区筛查报告",
        f"生成 {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; 筛查 {len(screenings)} 项, "
        f"涉及保护区 {sum(1 for s in screenings if s.result.get('flagged'))} 项",
        "结论: " + ", ".join(f"{VERDICT_ZH[v]} {n}" for v, n in counts.items()),
        *([f"备注: {textwrap.shorten(' '.join(note.split()), 90, placeholder='…')}"] if note else []),
        "",
    ]
    lines = []
    for s in screenings:
        name = site_name(s.result)
        hits = [z["name"] for e in s.result["layers"] for z in e["zones"] if z["inside"]]
        label = f"项目{s.project_id}" if s.project_id else f"#{s.id}"
        where = textwrap.shorten("、".join(hits), 60, placeholder="…")
        lines.append(
            f"{label}  {VERDICT_ZH[s.result['verdict']]}  {textwrap.shorten(name, 30, placeholder='…')}  {where}"
        )
    pages = []
    chunk = head + lines
    while chunk:
        fig = Figure(figsize=A4)
        for i, line in enumerate(chunk[:SUMMARY_LINES]):
            fig.text(0.06, 0.95 - i * 0.021, line, fontsize=12 if i == 0 and not pages else 8.5, va="top")
        pages.append(fig)
        chunk = chunk[SUMMARY_LINES:]
    return pages


def _zone_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for entry in result["layers"]:
        for z in entry["zones"]:
            lines.append(
                f"{z['name']}" + (f" ({z['scheme']})" if z["scheme"] else "") + ": "
                f"重叠 {z['overlap_m2']:.0f} m² ({z['overlap_pct']:.1f}%), 距离 {z['distance_m']:.0f} m, "
                f"{VERDICT_ZH[z['verdict']]}" + (f", 审批: {z['needs_approval_by']}" if z["needs_approval_by"] else "")
            )
            lines += textwrap.wrap("依据: " + z["clause"], 58)
    return lines


def _site_page(screening: Screening) -> Figure:
    use_cjk_font()  # before the axes exist: their labels take the font current at creation
    fig = Figure(figsize=A4)
    ax = fig.add_axes((0.1, 0.47, 0.82, 0.46))
    draw_screening(ax, screening.result)
    fig.text(0.08, 0.97, screening_title(screening.result), fontsize=11, va="top")
    note = screening.result.get("note")
    if note:
        fig.text(
            0.08, 0.40, textwrap.shorten("备注: " + " ".join(note.split()), 110, placeholder="…"), fontsize=8, va="top"
        )
    for i, line in enumerate(_zone_lines(screening.result)[:18]):
        fig.text(0.08, 0.33 - i * 0.017, line, fontsize=8, va="top")
    return fig


def screenings_pdf(screenings: Sequence[Screening], *, title: str) -> bytes:
    use_cjk_font()
    out = io.BytesIO()
    with PdfPages(out) as pdf:
        for page in _summary_pages(screenings, title):
            pdf.savefig(page)
        for s in screenings:
            if s.result.get("flagged"):
                pdf.savefig(_site_page(s))
    return out.getvalue()
