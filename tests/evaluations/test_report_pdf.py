"""The evaluation report PDF (service.evaluations.report_pdf) from a synthetic snapshot: no database.

Checked on the PDF itself: it is one, the same bytes every time, the pages the layout promises, the Chinese
really in it (pdftotext, poppler-utils; skipped without it), nothing past the page's edge (pdftotext -bbox),
and a snapshot with nulls and absurdly long strings still drawn.
"""

from __future__ import annotations

import copy
import io
import math
import re
import shutil
import subprocess
import time
from typing import Any

import pytest
from PIL import Image, ImageDraw

from service.common.derived_status import BEHIND_CLASSES
from service.evaluations.report_pdf import MEDIA_TYPE, report_pdf
from service.evaluations.sample import sample_snapshot

POPPLER = shutil.which("pdftotext")


def _wall_map_png() -> bytes:
    """A small stand-in for the A3 landscape wall map: a frame, a blob, a transparent corner."""
    image = Image.new("RGBA", (420, 297), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 410, 287), outline=(0, 0, 0, 255), width=3)
    draw.ellipse((150, 90, 270, 200), fill=(31, 120, 180, 255))
    draw.rectangle((0, 0, 40, 40), fill=(0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return sample_snapshot(120)


@pytest.fixture(scope="module")
def png() -> bytes:
    return _wall_map_png()


@pytest.fixture(scope="module")
def pdf(snapshot: dict[str, Any], png: bytes) -> bytes:
    return report_pdf(snapshot, png)


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def _text(pdf: bytes, *args: str) -> str:
    if POPPLER is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        [POPPLER, *args, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True, timeout=120
    )
    return done.stdout.decode("utf-8")


def _behind(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in snapshot["tasks"] if t["status"] in BEHIND_CLASSES]


def test_is_a_pdf(pdf: bytes) -> None:
    assert MEDIA_TYPE == "application/pdf"
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_same_bytes_every_time(snapshot: dict[str, Any], png: bytes, pdf: bytes) -> None:
    assert report_pdf(copy.deepcopy(snapshot), png) == pdf
    # the creation date is the evaluation's (15:20 China time), not the clock's; no modification date
    assert b"/CreationDate (D:20261203072000Z)" in pdf
    assert b"/ModDate" not in pdf


def test_pages(snapshot: dict[str, Any], pdf: bytes) -> None:
    # cover, 总体情况, 分类统计, 考核得分 one page each for 120 tasks; the 42 behind tasks (two-line rows,
    # about 34 a page) two pages; the wall map one: 7
    assert len(_behind(snapshot)) == 42
    assert _page_count(pdf) == 7
    # every page's footer numbers it out of 7 (poppler drops the spaces of a small "第 1 / 7 页", sometimes)
    text = _text(pdf)
    assert [int(k) for k in re.findall(r"第\s*(\d+)\s*/\s*7\s*页", text)] == list(range(1, 8))


def test_chinese_text_is_in_it(snapshot: dict[str, Any], pdf: bytes) -> None:
    text = _text(pdf)
    for words in (
        "株洲市2018年两型社会建设工作要点 2026年第四季度评估",
        "计算依据",
        "geodata/rules/scoreboard.yaml",
        "总体情况",
        "已开工进展缓慢",
        "应开工未开工",
        "按责任单位",
        "株洲市自然资源和规划局",
        "长沙市2020年工作计划",
        "考核得分",
        "长株潭两型社会建设重点任务考核",
        "滞后及应开工未开工任务清单",
        "挂图作战",
    ):
        assert words in text, words
    assert "无挂图" not in text
    # every behind task is listed, by its number and the start of its title; no other task is
    behind = _behind(snapshot)
    assert f"共 {len(behind)} 项" in text
    for task in behind:
        assert f"第{task['no']}项任务" in text
    on_time = next(t for t in snapshot["tasks"] if t["status"] == "正常推进")
    assert f"第{on_time['no']}项任务" not in text


def test_without_a_wall_map(snapshot: dict[str, Any]) -> None:
    pdf = report_pdf(snapshot, None)
    assert "无挂图" in _text(pdf)
    assert _page_count(pdf) == 7
    unreadable = report_pdf(snapshot, b"\x89PNG\r\n\x1a\nnot really")
    assert "挂图无法读取" in _text(unreadable)


def _overflowing(pdf: bytes) -> list[str]:
    """The words drawn past the page's side margins (0.6 in; a little slack for rounding)."""
    page_width = 0.0
    problems = []
    for line in _text(pdf, "-bbox").splitlines():
        if page := re.search(r'<page width="([\d.]+)"', line):
            page_width = float(page.group(1))
        elif word := re.search(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)".*?>(.*)</word>', line):
            x_min, x_max = float(word.group(1)), float(word.group(2))
            if x_min < 0.6 * 72 - 2 or x_max > page_width - 0.6 * 72 + 2:
                problems.append(f"{word.group(3)} {x_min:.1f}-{x_max:.1f} of {page_width:.1f}")
    return problems


def test_nothing_past_the_edges(pdf: bytes) -> None:
    assert _overflowing(pdf) == []


def test_nulls_and_long_strings(snapshot: dict[str, Any], png: bytes) -> None:
    odd = copy.deepcopy(snapshot)
    long_unit = "株洲市某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某局"
    odd["evaluation"]["title"] = "一个非常长的评估标题" * 12
    odd["evaluation"]["created_at"] = None
    odd["evaluation"]["scope"] = None
    odd["basis"] = None
    odd["summary"]["by_status"] = None
    odd["summary"]["completion_rate"] = None
    odd["groups"]["unit"][0]["key"] = long_unit
    odd["groups"]["category"] = None
    odd["groups"]["plan"][0]["title"] = None
    odd["cases"] = {"by_unit": [{"unit": None}], "totals": None}
    odd["scoreboard"]["units"][0]["parts"][0] = {"part": "completion", "basis": "x" * 300}
    odd["scoreboard"]["units"][1]["parts"] = None
    odd["scoreboard"]["rule"] = None
    task = next(t for t in odd["tasks"] if t["status"] in BEHIND_CLASSES)
    task.update({key: None for key in task if key != "status"})
    task["title"] = "超长任务名称" * 40 + " with a VeryLongLatinWordThatHasNoPlaceToBreakAtAll 😀"
    task["lead_units"] = [long_unit, None, "株洲市发改委"]
    task["behind_reason"] = "原因\n换行\t制表" * 30
    odd["wall_map"] = None
    pdf = report_pdf(odd, png)
    assert report_pdf(copy.deepcopy(odd), png) == pdf
    text = _text(pdf)
    assert "定期评估报告" in text or "一个非常长的评估标题" in text
    assert "超长任务名称" in text and "…" in text
    assert _overflowing(pdf) == []
    # an empty snapshot is still a report, saying there is nothing
    empty = report_pdf({}, None)
    assert empty.startswith(b"%PDF-")
    assert "没有滞后或应开工未开工的任务" in _text(empty)


@pytest.mark.slow
def test_ten_thousand_tasks_in_time(png: bytes) -> None:
    big = sample_snapshot(10_000)
    started = time.perf_counter()
    pdf = report_pdf(big, png)
    seconds = time.perf_counter() - started
    assert seconds < 60, seconds
    behind = len(_behind(big))
    assert 3_000 < behind < 4_000
    # two-line rows, about 34 to a page
    assert _page_count(pdf) >= 5 + math.ceil(behind / 40)
    if POPPLER is not None:
        assert _text(pdf).count("项任务：") == behind


def test_ordinary_text_path_draws_the_same_report(
    snapshot: dict[str, Any], png: bytes, pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the fast path (another matplotlib, another backend) the strings go through draw_text: slower,
    laid out the same."""
    from service.evaluations import report_pdf as module

    monkeypatch.setattr(module, "_pdf_target", lambda renderer: None)
    ordinary = module.report_pdf(snapshot, png)
    assert _page_count(ordinary) == _page_count(pdf)
    text = _text(ordinary)
    assert "滞后及应开工未开工任务清单" in text
    assert all(f"第{t['no']}项任务" in text for t in _behind(snapshot))
    assert _overflowing(ordinary) == []
