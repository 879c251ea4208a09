"""A Zhuzhou plan of 2018 for the monthly sheet: four tasks of 石峰区人民政府 (one with a formula-like title),
one of 芦淞区人民政府, reports in March; an editor of 石峰区 and a coordinator who sign in with passwords.

Committed (the app reads on its own connections) and removed again afterwards.  Each test fills its own
months or tasks, so the tests do not depend on one another's order.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, text

from tests.progress.world import post_reports
from tests.web.conftest import WebUser, csrf_of, make_user
from tests.web.conftest import signed_in_browser as _browser

TAG = f"ms{os.getpid()}"
FORMULA_TITLE = '=HYPERLINK("http://x","y")'
# key: (number, title, lead units, responsible units, deadline)
TASKS = {
    "a": ("1", "推进石峰区老工业区搬迁改造", ["市发改委"], ["石峰区人民政府"], "2018-12-31"),
    "b": ("2", "建设清水塘生态新城道路", ["石峰区人民政府"], [], "2018-06-30"),
    "c": ("3", FORMULA_TITLE, ["市住建局"], ["石峰区人民政府"], None),
    "e": ("4", "完成霞湾港治理", ["市环保局"], ["石峰区人民政府"], "2018-12-31"),
    "d": ("5", "芦淞区服装市场升级", ["市商务局"], ["芦淞区人民政府"], "2018-12-31"),
}
OURS = ("a", "b", "c", "e")


@dataclass
class SheetWorld:
    plan: str
    ids: dict[str, int]
    editor: WebUser
    coordinator: WebUser
    units: dict[str, int]


@pytest.fixture(scope="module")
def sheet_world(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[SheetWorld]:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.units import usecases as units

    plan = f"{TAG}-plan"
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year, city, published) VALUES (:id, :t, 2018, '株洲市', '2018-03-31')"),
            {"id": plan, "t": f"月报测试计划{TAG}"},
        )
        for key, (number, title, leads, resp, deadline) in TASKS.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, section, number, title, task_text, lead_units,"
                    " responsible_units, category, deadline, year) VALUES (:key, :plan, '一、改革', :number, :title,"
                    " :title, :leads, :resp, '改革', :deadline, 2018) RETURNING id"
                ),
                {
                    "key": f"{plan}/{key}",
                    "plan": plan,
                    "number": number,
                    "title": title,
                    "leads": leads,
                    "resp": resp,
                    "deadline": deadline,
                },
            ).scalar_one()
    post_reports(client, auth, ids["a"], [{"period": "2018-03", "status": "推进中", "percent": 40}])
    post_reports(client, auth, ids["d"], [{"period": "2018-03", "status": "推进中", "percent": 20}])
    editor = make_user(f"{TAG}-shifeng", "editor")
    coordinator = make_user(f"{TAG}-coord", "coordinator")
    with session_scope() as session:
        units.link_plan_projects(session, [plan])
        unit_ids = {
            "shifeng": units.find_unit_id(session, "株洲市石峰区人民政府"),
            "luosong": units.find_unit_id(session, "株洲市芦淞区人民政府"),
        }
        units.assign_user(session, "test", editor.name, unit_ids["shifeng"])
    try:
        yield SheetWorld(plan, ids, editor, coordinator, unit_ids)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": plan})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


@pytest.fixture
def editor_browser(app: FastAPI, sheet_world: SheetWorld) -> Iterator[TestClient]:
    yield from _browser(app, sheet_world.editor)


@pytest.fixture
def coordinator_browser(app: FastAPI, sheet_world: SheetWorld) -> Iterator[TestClient]:
    yield from _browser(app, sheet_world.coordinator)


# --- helpers -------------------------------------------------------------------------------------------


def download(browser: TestClient, period: str, unit: int | None = None) -> Workbook:
    params = {"period": period} | ({"unit": str(unit)} if unit is not None else {})
    r = browser.get("/ledger/monthly-sheet.xlsx", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return load_workbook(io.BytesIO(r.content))


def header(book: Workbook) -> dict[str, int]:
    """Header text -> column number (row 2)."""
    return {str(c.value): c.column for c in book.active[2] if c.value}


def row_of(book: Workbook, task_id: int) -> int:
    sheet = book.active
    return next(r for r in range(3, sheet.max_row + 1) if sheet.cell(r, 1).value == task_id)


def fill(book: Workbook, task_id: int, **values: Any) -> None:
    """Fill a task's row: status=, percent= (a value, or (value, number format)), investment=, note=, reason=."""
    sheet, cols, row = book.active, header(book), row_of(book, task_id)
    names = {"status": "本月状态", "percent": "完成比例", "investment": "累计完成投资（万元）", "note": "进展情况"}
    names["reason"] = "滞后原因"
    names["category"] = "滞后原因类别"
    for key, value in values.items():
        cell = sheet.cell(row, cols[names[key]])
        if isinstance(value, tuple):
            cell.value, cell.number_format = value
        else:
            cell.value = value
            if key == "percent":
                cell.number_format = "General"


def as_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_page(browser: TestClient, content: bytes, name: str = "月报.xlsx", *, token: bool = True):  # type: ignore[no-untyped-def]
    page = browser.get("/ledger/monthly-sheet")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text)} if token else {}
    files = {"file": (name, content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    return browser.post("/ledger/monthly-sheet", data=data, files=files)


def commit_page(browser: TestClient, preview_html: str, *, token: bool = True):  # type: ignore[no-untyped-def]
    import re

    found = re.search(r'action="(/ledger/monthly-sheet/[0-9a-f-]+/commit)"', preview_html)
    assert found, "no commit form in the preview"
    data = {"csrf_token": csrf_of(preview_html)} if token else {}
    return browser.post(found.group(1), data=data)


def reports(engine: Engine, project_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT to_char(period, 'YYYY-MM'), status, percent::float, note, reported_by"
                    " FROM progress_reports WHERE project_id = :p ORDER BY period, id"
                ),
                {"p": project_id},
            )
        ]
