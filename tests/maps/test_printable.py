"""/maps/progress.png and .pdf: right paper size, a real image / PDF, Chinese text embedded, bad input is 400."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from service.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("paper", "orientation", "size"),
    [("A4", "landscape", (1169, 827)), ("A3", "portrait", (1169, 1654))],
)
def test_png_has_the_paper_size(client, paper: str, orientation: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    r = client.get(
        "/maps/progress.png",
        params={"paper": paper, "orientation": orientation, "dpi": 100, "plan": "zhuzhou-2018", "as_of": "2018-09"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == pytest.approx(size, abs=2)
    # not a blank page: many distinct colours (status colours, layers, text)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50


def test_pdf_embeds_a_cjk_font(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/progress.pdf", params={"paper": "A4", "title": "测试挂图"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"NotoSansCJK" in r.content  # the CJK font is embedded, so 中文 prints anywhere
    assert "attachment" not in r.headers["content-disposition"]


@pytest.mark.parametrize(
    ("path", "params", "status", "name"),
    [
        ("/maps/progress.png", {"paper": "B5"}, 400, "paper"),
        ("/maps/progress.png", {"orientation": "sideways"}, 400, "orientation"),
        ("/maps/progress.png", {"dpi": 5000}, 400, None),
        ("/maps/progress.gif", {}, 404, "format"),
        ("/maps/progress.png", {"bbox": "113.2,27.8,113.1,27.9"}, 400, "bbox"),
        ("/maps/progress.png", {"bbox": "north"}, 400, "bbox"),
    ],
)
def test_bad_print_requests(client, path, params, status, name) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    if name:
        assert r.json()["parameter"] == name


# --- the wall map (issue 17): cold font cache, task table, city frame, title from the plan, A0-A4 ---------

COLD_RENDER = """
import json, sys, warnings
from datetime import date
from matplotlib import font_manager
from service.database import session_scope
from service.maps import usecases
from service.maps.printable import PrintRequest
from service.progress.usecases import ProjectFilter

