"""The upload's use cases against PostGIS: the preview's counts and problems, all or nothing, the same file twice
changes nothing, an edited file updates in place; and the CLI importer's deadlines, no longer in today's year.

Each test runs in one transaction rolled back afterwards (``rolled_back_session``), so the use cases commit as
they do in production and leave the shared database as it was.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.plan_uploads import usecases
from tests.plan_uploads.office_sheet import BROKEN_PROBLEMS, CLEAN_TASKS, TITLE, write

ACTOR = "test-planner"
FORM = {"plan": "pu-test-zz", "year": "", "city": "", "title": ""}


def _upload(
    session: Session, path: Path, form: dict[str, str] | None = None, actor: str = ACTOR, role: str = "coordinator"
):  # type: ignore[no-untyped-def]
    return usecases.preview_upload(session, actor, path.name, path.read_bytes(), {**FORM, **(form or {})}, role=role)


def _tasks(session: Session, plan: str = "pu-test-zz") -> dict[str, tuple[object, ...]]:
    rows = session.execute(
        text("SELECT key, task_text, deadline, version, lead_units FROM projects WHERE plan_id = :p"), {"p": plan}
    )
    return {r.key: (r.task_text, r.deadline, r.version, tuple(r.lead_units)) for r in rows}


def test_preview_counts_and_nothing_stored_but_the_file(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    preview = _upload(session, write(tmp_path / "plan.xlsx"))
    assert preview.issues == [] and preview.committable and preview.changes_anything
    assert (preview.count("created"), preview.count("updated"), preview.count("unchanged")) == (CLEAN_TASKS, 0, 0)
    answers = preview.answers
    assert (answers.plan_id, answers.title, answers.year, answers.city) == ("pu-test-zz", TITLE, 2018, "株洲市")
    assert answers.origin == {"plan": "form", "title": "title", "year": "title", "city": "title"}
    assert preview.plan_status == "created" and preview.upload_id and len(preview.sha256) == 64
    assert _tasks(session) == {}
    assert session.execute(text("SELECT count(*) FROM plans WHERE id = 'pu-test-zz'")).scalar_one() == 0
    staged = session.execute(
        text("SELECT kind, owner, params FROM staged_uploads WHERE id = CAST(:id AS uuid)"), {"id": preview.upload_id}
    ).one()
    assert staged.kind == "plan" and staged.owner == ACTOR and staged.params["year"] == 2018


def test_commit_writes_plan_tasks_units_and_one_audit_entry(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    preview = _upload(session, write(tmp_path / "plan.xlsx"))
    result = usecases.commit_upload(session, ACTOR, preview.upload_id, preview.sha256, role="coordinator")
    assert (result.created, result.updated, result.unchanged) == (CLEAN_TASKS, 0, 0)
    # the new tasks are geocoded once committed, as `plans import --geocode` does: none is left pending
    assert result.located.startswith(f"{CLEAN_TASKS} 项任务已自动定位")
    pending = session.execute(
        text("SELECT count(*) FROM projects WHERE plan_id = 'pu-test-zz' AND location_status = 'pending'")
    ).scalar_one()
    assert pending == 0
    plan = session.execute(text("SELECT title, year, city FROM plans WHERE id = 'pu-test-zz'")).one()
    assert tuple(plan) == (TITLE, 2018, "株洲市")
    tasks = _tasks(session)
    assert len(tasks) == CLEAN_TASKS and "pu-test-zz/一、两型改革/2.2" in tasks
    assert tasks["pu-test-zz/一、两型改革/2.2"][1] == date(2018, 6, 30)
    units = session.execute(
        text(
            "SELECT u.name FROM project_units pu JOIN projects p ON p.id = pu.project_id"
            " JOIN units u ON u.id = pu.unit_id WHERE p.key = :k AND pu.role = 'lead'"
        ),
        {"k": "pu-test-zz/一、两型改革/1"},
    ).scalars()
    assert list(units) == ["株洲市生态环境局"]  # 市环保局 in a 2018 Zhuzhou plan, through the register
    audit = session.execute(
        text("SELECT actor, after FROM audit_log WHERE action = 'plans.upload' AND entity_id = 'pu-test-zz'")
    ).all()
    assert len(audit) == 1 and audit[0].actor == ACTOR and audit[0].after["sha256"] == preview.sha256
    committed = session.execute(
        text("SELECT committed_at, length(content) FROM staged_uploads WHERE id = CAST(:id AS uuid)"),
        {"id": preview.upload_id},
    ).one()
    assert committed[0] is not None and committed[1] == 0
    with pytest.raises(Problem) as again:
        usecases.commit_upload(session, ACTOR, preview.upload_id, role="coordinator")
    assert again.value.status == 409


def test_same_file_twice_changes_nothing_and_an_edited_file_updates(
    rolled_back_session: Session, tmp_path: Path
) -> None:
    session = rolled_back_session
    first = _upload(session, write(tmp_path / "plan.xlsx"))
    usecases.commit_upload(session, ACTOR, first.upload_id, role="coordinator")
    before = _tasks(session)
    again = _upload(session, write(tmp_path / "plan.xlsx"))
    assert (again.count("created"), again.count("updated"), again.count("unchanged")) == (0, 0, CLEAN_TASKS)
    assert again.plan_status == "unchanged" and not again.changes_anything
    result = usecases.commit_upload(session, ACTOR, again.upload_id, role="coordinator")
    assert (result.created, result.updated, result.unchanged) == (0, 0, CLEAN_TASKS)
    assert _tasks(session) == before  # versions too: nothing was rewritten
    edited = _upload(session, write(tmp_path / "edited.xlsx", edited=True))
    assert (edited.count("created"), edited.count("updated"), edited.count("unchanged")) == (0, 2, CLEAN_TASKS - 2)
    changed = {t.key: {c.field for c in t.changes} for t in edited.tasks if t.status == "updated"}
    assert changed["pu-test-zz/一、两型改革/4"] >= {"task_text"}
    assert changed["pu-test-zz/二、清水塘搬迁改造 （一）企业关停与转型/2"] == {"deadline", "deadline_text"}
    usecases.commit_upload(session, ACTOR, edited.upload_id, role="coordinator")
    after = _tasks(session)
    assert set(after) == set(before)  # updated in place, never duplicated
    key = "pu-test-zz/二、清水塘搬迁改造 （一）企业关停与转型/2"
    assert after[key][1] == date(2018, 9, 30) and after[key][2] == before[key][2] + 1


def test_a_broken_file_commits_nothing(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    preview = _upload(session, write(tmp_path / "broken.xlsx", broken=True))
    assert not preview.committable
    where = {(i.row, i.column) for i in preview.issues}
    assert set(BROKEN_PROBLEMS.values()) <= where
    unit = next(i for i in preview.issues if "市住建居" in i.zh)
    assert unit.suggestions[0] == "株洲市住房和城乡建设局" and "unknown unit" in unit.en
    with pytest.raises(Problem) as refused:
        usecases.commit_upload(session, ACTOR, preview.upload_id, role="coordinator")
    assert refused.value.status == 422 and len(refused.value.extra["problems"]) == len(preview.issues)
    session.rollback()
    assert _tasks(session) == {}
    assert session.execute(text("SELECT count(*) FROM plans WHERE id = 'pu-test-zz'")).scalar_one() == 0


def test_year_and_city_are_asked_when_the_title_names_none(rolled_back_session: Session, tmp_path: Path) -> None:
    import csv

    path = tmp_path / "untitled.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [["序号", "重点任务", "牵头单位", "完成时限"], ["1", "推进垃圾分类", "市城管局", "年底前"]]
        )
    preview = _upload(rolled_back_session, path, {"plan": "pu-untitled"})
    assert {i.column for i in preview.issues} == {"年份", "城市", "计划名称"}
    assert all(i.row is None for i in preview.issues)  # one problem for the year, not one per deadline
    again = usecases.repreview_upload(
        rolled_back_session,
        ACTOR,
        preview.upload_id,
        {"plan": "pu-untitled", "year": "2019", "city": "株洲市", "title": "垃圾分类"},
        role="coordinator",
    )
    assert again.issues == [] and again.tasks[0].task.deadline == date(2019, 12, 31)
    assert again.upload_id != preview.upload_id


def test_a_suggested_id_avoids_another_plans(rolled_back_session: Session, tmp_path: Path) -> None:
    preview = _upload(rolled_back_session, write(tmp_path / "plan.xlsx"), {"plan": ""})
    # the bundled register holds zhuzhou-2018 under another title
    assert preview.answers.plan_id == "zhuzhou-2018-2" and preview.answers.origin["plan"] == "suggested"


def test_another_accounts_upload_is_not_found(rolled_back_session: Session, tmp_path: Path) -> None:
    preview = _upload(rolled_back_session, write(tmp_path / "plan.xlsx"))
    with pytest.raises(Problem) as caught:
        usecases.commit_upload(rolled_back_session, "someone-else", preview.upload_id, role="coordinator")
    assert caught.value.status == 404


def test_cli_importer_reads_year_less_deadlines_in_the_plans_year(rolled_back_session: Session, tmp_path: Path) -> None:
    from service.projects.importer import validate_rows

    row = {
        "plan": "zhuzhou-2018",
        "number": "9",
        "title": "t",
        "task_text": "x",
        "category": "两型改革",
        "lead_units": "市环保局",
        "deadline_text": "三季度",
    }
    good, errors = validate_rows([row], {"zhuzhou-2018": 2018})
    assert errors == [] and good[0][1].deadline == date(2018, 9, 30)
    good, errors = validate_rows([{**row, "plan": "brand-new"}], {"zhuzhou-2018": 2018})
    assert good == [] and errors and all(e.row == 2 for e in errors)
    assert "names no year" in errors[0].reason and errors[0].column == "deadline_text"
    good, errors = validate_rows([{**row, "plan": "brand-new", "deadline_text": "2018年6月底前"}], {})
    assert good == [] and [(e.column, "no row gives its year" in e.reason) for e in errors] == [("year", True)]
    good, errors = validate_rows([{**row, "plan": "brand-new", "year": "2017"}], {})
    assert errors == [] and good[0][1].deadline == date(2017, 9, 30)
