"""Who may move a case from which status to which (issue 16, decision 0220): the one table of the workflow.

登记 (registered) → 交办 (assigned to the responsible unit) → 整改中 (the unit is rectifying) → 申请销号 (the
unit submits its rectification with evidence) → 核查 by an inspector: accepted → 销号 (closed), rejected →
back to 整改中 with a reason.  Any case not yet closed can be withdrawn (撤销) with a reason; nothing is ever
deleted.  ``overdue`` is derived from the deadline, never stored.

Plain data and functions: the use cases (``service.cases.usecases``) look the step up here, check the actor
and the case against it, and record the event; the pages ask :func:`allowed_actions` which buttons to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SUPERVISORS = ("inspector", "coordinator", "admin")  # register, assign, verify, withdraw
VERIFIERS = ("inspector", "admin")  # 核查: an inspector (or an admin) verifies a rectification


@dataclass(frozen=True)
class Step:
    """One action: from which statuses, to which, who may take it, and what it needs."""

    action: str
    label: str  # the button's Chinese
    from_statuses: tuple[str, ...]
    to_status: str
    roles: tuple[str, ...]
    responsible_unit_only: bool = False  # an editor may take it only for a case assigned to their unit
    needs_note: bool = False  # a reason is required (reject, withdraw)
    needs_files: bool = False  # evidence is required (submit)
    needs_assignment: bool = False  # a responsible unit and a deadline are required (assign)
    not_by_finder: bool = False  # four eyes: the inspector who filed the case does not verify it


STEPS: tuple[Step, ...] = (
    Step("assign", "交办", ("登记",), "交办", SUPERVISORS, needs_assignment=True),
    Step("start", "开始整改", ("交办",), "整改中", ("editor", *SUPERVISORS), responsible_unit_only=True),
    Step(
        "submit",
        "申请销号",
        ("交办", "整改中"),
        "申请销号",
        ("editor", *SUPERVISORS),
        responsible_unit_only=True,
        needs_files=True,
    ),
    Step("accept", "核查通过，销号", ("申请销号",), "销号", VERIFIERS, not_by_finder=True),
    Step("reject", "核查不通过，退回整改", ("申请销号",), "整改中", VERIFIERS, needs_note=True, not_by_finder=True),
    Step("withdraw", "撤销", ("登记", "交办", "整改中", "申请销号"), "撤销", SUPERVISORS, needs_note=True),
)
BY_ACTION = {step.action: step for step in STEPS}
ACTIONS = ("register", *BY_ACTION, "edit", "note", "file")  # what a case_events.action may be
OPEN_STATUSES = ("登记", "交办", "整改中", "申请销号")
CLOSED_STATUSES = ("销号", "撤销")


class StepRefused(Exception):
    """The step cannot be taken: ``reason`` says why in Chinese and English; ``status`` is the HTTP one."""

    def __init__(self, reason: str, status: int = 409, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.field = field


def step_for(action: str) -> Step:
    try:
        return BY_ACTION[action]
    except KeyError:
        raise StepRefused(
            f"没有“{action}”这一步 / no such step {action!r}; one of {', '.join(BY_ACTION)}", 400, "action"
        ) from None


def check_step(
    step: Step,
    *,
    status: str,
    role: str | None,
    actor: str,
    found_by: str,
    actor_in_responsible_unit: bool,
    note: str,
    files: int,
    responsible_unit_id: int | None,
    deadline: date | None,
) -> None:
    """Raise :class:`StepRefused` naming the first rule the step breaks; return when it may be taken."""
    if status not in step.from_statuses:
        raise StepRefused(
            f"案件当前为“{status}”，不能“{step.label}”（只能从 {'、'.join(step.from_statuses)}） / "
            f"a case in status {status} cannot be {step.action}ed; only from {', '.join(step.from_statuses)}",
            409,
            "action",
        )
    if role is None or (role not in step.roles and role != "admin"):
        raise StepRefused(
            f"“{step.label}”须由 {'、'.join(_ROLE_ZH.get(r, r) for r in step.roles)} 办理 / "
            f"{step.action} needs the role {' or '.join(step.roles)}; you are {role or 'not signed in'}",
            403,
        )
    if step.responsible_unit_only and role == "editor" and not actor_in_responsible_unit:
        raise StepRefused(
            "只有责任单位的账号可以办理这一步 / only an account of the responsible unit may take this step", 403
        )
    if step.not_by_finder and actor == found_by and role != "admin":
        raise StepRefused(
            "登记人不能核查自己登记的案件，请由另一名督查人员核查 / the inspector who filed the case may not verify "
            "it: another inspector does",
            403,
        )
    if step.needs_note and not note.strip():
        raise StepRefused(f"“{step.label}”须写明原因 / {step.action} needs a reason (note)", 400, "note")
    if step.needs_files and files < 1:
        raise StepRefused(
            "申请销号须附整改佐证材料（照片或文件） / a submission needs evidence of the rectification "
            "(a photo or a file)",
            400,
            "files",
        )
    if step.needs_assignment and (responsible_unit_id is None or deadline is None):
        missing = "责任单位" if responsible_unit_id is None else "整改期限"
        field = "responsible_unit_id" if responsible_unit_id is None else "deadline"
        raise StepRefused(f"交办须确定{missing} / assigning needs {field.replace('_', ' ')}", 400, field)


def allowed_actions(
    *, status: str, role: str | None, actor: str, found_by: str, actor_in_responsible_unit: bool
) -> list[Step]:
    """The steps this actor could take on a case in ``status`` (notes and files aside): the page's buttons."""
    out = []
    for step in STEPS:
        if status not in step.from_statuses or role is None or (role not in step.roles and role != "admin"):
            continue
        if step.responsible_unit_only and role == "editor" and not actor_in_responsible_unit:
            continue
        if step.not_by_finder and actor == found_by and role != "admin":
            continue
        out.append(step)
    return out


def is_overdue(status: str, deadline: date | None, today: date) -> bool:
    """Past its rectification deadline and still open (a submission waiting for 核查 counts as open)."""
    return deadline is not None and status in OPEN_STATUSES and today > deadline


OVERDUE_SQL = (
    "(c.deadline IS NOT NULL AND c.status IN ('登记', '交办', '整改中', '申请销号') AND CURRENT_DATE > c.deadline)"
)

_ROLE_ZH = {"inspector": "督查人员", "coordinator": "两型办", "admin": "管理员", "editor": "责任单位"}
