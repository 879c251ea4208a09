"""The notice as a printable A4 PDF (portrait), drawn the way the screening report and the wall map are:
matplotlib figures with the CJK font of the drawing kit (service.common.drawing), embedded as TrueType so the
Chinese prints and can be searched and copied.  A heading per unit with its counts, then its cases; a page
that runs over repeats the column header; every page has its number and the as-of date."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from service.case_reports.notices import NoticeFilters, UnitNotice
from service.common.drawing import use_cjk_font

A4 = (8.27, 11.69)  # inches, portrait
MARGIN_X = 0.55 / A4[0]
TOP = 1 - 0.6 / A4[1]
BOTTOM = 0.75 / A4[1]
LINE = 0.2 / A4[1]
FONT = 7.5
# (key, header, left edge in inches, most characters shown)
PDF_COLUMNS = (
    ("number", "案件编号", 0.55, 18),
    ("title", "问题", 1.85, 19),
    ("district", "区县", 4.05, 7),
    ("found_on", "发现日期", 4.85, 10),
    ("deadline", "整改期限", 5.6, 10),
    ("days_overdue", "逾期天数", 6.3, 6),
    ("severity", "程度", 6.85, 3),
    ("status", "状态", 7.25, 4),
)
CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class _Line:
    kind: str  # unit | header | case | gap
    values: dict[str, Any]


def _clip(value: Any, most: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _lines(units: Sequence[UnitNotice]) -> list[_Line]:
    lines: list[_Line] = []
    for unit in units:
        lines.append(_Line("unit", unit.summary()))
        lines.append(_Line("header", {}))
        lines += [_Line("case", case) for case in unit.cases]
        lines.append(_Line("gap", {}))
    return lines


def _pages(lines: list[_Line], first_page_rows: int, rows: int) -> list[list[_Line]]:
    pages: list[list[_Line]] = [[]]
    room = first_page_rows
    for line in lines:
        if line.kind == "gap" and not pages[-1]:
            continue
        # a unit heading is not left alone at the foot of a page
        needed = 3 if line.kind == "unit" else 1
        if room < needed:
            pages.append([])
            room = rows
            if line.kind == "case":
                pages[-1].append(_Line("header", {}))
                room -= 1
        pages[-1].append(line)
        room -= 1
    return pages


def _text(fig: Figure, x_in: float, y: float, value: str, **style: Any) -> None:
    fig.text(x_in / A4[0], y, value, fontsize=style.pop("fontsize", FONT), va="top", **style)


def _rule(fig: Figure, y: float, width: float = 0.6) -> None:
    fig.add_artist(Line2D([MARGIN_X, 1 - MARGIN_X], [y, y], linewidth=width, color="#555"))


def notice_pdf(units: Sequence[UnitNotice], filters: NoticeFilters, *, title: str, scope: str) -> bytes:
    use_cjk_font()
    total = sum(len(u.cases) for u in units)
    overdue = sum(u.overdue for u in units)
    severe = sum(u.severe for u in units)
    head = [
        (title, 15),
        (f"截至 {filters.as_of:%Y年%m月%d日}　{scope}", 9.5),
        (f"共 {len(units)} 个单位 {total} 件：逾期未整改 {overdue} 件，问题严重 {severe} 件", 9.5),
    ]
    usable = int((TOP - BOTTOM) / LINE)
    head_rows = 5
    lines = _lines(units)
    pages = _pages(lines, usable - head_rows, usable) if lines else [[]]
    generated = datetime.now(UTC).astimezone(CST).strftime("%Y-%m-%d %H:%M")
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": title, "Subject": f"截至 {filters.as_of.isoformat()}"}) as pdf:
        for number, page in enumerate(pages, start=1):
            fig = Figure(figsize=A4)
            y = TOP
            if number == 1:
                for i, (line, size) in enumerate(head):
                    _text(fig, 0.55, y, line, fontsize=size, fontweight="bold" if i == 0 else "normal")
                    y -= LINE * (1.7 if i == 0 else 1.15)
                y -= LINE * 0.9
                if not lines:
                    _text(fig, 0.55, y, "截至该日，没有逾期或问题严重的未销号案件。", fontsize=10)
            for line in page:
                if line.kind == "unit":
                    v = line.values
                    _text(
                        fig,
                        0.55,
                        y,
                        f"{v['unit']}　共 {v['count']} 件（逾期 {v['overdue']} 件，严重 {v['severe']} 件）",
                        fontsize=9.5,
                        fontweight="bold",
                    )
                    y -= LINE * 1.1
                elif line.kind == "header":
                    for _key, header, left, _most in PDF_COLUMNS:
                        _text(fig, left, y, header, fontweight="bold")
                    _rule(fig, y - LINE * 0.8)
                    y -= LINE
                elif line.kind == "case":
                    for key, _header, left, most in PDF_COLUMNS:
                        value = line.values.get(key)
                        if key == "days_overdue":
                            value = value or ""
                        style = {"color": "#b3261e"} if key == "days_overdue" and value else {}
                        _text(fig, left, y, _clip(value, most), **style)
                    y -= LINE
                else:
                    y -= LINE
            _rule(fig, BOTTOM - LINE * 0.3, 0.4)
            _text(fig, 0.55, BOTTOM - LINE * 0.5, f"xiangmap 案件台账 · 生成 {generated}（北京时间）", fontsize=7)
            _text(fig, 7.0, BOTTOM - LINE * 0.5, f"第 {number} 页 / 共 {len(pages)} 页", fontsize=7)
            pdf.savefig(fig)
    return out.getvalue()
