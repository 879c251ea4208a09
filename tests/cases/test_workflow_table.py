"""The workflow table's rules (service/cases/workflow.py) and the database's refusal to delete a case."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from service.cases.workflow import StepRefused, allowed_actions, check_step, is_overdue, step_for

BASE = {
    "actor": "li",
    "found_by": "wang",
    "actor_in_responsible_unit": True,
    "note": "",
    "files": 0,
    "responsible_unit_id": 7,
    "deadline": date(2026, 12, 31),
}


def refusal(action: str, **changes: object) -> StepRefused:
    with pytest.raises(StepRefused) as caught:
        check_step(step_for(action), **{**BASE, **changes})  # type: ignore[arg-type]
    return caught.value


def test_a_step_from_the_wrong_status_is_409() -> None:
    assert refusal("accept", status="整改中", role="inspector").status == 409


def test_the_finder_does_not_verify_and_a_reject_needs_a_reason() -> None:
    assert refusal("accept", status="申请销号", role="inspector", actor="wang").status == 403
    assert refusal("reject", status="申请销号", role="inspector").field == "note"
    check_step(step_for("reject"), **{**BASE, "status": "申请销号", "role": "inspector", "note": "照片不清"})


def test_a_submission_needs_evidence_and_the_responsible_unit() -> None:
    assert refusal("submit", status="整改中", role="editor", files=1, actor_in_responsible_unit=False).status == 403
    assert refusal("submit", status="整改中", role="editor").field == "files"
    assert refusal("submit", status="整改中", role="viewer", files=1).status == 403


def test_assigning_needs_a_unit_and_a_deadline() -> None:
    assert refusal("assign", status="登记", role="inspector", deadline=None).field == "deadline"


def test_the_buttons_follow_the_table() -> None:
    steps = allowed_actions(
        status="申请销号", role="inspector", actor="li", found_by="wang", actor_in_responsible_unit=False
    )
    assert [s.action for s in steps] == ["accept", "reject", "withdraw"]
    assert allowed_actions(status="销号", role="admin", actor="x", found_by="y", actor_in_responsible_unit=True) == []


def test_overdue_is_derived_for_open_cases_only() -> None:
    assert is_overdue("整改中", date(2026, 1, 1), date(2026, 1, 2))
    assert not is_overdue("销号", date(2026, 1, 1), date(2026, 1, 2))
    assert not is_overdue("整改中", None, date(2026, 1, 2))


def test_the_service_cannot_delete_a_case_or_rewrite_its_timeline(engine: Engine) -> None:
    for statement in ("DELETE FROM cases", "UPDATE case_events SET note = ''", "DELETE FROM case_files"):
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))
