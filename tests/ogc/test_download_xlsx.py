"""download.xlsx: every row, no cell over Excel's 32,767 characters (what does not fit is said), no
formula, a Chinese header row (issue #14 item 10)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.ogc.registry import collections
from tests.ogc.download_cases import PLAN, inserted

CELL_LIMIT = 32_767


@pytest.fixture(scope="module")
def download_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    with inserted(engine) as rows:
        yield rows


def _book(client: TestClient, collection_id: str, **params: str) -> tuple[Any, Any]:
    response = client.get(f"/collections/{collection_id}/download.xlsx", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
    return openpyxl.load_workbook(io.BytesIO(response.content)), response


def test_hard_rows_are_whole_or_said(client: TestClient, download_rows: dict[str, Any]) -> None:
    book, response = _book(client, "projects", plan_id=PLAN)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows())
    head = [c.value for c in rows[0]]
    assert head[:3] == ["编号 id", "键 key", "标题 title"]
    assert head[-4].startswith("经度 longitude") and head[-2].startswith("WKT (")
    by_key = {r[1].value: r for r in rows[1:]}
    assert sorted(by_key) == sorted(download_rows)
    for row in rows:
        assert all(len(str(c.value)) <= CELL_LIMIT for c in row if c.value is not None)
    formula = by_key["ogc-dl-point"][2]
    assert formula.value == '=HYPERLINK("http://x","y")' and formula.data_type == "s"  # text, never run
    point = by_key["ogc-dl-point"]
    assert (point[-4].value, point[-3].value) == (113.075, 27.868)  # lon / lat columns for a point
    assert point[-2].value == "POINT(113.075 27.868)"
    big = by_key["ogc-dl-big"]
    assert big[-2].value is None and big[head.index("任务内容 task_text")].value is None
    assert "WKT" in big[-1].value and "task_text" in big[-1].value and "32,767" in big[-1].value
    assert by_key["ogc-dl-collection"][-2].value.startswith("GEOMETRYCOLLECTION(POINT(113.05 27.87)")
    notes = [c.value for c in book["说明 notes"]["A"]]
    assert any("task_text" in n and "left empty" in n for n in notes)
    assert "task_text" in response.headers["X-Xiangmap-Notes"]


def test_projected_crs_is_named_in_the_header(client: TestClient, download_rows: dict[str, Any]) -> None:
    book, response = _book(client, "projects", plan_id=PLAN, crs="EPSG:4547")
    head = [c.value for c in next(book.worksheets[0].iter_rows())]
    assert head[-4] == "X 东坐标 easting (http://www.opengis.net/def/crs/EPSG/0/4547)"
    assert response.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4547>"


def test_every_collection_has_every_row(client: TestClient, engine: Engine, download_rows: dict[str, Any]) -> None:
    for collection_id, collection in sorted(collections(engine).items()):
        book, _ = _book(client, collection_id)
        with engine.connect() as conn:
            ids = conn.execute(text(f"SELECT t.id FROM {collection.source_sql} ORDER BY t.id")).scalars().all()
        rows = [r for sheet in book.worksheets[:-1] for r in sheet.iter_rows(min_row=2, values_only=True)]
        assert [r[0] for r in rows] == list(ids), collection_id
        assert all(len(str(v)) <= CELL_LIMIT for r in rows for v in r if v is not None)
