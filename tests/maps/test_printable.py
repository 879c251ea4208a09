"""/maps/progress.png and .pdf: right paper size, a real image / PDF, Chinese text embedded, bad input is 400."""

from __future__ import annotations

import io

import pytest
from PIL import Image


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