req = PrintRequest(fmt="pdf", paper="A3", orientation="landscape", dpi=100, title=None, as_of=date(2018, 12, 31),
                   filters=ProjectFilter(plan="zhuzhou-2018"), threshold_pct=20.0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with session_scope() as session:
        body, _ = usecases.wall_map(session, req)
open(sys.argv[1], "wb").write(body)
print(json.dumps({
    "resolved": font_manager.findfont(font_manager.FontProperties(family="Noto Sans CJK SC"),
                                      fallback_to_default=False),
    "warnings": [str(w.message) for w in caught],
}))
"""


@pytest.fixture(scope="module")
def cold_pdf(client, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[no-untyped-def]
    """The zhuzhou-2018 A3 wall map drawn in a child process whose MPLCONFIGDIR is an empty folder."""
    from service.common.drawing import cjk_font_files

    if not cjk_font_files():
        pytest.skip("fonts-noto-cjk is not installed on this machine")
    if not shutil.which("pdffonts") or not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed (scripts/bootstrap.sh test installs it)")
    folder = tmp_path_factory.mktemp("wallmap")
    cache = folder / "mplconfig"
    cache.mkdir()
    pdf = folder / "wallmap.pdf"
    env = os.environ | {"MPLCONFIGDIR": str(cache), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", COLD_RENDER, str(pdf)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), pdf


def test_cold_font_cache_draws_chinese_in_noto_cjk(cold_pdf: tuple[dict, Path]) -> None:
    report, pdf = cold_pdf
    assert "NotoSansCJK" in Path(report["resolved"]).name
    assert not [w for w in report["warnings"] if "Glyph" in w and "missing" in w], report["warnings"]
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    faces = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    assert faces and all("NotoSansCJK" in face for face in faces), fonts  # every text, embedded, in Noto CJK


def test_the_pdf_carries_the_task_table(cold_pdf: tuple[dict, Path]) -> None:
    _, pdf = cold_pdf
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "编号" in words and "牵头单位" in words and "进度" in words  # the table's header
    assert "市住建局" in words and "株洲市人民政府" in words  # lead units of the plan
    assert "株洲市2018年两型社会建设综合配套改革工作计划" in words  # the title comes from the plan
    # numbered rows: 91 tasks in the plan, the last on the continuation sheet
    numbers = {int(m) for m in re.findall(r"(?<![\d.,%-])(\d{1,3}) +[\u4e00-\u9fff]", words)}
    assert {1, 2, 30, 60, 91} <= numbers
    assert words.count("\f") >= 2  # the table continues on a second sheet
    assert "续表" in words


def _prepare(session, **kwargs):  # type: ignore[no-untyped-def]
    from service.maps import printable
    from service.progress import usecases as progress
    from service.progress.usecases import ProjectFilter

    req = printable.PrintRequest(
        fmt="pdf",
        paper=kwargs.pop("paper", "A3"),
        orientation="landscape",
        dpi=100,
        title=kwargs.pop("title", None),
        as_of=date(2018, 12, 31),
        filters=ProjectFilter(plan="zhuzhou-2018"),
        threshold_pct=20.0,
    )
    return printable.prepare(session, req, progress.state_query(req.as_of, req.threshold_pct, req.filters))


def test_the_frame_is_the_city_even_with_a_far_off_location(rolled_back_session) -> None:  # type: ignore[no-untyped-def]
    session = rolled_back_session
    session.execute(
        text(
            "INSERT INTO projects (key, plan_id, title, task_text, lead_units, precision, geom)"
            " VALUES ('zhuzhou-2018/test/far', 'zhuzhou-2018', '远方测试任务', '在北京的测试任务',"
            " ARRAY['测试单位'], 1, ST_SetSRID(ST_MakePoint(116.40, 39.90), 4326))"
        )
    )
    x0, y0, x1, y1 = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(ST_Transform(geom, 4547)) AS e FROM districts WHERE city = '株洲市') q"
        )
    ).one()
    wall, lay = _prepare(session)
    ex0, ey0, ex1, ey1 = wall.extent
    # centred on the city, tight on one side (padding 4 %), widened only to the frame's aspect on the other
    assert (ex0 + ex1) / 2 == pytest.approx((x0 + x1) / 2, abs=1) and (ey0 + ey1) / 2 == pytest.approx(
        (y0 + y1) / 2, abs=1
    )
    assert min((ex1 - ex0) / (x1 - x0), (ey1 - ey0) / (y1 - y0)) == pytest.approx(1.08, abs=0.01)
    assert max(ex1 - ex0, ey1 - ey0) < 300_000  # Beijing is 1 300 km away: it did not stretch the frame
    far = next(t for t in wall.tasks if t.title == "远方测试任务")
    assert far.place == "outside" and far.point is None  # listed in the table (图外), not drawn
    from service.maps.printable import sheets

    assert far in [t for sheet in sheets(wall, lay) for t in sheet]
    # the crowded urban core gets an enlargement, centred inside the city frame and far smaller than it
    assert wall.inset is not None
    ix0, iy0, ix1, iy1 = wall.inset
    assert ex0 < (ix0 + ix1) / 2 < ex1 and ey0 < (iy0 + iy1) / 2 < ey1
    assert (ix1 - ix0) * (iy1 - iy0) < 0.2 * (ex1 - ex0) * (ey1 - ey0)


def test_title_and_sources_come_from_the_data(rolled_back_session) -> None:  # type: ignore[no-untyped-def]
    session = rolled_back_session
    session.execute(text("UPDATE plans SET title = '测试改名计划', year = 2019 WHERE id = 'zhuzhou-2018'"))
    session.execute(text("UPDATE layer_catalogue SET source = '测试来源 2026' WHERE id = 'streams'"))
    wall, _ = _prepare(session)
    assert wall.title.startswith("测试改名计划") and "2018年两型" not in wall.title
    assert "测试改名计划（2019年，株洲市）" in wall.plan_line
    assert "河流水系：测试来源 2026" in wall.sources
    assert _prepare(session, title="自定义标题")[0].title == "自定义标题"


@pytest.mark.parametrize(
    ("size", "pixels"),
    [("A0", (3370, 2384)), ("A1", (2384, 1684)), ("A2", (1684, 1191)), ("A3", (1191, 842)), ("a4", (842, 595))],
)
def test_every_size_a0_to_a4(client, size: str, pixels: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/progress.png", params={"size": size, "dpi": 72, "plan": "zhuzhou-2018", "as_of": "2018-12"})
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == pytest.approx(pixels, abs=2)  # landscape


def test_continuation_sheet_as_png_and_past_the_last(client) -> None:  # type: ignore[no-untyped-def]
    params = {"size": "A3", "dpi": 72, "plan": "zhuzhou-2018", "as_of": "2018-12"}
    assert client.get("/maps/progress.png", params=params | {"page": 2}).status_code == 200
    r = client.get("/maps/progress.png", params=params | {"page": 9})
    assert r.status_code == 400 and r.json()["parameter"] == "page"


@pytest.mark.parametrize(
    ("params", "name"),
    [({"size": "A5"}, "size"), ({"size": "letter"}, "size"), ({"size": "A0", "dpi": 300}, "dpi")],
)
def test_bad_size_is_a_400(client, params: dict, name: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/progress.png", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == name
    assert "A0" in r.json()["detail"] or "dpi" in r.json()["detail"]
