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

from service.common.drawing import VERDICT_COLOURS, use_cjk_font
from service.models import Screening
from service.screening.report_facts import DISCLAIMER, VERDICT_ZH, site_facts, site_name, zone_citations
from service.screening.report_figures import draw_screening

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


def _wrapped(label: str, value: str, width: int) -> list[str]:
    lines = textwrap.wrap(f"{label}：{value}", width) or [f"{label}："]
    return [lines[0], *("    " + line for line in lines[1:])]


def _citation_lines(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for c in zone_citations(result):
        where = (
            f"重叠 {c['overlap_m2']:.0f} m² ({c['overlap_pct']:.1f}%)"
            if c["inside"]
            else f"距离 {c['distance_m']:.0f} m"
        )
        lines.append(f"■ {c['layer']} · {c['zone']}：{c['verdict_zh']}（{where}）")
        lines += _wrapped("  法规", c["regulation"] + (f"（{c['in_force']} 起施行）" if c["in_force"] else ""), 62)
        lines += _wrapped("  条款", (f"{c['article']} " if c["article"] else "") + c["clause"], 62)
        if c["by"]:
            lines += _wrapped("  审批机关", c["by"], 62)
    return lines or ["该场地不在任何保护区内，也不在缓冲距离内。"]


def _site_page(screening: Screening) -> Figure:
    """One site on one A4 page: what was screened and how, its map with a legend, every zone's citation and
    the disclaimer (the same facts as the HTML report, service.screening.report_facts)."""
    use_cjk_font()  # before the axes exist: their labels take the font current at creation
    fig = Figure(figsize=A4)
    result = screening.result
    verdict = result["verdict"]
    fig.text(0.08, 0.975, f"筛查 #{screening.id} · {site_name(result)}", fontsize=12, va="top", fontweight="bold")
    fig.text(
        0.08,
        0.952,
        f"结论：{VERDICT_ZH.get(verdict, verdict)}",
        fontsize=12,
        va="top",
        color=VERDICT_COLOURS.get(verdict, "#333"),
        fontweight="bold",
    )
    y = 0.925
    for label, value in site_facts(screening):
        if label in ("场地名称", "结论"):
            continue
        for line in _wrapped(label, value, 70):
            fig.text(0.08, y, line, fontsize=7.5, va="top")
            y -= 0.0135
    top = y - 0.01
    ax = fig.add_axes((0.12, top - 0.36, 0.76, 0.34))
    draw_screening(ax, result)
    y = top - 0.36 - 0.075  # below the map's legend
    for line in _citation_lines(result)[:24]:
        fig.text(0.08, y, line, fontsize=7.5, va="top")
        y -= 0.0135
    chinese, english = DISCLAIMER.split(" / ", 1)
    for i, line in enumerate([*textwrap.wrap(chinese, 60), *textwrap.wrap(english, 130)]):
        fig.text(0.08, 0.06 - i * 0.011, line, fontsize=6.5, va="top", color="#444")
    return fig


def screenings_pdf(screenings: Sequence[Screening], *, title: str) -> bytes:
    use_cjk_font()
    out = io.BytesIO()
    with PdfPages(out) as pdf:
        for page in _summary_pages(screenings, title):
            pdf.savefig(page)
        for s in screenings:
            if s.result.get("flagged") or len(screenings) == 1:
                pdf.savefig(_site_page(s))
    return out.getvalue()
