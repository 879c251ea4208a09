"""The batch screening of both bundled plans (issue 18): no policy task is prohibited, no remediation or heritage
task is industrial, and every category comes with the words that decided it.  Run on today's rules and on the
2018 ones (the 2010-2030 scheme), through the same use case as ``POST /screening/batch``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from service.database import new_session
from service.models import Screening
from service.screening import usecases

REMEDIATION_OR_HERITAGE = re.compile(r"修复|治理|遗址|遗产|文物")


@pytest.fixture(scope="module", params=["2018-06-01", "2026-06-01"])
def screened(request, engine: Engine, owner_engine: Engine) -> Iterator[list[Screening]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        ids = (
            conn.execute(text("SELECT id FROM projects WHERE plan_id IN (SELECT id FROM plans WHERE id NOT LIKE 't%')"))
            .scalars()
            .all()
        )
    if len(ids) < 100:
        pytest.skip("the bundled plans are not loaded")
    with new_session() as session:
        from datetime import date

        outcome = usecases.screen_batch(session, "test-bundled", date.fromisoformat(request.param), project_ids=ids)
        rows = list(outcome.screened)
        summary = outcome.summary()
    flagged_for_review = {s.project_id for s in rows if s.result["category"]["needs_review"]}
    assert set(summary["category_needs_review"]) == flagged_for_review  # the batch answer lists them for an inspector
    yield rows
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM screenings WHERE params->>'batch' = :b"), {"b": outcome.batch})


def test_no_policy_task_is_prohibited(screened: list[Screening]) -> None:
    policy = [s for s in screened if s.result["category"]["id"] == "non_construction"]
    assert len(policy) >= 30  # the plans are mostly reforms and institutions
    assert [s.result["project"]["title"] for s in policy if s.result["verdict"] == "prohibited"] == []
    inside = [s for s in policy if any(z["inside"] for e in s.result["layers"] for z in e["zones"])]
    assert all(s.result["verdict"] == "not_applicable" for s in inside)


def test_no_remediation_or_heritage_task_is_industrial(screened: list[Screening]) -> None:
    wrong = [
        s.result["project"]["title"]
        for s in screened
        if s.result["category"]["id"] == "industrial" and REMEDIATION_OR_HERITAGE.search(s.result["project"]["title"])
    ]
    assert wrong == []


def test_every_inferred_category_says_what_decided_it(screened: list[Screening]) -> None:
    for s in screened:
        category = s.result["category"]
        assert category["source"] in ("inferred", "inspector", "given"), category
        if category["source"] == "inferred" and category["id"] != "unspecified":
            assert category["words"] and 0 < category["confidence"] <= 1, category
        if category["id"] == "unspecified" or category["confidence"] < 0.6:
            assert category["needs_review"], category
