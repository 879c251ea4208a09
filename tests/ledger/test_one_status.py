"""One derived status everywhere: /stats, the OGC ``projects`` collection (today) and the ledger count the same
tasks under the same statuses, for a plan whose tasks are in each of the five; ``status`` in the collection
stays the reported one."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, text

from service.database import session_scope
from service.ledger import usecases
from service.ledger.filters import LedgerFilters
from tests.progress.world import post_reports

PLAN = f"one-status-{os.getpid()}"
THIS_MONTH = date.today().strftime("%Y-%m")
# key: reported status and percent this month (None: no report), deadline
TASKS = {
    "quiet": (None, "2099-12-31"),  # no report, no milestone: 正常推进
    "going": (("推进中", 5), "2099-12-31"),
    "paused": (("暂停", 5), "2099-12-31"),
    "done": (("已完成", 100), "2099-12-31"),
    "late": (("推进中", 5), f"{date.today().year - 1}-12-31"),  # deadline passed: behind though reported 推进中
    "said-late": (("滞后", 5), "2099-12-31"),
}
EXPECTED = {"正常推进": 2, "暂停": 1, "已完成": 1, "已开工进展缓慢": 2}


@pytest.fixture(scope="module")
def plan(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    ids = {}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year) VALUES (:id, :id, :year)"),
            {"id": PLAN, "year": date.today().year},
        )
        for key, (_, deadline) in TASKS.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, deadline) VALUES (:k, :p, :k, :k, :d)"
                    " RETURNING id"
                ),
                {"k": f"{PLAN}/{key}", "p": PLAN, "d": deadline},
            ).scalar_one()
    for key, (report, _) in TASKS.items():
        if report is not None:
            post_reports(client, auth, ids[key], [{"period": THIS_MONTH, "status": report[0], "percent": report[1]}])
    try:
        yield ids
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": PLAN})


def test_stats_ogc_and_ledger_agree(client, auth, plan: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    stats = client.get(
        "/stats", params={"by": "plan", "plan": PLAN, "as_of": date.today().isoformat()}, headers=auth["viewer"]
    )
    assert stats.status_code == 200, stats.text
    (group,) = stats.json()["groups"]
    from_stats = {s: n for s, n in group["by_status"].items() if n}

    items = client.get("/collections/projects/items", params={"plan_id": PLAN, "limit": 100}, headers=auth["viewer"])
    assert items.status_code == 200, items.text
    features = {f["properties"]["key"].split("/")[-1]: f["properties"] for f in items.json()["features"]}
    from_ogc = dict(Counter(p["derived_status"] for p in features.values()))

    with session_scope() as session:
        rows = usecases.ledger_rows(session, LedgerFilters(plan=PLAN), date.today())
    from_ledger = dict(Counter(r["status"] for r in rows))

    assert from_stats == from_ogc == from_ledger == EXPECTED
    # the reported status is kept beside the derived one, named so
    assert features["late"]["status"] == "推进中" and features["late"]["derived_status"] == "已开工进展缓慢"
    assert features["late"]["overdue"] is True and features["late"]["delay_reason"] == "deadline_passed"
    assert features["quiet"]["status"] is None and features["quiet"]["derived_status"] == "正常推进"
    assert features["said-late"]["delay_reason"] == "reported" and features["said-late"]["overdue"] is False
    delayed = client.get(
        "/collections/projects/items",
        params={"plan_id": PLAN, "derived_status": "已开工进展缓慢"},
        headers=auth["viewer"],
    ).json()
    assert sorted(f["properties"]["key"].split("/")[-1] for f in delayed["features"]) == ["late", "said-late"]


def test_the_style_colours_by_derived_status(client, auth) -> None:  # type: ignore[no-untyped-def]
    (first, *_) = client.get("/styles", headers=auth["viewer"]).json()["styles"]
    style = client.get(f"/styles/{first['id']}", headers=auth["viewer"])
    assert style.status_code == 200, style.text
    assert '["get","derived_status"]' in style.text.replace(" ", "")
