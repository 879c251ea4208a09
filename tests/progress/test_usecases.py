"""service.progress.usecases as the other callers see it: the shared filters, and removing the demonstration history.

The filters are plain functions FastAPI reads as query parameters (no FastAPI import below the routes),
so their bounds and messages must still reach the HTTP answer; the demonstration removal moved out of
the CLI and must still write its audit entry in the same transaction as the delete.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.progress import usecases


@pytest.fixture
def session(rolled_back_session: Session) -> Session:
    return rolled_back_session


def test_the_filter_bounds_reach_the_http_answer(client) -> None:  # type: ignore[no-untyped-def]
    too_early = client.get("/stats", params={"by": "plan", "year": 1800})
    assert too_early.status_code == 400 and too_early.json()["errors"][0]["name"] == "year"
    refused = client.get("/stats", params={"by": "plan", "status": "bogus"})
    assert refused.status_code == 400 and "bogus" in refused.json()["detail"]
    parameters = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/stats"]["get"]["parameters"]}
    # OpenAPI 3.0 (service/openapi30.py): an optional value is nullable, not anyOf [..., null]
    assert parameters["year"]["in"] == "query" and parameters["year"]["schema"]["maximum"] == 2100
    assert parameters["lead_unit"]["description"] == "a lead unit (牵头单位)"


def test_the_filters_called_without_http() -> None:
    assert usecases.project_filter(status="not_started", year=2018) == usecases.ProjectFilter(
        status="应开工未开工", year=2018
    )
    assert usecases.parse_as_of("2018-02").isoformat() == "2018-02-28"
    with pytest.raises(Problem) as refused:
        usecases.parse_as_of("soon")
    assert refused.value.status == 400 and refused.value.extra["parameter"] == "as_of"


def test_stats_names_the_groupings(session: Session) -> None:
    with pytest.raises(Problem, match="district, category, lead_unit, plan"):
        usecases.stats(session, "colour", usecases.parse_as_of("2018-06"))


def test_removing_the_demonstration_history_is_audited(session: Session) -> None:
    demo = session.execute(text("SELECT count(*) FROM progress_reports WHERE demo")).scalar_one()
    assert demo > 0, "setup loads the demonstration history"
    assert usecases.remove_demo_reports(session, "test") == demo
    assert session.execute(text("SELECT count(*) FROM progress_reports WHERE demo")).scalar_one() == 0
    entry = session.execute(
        text("SELECT actor, after FROM audit_log WHERE entity = 'demo_progress' AND action = 'delete'")
    ).one()
    assert tuple(entry) == ("test", {"removed": demo})
