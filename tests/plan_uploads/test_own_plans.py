"""An editor uploads their own unit's plan (decision 0183): owned by the unit, never the 两型办's or another
unit's, the city from the unit, the tasks outside the unit named in the preview; then their ledger shows the
plan's tasks of their unit.  Use cases in one rolled-back transaction, as test_usecases.py.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.ledger import usecases as ledger
from service.ledger.filters import LedgerFilters
from service.plan_uploads import usecases
from service.security import create_user
from service.units import usecases as units
from tests.plan_uploads.office_sheet import CLEAN_TASKS, write

SHIFENG, LUSONG = "株洲市石峰区人民政府", "株洲市芦淞区人民政府"
# the clean sheet's tasks that name 石峰区 (directly, or through 各县市区人民政府) and those that do not
SHIFENG_TASKS = {("一、", "1"), ("一、", "2.2"), ("一、", "2.3"), ("一、", "3"), ("（一）", "1"), ("（二）", "1")}
AS_OF = date(2018, 12, 31)
NOT_SHIFENG = 4  # 2.1 (市国土资源局), 4 (市发改委 …), 2 of （一） (攸县, 醴陵), 2 of （二） (清水塘投资集团 …)


def _editor(session: Session, name: str, unit: str | None) -> str:
    create_user(session, name, "editor")
    session.commit()
    if unit is not None:
        units.assign_user(session, "test", name, units.find_unit_id(session, unit))
    return name


def _upload(session: Session, actor: str, path: Path, role: str = "editor", **form: str):  # type: ignore[no-untyped-def]
    fields = {"plan": "", "year": "", "city": "", "title": "", **form}
    return usecases.preview_upload(session, actor, path.name, path.read_bytes(), fields, role=role)


def _commit(session: Session, actor: str, preview, role: str = "editor"):  # type: ignore[no-untyped-def]
    return usecases.commit_upload(session, actor, preview.upload_id, preview.sha256, role=role)


def test_an_editor_uploads_the_office_sheet_as_their_units_plan(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    actor = _editor(session, "own-shifeng", SHIFENG)
    preview = _upload(session, actor, write(tmp_path / "株洲市2018年重点任务分解表.xlsx"))
    assert preview.issues == [] and preview.committable
    assert preview.answers.city == "株洲市" and preview.answers.year == 2018
    # a new plan (zhuzhou-2018 is the 两型办's), owned by the editor's unit
    assert preview.plan_status == "created" and preview.answers.plan_id.startswith("zhuzhou-2018-")
    assert preview.owner == SHIFENG and preview.uploader_unit == SHIFENG
    theirs = {(_part(t.task.section), t.task.number) for t in preview.tasks if t.theirs}
    assert theirs == SHIFENG_TASKS and len(preview.not_theirs) == NOT_SHIFENG
    note = next(zh for zh, _ in preview.notes if "不会出现在你的台账里" in zh)
    assert f"有 {NOT_SHIFENG} 项任务" in note and SHIFENG in note
    assert all(f"{t.task.row}" in note for t in preview.not_theirs)
    assert preview.as_dict()["counts"]["not_your_units"] == NOT_SHIFENG

    result = _commit(session, actor, preview)
    assert result.created == CLEAN_TASKS
    plan = preview.answers.plan_id
    owner = session.execute(
        text("SELECT un.name FROM plans p JOIN units un ON un.id = p.owner_unit_id WHERE p.id = :p"), {"p": plan}
    ).scalar_one()
    assert owner == SHIFENG
    after = session.execute(
        text("SELECT after FROM audit_log WHERE action = 'plans.upload' AND entity_id = :p"), {"p": plan}
    ).scalar_one()
    assert after["owner_unit_id"] == units.find_unit_id(session, SHIFENG)
    # the editor's ledger (their unit's tasks) shows the plan's tasks where 石峰区 is lead or responsible
    shifeng = units.find_unit_id(session, SHIFENG)
    rows = ledger.ledger_rows(session, LedgerFilters(plan=plan, unit=shifeng), AS_OF)
    assert len(rows) == CLEAN_TASKS - NOT_SHIFENG
    assert {r["id"] for r in rows} == set(units.task_ids_for_unit(session, shifeng)) & {
        r["id"] for r in ledger.ledger_rows(session, LedgerFilters(plan=plan), AS_OF)
    }

    # the same file again: the plan of this title the unit owns, unchanged
    again = _upload(session, actor, write(tmp_path / "again.xlsx"))
    assert again.answers.plan_id == plan and again.answers.origin["plan"] == "register"
    assert again.issues == [] and not again.changes_anything


def _part(section: str) -> str:
    return "（二）" if "（二）" in section else "（一）" if "（一）" in section else "一、"


def test_an_editor_may_not_update_the_offices_plan(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    actor = _editor(session, "own-shifeng", SHIFENG)
    preview = _upload(session, actor, write(tmp_path / "plan.xlsx"), plan="zhuzhou-2018")  # the bundled plan
    problem = next(i for i in preview.issues if i.column == "计划编号")
    assert "两型办的计划" in problem.zh and SHIFENG in problem.zh and "a plan of the 两型办" in problem.en
    assert not preview.committable
    with pytest.raises(Problem) as caught:
        _commit(session, actor, preview)
    assert caught.value.status == 422
    assert session.execute(text("SELECT owner_unit_id FROM plans WHERE id = 'zhuzhou-2018'")).scalar_one() is None


def test_an_editor_may_not_update_another_units_plan(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    lusong = _editor(session, "own-lusong", LUSONG)
    theirs = _upload(session, lusong, write(tmp_path / "plan.xlsx"), plan="own-lusong-2018")
    _commit(session, lusong, theirs)
    shifeng = _editor(session, "own-shifeng", SHIFENG)
    preview = _upload(session, shifeng, write(tmp_path / "edited.xlsx", edited=True), plan="own-lusong-2018")
    problem = next(i for i in preview.issues if i.column == "计划编号")
    assert f"{LUSONG}的计划" in problem.zh and not preview.committable
    # the 芦淞区 editor updates their own plan; a coordinator may update it too, and it stays 芦淞区's
    edited = _upload(session, lusong, write(tmp_path / "edited.xlsx", edited=True), plan="own-lusong-2018")
    assert edited.issues == [] and edited.count("updated") == 2
    again = _upload(
        session, "own-coordinator", write(tmp_path / "plan.xlsx"), role="coordinator", plan="own-lusong-2018"
    )
    assert again.issues == [] and again.owner == LUSONG
    _commit(session, "own-coordinator", again, role="coordinator")
    owner = session.execute(text("SELECT owner_unit_id FROM plans WHERE id = 'own-lusong-2018'")).scalar_one()
    assert owner == units.find_unit_id(session, LUSONG)


def test_the_city_defaults_to_the_units(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    actor = _editor(session, "own-shifeng", SHIFENG)
    path = tmp_path / "推进方案.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:  # no title row: no city, no year
        csv.writer(fh).writerows(
            [["序号", "重点任务", "牵头单位", "完成时限"], ["1", "推进老旧小区改造", "石峰区人民政府", "年底前"]]
        )
    preview = _upload(session, actor, path, year="2019", title="石峰区2019年工作推进方案", plan="own-shifeng-2019")
    assert preview.answers.city == "株洲市" and preview.answers.origin["city"] == "unit"
    assert preview.issues == [] and [t.theirs for t in preview.tasks] == [True]
    assert not any("不会出现在你的台账里" in zh for zh, _ in preview.notes)


def test_a_coordinators_upload_is_the_offices(rolled_back_session: Session, tmp_path: Path) -> None:
    session = rolled_back_session
    preview = _upload(session, "own-coordinator", write(tmp_path / "plan.xlsx"), role="coordinator", plan="own-zz")
    assert preview.owner is None and preview.uploader_unit is None
    assert all(t.theirs is None for t in preview.tasks) and preview.not_theirs == []
    _commit(session, "own-coordinator", preview, role="coordinator")
    assert session.execute(text("SELECT owner_unit_id FROM plans WHERE id = 'own-zz'")).scalar_one() is None
    # an editor uploading a file of that title gets a plan of their own, not the 两型办's of the same title
    actor = _editor(session, "own-shifeng", SHIFENG)
    mine = _upload(session, actor, write(tmp_path / "mine.xlsx"))
    assert mine.answers.plan_id != "own-zz" and mine.plan_status == "created" and mine.issues == []


def test_an_editor_of_no_unit_is_refused(rolled_back_session: Session, tmp_path: Path) -> None:
    actor = _editor(rolled_back_session, "own-nobody", None)
    with pytest.raises(Problem) as caught:
        _upload(rolled_back_session, actor, write(tmp_path / "plan.xlsx"))
    assert caught.value.status == 403 and "未归属任何单位" in caught.value.detail
