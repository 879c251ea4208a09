"""What people do with cases, as plain functions of a Session: register, take a step, move, attach files, read.

Each use case that writes owns its transaction: it checks everything first (the place through the shared
geometry guard, the files by content, the unit against the register, the step against the workflow
table), then writes the case, its event, its files and its audit entry, and commits once; a refusal is a
4xx :class:`service.errors.Problem` (Chinese and English, naming the field) with nothing written.  Every
read goes through ``access.visible_sql``: a case the actor may not see is a 404, as if it did not exist.

Steps are conditional: the case's ETag is ``"c{id}-v{version}"``; a step (and a move) must send it in
``if_match`` and the case row is locked while the version is compared, so of two verifiers holding the
same ETag one wins and the other gets 412 (decision 0222).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.cases import files as case_files
from service.cases import records, workflow
from service.cases.places import Place, city_of, place_from
from service.cases.schemas import CaseIn, PlaceIn, PositionIn, StepIn, Upload
from service.cases.screening_link import attach
from service.common import audit
from service.errors import Problem
from service.units import usecases as units

REGISTERING_ROLES = workflow.SUPERVISORS  # inspector, coordinator, admin
FILING_ROLES = ("editor", *workflow.SUPERVISORS)  # who may add files to a case they see
_ETAG = re.compile(r'^\s*"c(\d+)-v(\d+)"\s*$')

__all__ = [
    "CaseIn",
    "PlaceIn",
    "PositionIn",
    "StepIn",
    "Upload",
    "add_files",
    "case_etag",
    "case_file",
    "get_case",
    "move_case",
    "register_case",
    "resolve_unit",
    "take_step",
]


def case_etag(case_id: int, version: int) -> str:
    """The strong ETag of one version of one case, quotes included (as the header carries it)."""
    return f'"c{case_id}-v{version}"'


# ---------------------------------------------------------------- checks shared by the use cases


def _not_found(case_id: int) -> Problem:
    return Problem(404, f"没有编号为 {case_id} 的案件，或您无权查看 / no case {case_id} (or not yours to see)")


def _visible(session: Session, actor: str, role: str | None, case_id: int, *, lock: bool = False) -> dict[str, Any]:
    found = records.visible_case(session, actor, role, case_id, lock=lock)
    if found is None:
        raise _not_found(case_id)
    return found


def _check_if_match(session: Session, actor: str, case: dict[str, Any], if_match: str | None, action: str) -> None:
    """428 without If-Match, 400 when it is not an ETag, 412 when it names another version (audited)."""
    etag = case_etag(case["id"], case["version"])
    if if_match is None or not if_match.strip():
        raise Problem(
            428,
            f"须带 If-Match 请求头（案件当前的 ETag {etag}） / send If-Match with the case's ETag as read, e.g. {etag}",
            header="If-Match",
            current_etag=etag,
        )
    if if_match.strip() == "*":
        return
    found = _ETAG.match(if_match)
    if found is None:
        raise Problem(
            400,
            f"If-Match {if_match!r} 不是案件的 ETag / is not a case ETag; send it as received, e.g. {etag}",
            header="If-Match",
        )
    if int(found.group(1)) != case["id"] or int(found.group(2)) != case["version"]:
        session.rollback()
        audit.record(
            session,
            actor,
            f"case.{action}.rejected",
            "case",
            case["id"],
            {"etag": etag},
            {"if_match": if_match, "outcome": "412 precondition failed"},
        )
        session.commit()
        raise Problem(
            412,
            f"案件已被他人更新（当前 ETag {etag}），请刷新后再办理 / case {case['id']} changed since you read it: "
            f"If-Match was {if_match}, the current ETag is {etag}; reload and try again",
            header="If-Match",
            current_etag=etag,
            headers={"ETag": etag},
        )


def resolve_unit(
    session: Session, ref: int | str | None, *, city: str | None = None, on: date | None = None
) -> int | None:
    """A unit's id from its id or its name in the unit register; 400 with the nearest names when it is unknown."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return None
    if isinstance(ref, int) or ref.strip().isdigit():
        unit_id = int(ref)
        if records.unit_exists(session, unit_id) is None:
            raise Problem(
                400,
                f"责任单位 {unit_id} 不在单位名录中 / no unit {unit_id} in the register",
                parameter="responsible_unit",
            )
        return unit_id
    answer = units.resolve_name(session, ref.strip(), city, on)
    if answer["resolved"] and len(answer["units"]) == 1:
        return int(answer["units"][0]["id"])
    if answer["resolved"]:
        names = "、".join(u["name"] for u in answer["units"])
        raise Problem(
            400,
            f"“{ref}”指多个单位（{names}），请选一个 / {ref!r} names several units; pick one",
            parameter="responsible_unit",
            units=answer["units"],
        )
    near = [s.get("unit") or s.get("group") for s in answer["suggestions"]]
    hint = f"，是否指：{'、'.join(n for n in near if n)}" if near else ""
    raise Problem(
        400,
        f"责任单位“{ref}”不在单位名录中{hint} / unit {ref!r} is not in the register"
        + (f"; did you mean {', '.join(n for n in near if n)}?" if near else ""),
        parameter="responsible_unit",
        suggestions=answer["suggestions"],
    )


def _check_deadline(deadline: date | None, found_on: date) -> None:
    if deadline is not None and deadline < found_on:
        raise Problem(
            400,
            f"整改期限 {deadline} 早于发现日期 {found_on} / "
            f"the deadline {deadline} is before the finding date {found_on}",
            parameter="deadline",
        )


def _file_summaries(checked: Sequence[case_files.CaseUpload], ids: Sequence[int]) -> list[dict[str, Any]]:
    return [{"id": i} | c.summary() for i, c in zip(ids, checked, strict=True)]


def _screen(session: Session, actor: str, case_id: int, number: str, title: str, place: Place, found_on: date) -> str:
    attached = attach(session, actor, place, found_on, name=f"{number} {title}", note=f"案件 {number} 的位置筛查")
    records.set_screening(session, case_id, attached.screening_id, attached.summary, attached.verdict)
    return attached.verdict


# ---------------------------------------------------------------- the use cases


def register_case(
    session: Session,
    actor: str,
    role: str | None,
    data: CaseIn,
    files: Sequence[Upload] = (),
    *,
    place_file: Upload | None = None,
) -> dict[str, Any]:
    """Register a case: numbered (巡查〔2026〕0012号), placed, screened at ``found_on``, its files stored.

    Roles inspector, coordinator and admin (403 otherwise).  The place is exactly one of ``data.geometry``,
    ``data.position`` or ``place_file``.  The ``register`` event carries the files; one audit entry; one
    commit.  Returns the case as :func:`get_case` shows it to ``actor``.
    """
    if role not in REGISTERING_ROLES and role != "admin":
        raise Problem(
            403,
            f"登记案件须由督查人员、两型办或管理员办理 / registering a case needs the role inspector, coordinator "
            f"or admin; you are {role or 'not signed in'}",
        )
    found_on = data.found_on or records.today()
    if found_on > records.today():
        raise Problem(400, f"发现日期 {found_on} 晚于今天 / found_on {found_on} is in the future", parameter="found_on")
    _check_deadline(data.deadline, found_on)
    place = place_from(data, place_file)
    checked = case_files.check_files(files)
    if data.project_id is not None and not records.project_exists(session, data.project_id):
        raise Problem(
            400, f"没有编号为 {data.project_id} 的项目 / no project {data.project_id}", parameter="project_id"
        )
    city = city_of(session, place)
    unit_id = resolve_unit(session, data.responsible_unit, city=city, on=found_on)
    number = records.next_number(session, data.kind, records.today().year)
    found_unit = records.actor_unit(session, actor)
    case_id = records.insert_case(
        session,
        {
            "number": number,
            "kind": data.kind,
            "title": data.title.strip(),
            "description": data.description,
            "wkt": place.wkt,
            "position_source": place.source,
            "position_crs": place.crs,
            "accuracy_m": place.accuracy_m,
            "city": city,
            "found_on": found_on,
            "found_by": actor,
            "found_unit_id": found_unit,
            "project_id": data.project_id,
            "responsible_unit_id": unit_id,
            "rectification": data.rectification,
            "deadline": data.deadline,
            "severity": data.severity,
        },
    )
    verdict = _screen(session, actor, case_id, number, data.title.strip(), place, found_on)
    event_id = records.add_event(
        session, case_id, "register", None, "登记", actor, found_unit, data.note, {"place": place.given}
    )
    ids = case_files.store(session, case_id, event_id, checked, actor)
    audit.record(
        session,
        actor,
        "case.register",
        "case",
        case_id,
        None,
        {
            "number": number,
            "kind": data.kind,
            "title": data.title,
            "city": city,
            "verdict": verdict,
            "responsible_unit_id": unit_id,
            "files": _file_summaries(checked, ids),
        },
    )
    session.commit()
    return get_case(session, actor, role, case_id)


def take_step(
    session: Session,
    actor: str,
    role: str | None,
    case_id: int,
    action: str,
    *,
    note: str = "",
    files: Sequence[Upload] = (),
    if_match: str | None,
    responsible_unit_id: int | str | None = None,
    deadline: date | None = None,
    severity: str | None = None,
) -> dict[str, Any]:
    """Take one workflow step (assign, start, submit, accept, reject, withdraw) on a case.

    The step is looked up in ``workflow.STEPS`` and checked with ``workflow.check_step`` (409 from the wrong
    status, 403 for the wrong role or unit or the finder verifying, 400 for a missing reason, evidence,
    unit or deadline).  ``if_match`` is the ETag as read (428 without it, 412 when the case has changed).
    ``responsible_unit_id`` (an id or a unit name), ``deadline`` and ``severity`` apply to ``assign``.
    One event with the files, one audit entry, one commit; returns the case as :func:`get_case` shows it.
    """
    step = _step(action)
    case = _visible(session, actor, role, case_id, lock=True)
    _check_if_match(session, actor, case, if_match, action)
    checked = case_files.check_files(files)
    unit_id = case["responsible_unit_id"]
    new_deadline = case["deadline"]
    if step.action == "assign":
        unit_id = resolve_unit(session, responsible_unit_id, city=case["city"], on=case["found_on"]) or unit_id
        new_deadline = deadline or new_deadline
        _check_deadline(new_deadline, case["found_on"])
    if severity is not None and severity not in ("一般", "较重", "严重"):
        raise Problem(400, f"严重程度 {severity!r} 无效 / severity must be 一般, 较重 or 严重", parameter="severity")
    try:
        workflow.check_step(
            step,
            status=case["status"],
            role=role,
            actor=actor,
            found_by=case["found_by"],
            actor_in_responsible_unit=records.in_responsible_unit(session, actor, case_id),
            note=note,
            files=len(checked),
            responsible_unit_id=unit_id,
            deadline=new_deadline,
        )
    except workflow.StepRefused as exc:
        raise Problem(exc.status, exc.reason, parameter=exc.field) from None
    changes: dict[str, Any] = {"status": step.to_status}
    details: dict[str, Any] = {}
    if step.action == "assign":
        changes |= {"responsible_unit_id": unit_id, "deadline": new_deadline}
        details |= {"responsible_unit_id": unit_id, "deadline": new_deadline.isoformat() if new_deadline else None}
        if severity is not None:
            changes["severity"] = severity
            details["severity"] = severity
    if step.to_status in workflow.CLOSED_STATUSES:
        changes["closed_at"] = True
    version = records.update_case(session, case_id, changes)
    actor_unit = records.actor_unit(session, actor)
    event_id = records.add_event(
        session, case_id, step.action, case["status"], step.to_status, actor, actor_unit, note.strip(), details
    )
    ids = case_files.store(session, case_id, event_id, checked, actor)
    audit.record(
        session,
        actor,
        f"case.{step.action}",
        "case",
        case_id,
        {"status": case["status"], "version": case["version"]},
        {"status": step.to_status, "version": version, "note": note.strip(), **details}
        | {"files": _file_summaries(checked, ids)},
    )
    session.commit()
    return get_case(session, actor, role, case_id)


def _step(action: str) -> workflow.Step:
    try:
        return workflow.step_for(action)
    except workflow.StepRefused as exc:
        raise Problem(exc.status, exc.reason, parameter=exc.field) from None


def move_case(
    session: Session,
    actor: str,
    role: str | None,
    case_id: int,
    place: PlaceIn,
    *,
    if_match: str | None,
    note: str = "",
    place_file: Upload | None = None,
) -> dict[str, Any]:
    """Give an open case a new place: the city again, a new screening at ``found_on``, an ``edit`` event.

    Supervisors only (inspector, coordinator, admin); ``if_match`` as for :func:`take_step`.
    """
    case = _visible(session, actor, role, case_id, lock=True)
    if role not in REGISTERING_ROLES and role != "admin":
        raise Problem(403, "只有督查人员、两型办或管理员可以修改案件位置 / only supervisors may move a case")
    _check_if_match(session, actor, case, if_match, "move")
    if case["status"] in workflow.CLOSED_STATUSES:
        raise Problem(409, f"案件已{case['status']}，位置不能再改 / a {case['status']} case cannot be moved")
    new_place = place_from(place, place_file)
    city = city_of(session, new_place)
    version = records.update_case(
        session,
        case_id,
        {
            "wkt": new_place.wkt,
            "position_source": new_place.source,
            "position_crs": new_place.crs,
            "accuracy_m": new_place.accuracy_m,
            "city": city,
        },
    )
    verdict = _screen(session, actor, case_id, case["number"], case["title"], new_place, case["found_on"])
    details = {
        "place": new_place.given,
        "before": {"geometry": case["geometry"], "city": case["city"], "verdict": case["verdict"]},
        "city": city,
        "verdict": verdict,
    }
    records.add_event(
        session,
        case_id,
        "edit",
        case["status"],
        case["status"],
        actor,
        records.actor_unit(session, actor),
        note.strip(),
        details,
    )
    audit.record(
        session,
        actor,
        "case.move",
        "case",
        case_id,
        {"geometry": case["geometry"], "city": case["city"], "verdict": case["verdict"], "version": case["version"]},
        {"geometry": new_place.geojson, "city": city, "verdict": verdict, "version": version},
    )
    session.commit()
    return get_case(session, actor, role, case_id)


def add_files(
    session: Session,
    actor: str,
    role: str | None,
    case_id: int,
    files: Sequence[Upload],
    *,
    note: str = "",
) -> dict[str, Any]:
    """Attach photos or documents to a case outside a step (a ``file`` event); the case's version moves on."""
    case = _visible(session, actor, role, case_id, lock=True)
    if role not in FILING_ROLES and role != "admin":
        raise Problem(403, "您的账户只能查看 / your account may not add files to cases")
    if case["status"] in workflow.CLOSED_STATUSES:
        raise Problem(409, f"案件已{case['status']}，不能再添加材料 / a {case['status']} case takes no more files")
    if not files:
        raise Problem(400, "请选择要上传的文件 / send at least one file", parameter="files")
    checked = case_files.check_files(files)
    records.update_case(session, case_id, {})
    event_id = records.add_event(
        session,
        case_id,
        "file",
        case["status"],
        case["status"],
        actor,
        records.actor_unit(session, actor),
        note.strip(),
        {},
    )
    ids = case_files.store(session, case_id, event_id, checked, actor)
    audit.record(session, actor, "case.file", "case", case_id, None, {"files": _file_summaries(checked, ids)})
    session.commit()
    return get_case(session, actor, role, case_id)


def get_case(session: Session, actor: str, role: str | None, case_id: int) -> dict[str, Any]:
    """The case, its timeline (each event with its files), every file (with the EXIF distance to the place),
    the steps this actor may take (``allowed_actions``), ``overdue`` and the ``etag``; 404 if not visible."""
    case = _visible(session, actor, role, case_id)
    all_files = case_files.list_files(session, case_id)
    by_event: dict[int | None, list[dict[str, Any]]] = {}
    for f in all_files:
        by_event.setdefault(f["event_id"], []).append(f)
    timeline = [e | {"files": by_event.get(e["id"], [])} for e in records.events(session, case_id)]
    steps = workflow.allowed_actions(
        status=case["status"],
        role=role,
        actor=actor,
        found_by=case["found_by"],
        actor_in_responsible_unit=records.in_responsible_unit(session, actor, case_id),
    )
    session.rollback()  # a read: end the transaction, hold no snapshot
    return case | {
        "etag": case_etag(case_id, case["version"]),
        "events": timeline,
        "files": all_files,
        "allowed_actions": [
            {
                "action": s.action,
                "label": s.label,
                "needs_note": s.needs_note,
                "needs_files": s.needs_files,
                "needs_assignment": s.needs_assignment,
            }
            for s in steps
        ],
    }


def case_file(session: Session, actor: str, role: str | None, case_id: int, file_id: int) -> dict[str, Any]:
    """One file with its bytes and a safe ASCII name, for those who may see the case; 404 otherwise."""
    _visible(session, actor, role, case_id)
    found = case_files.get_file(session, case_id, file_id)
    session.rollback()
    if found is None:
        raise Problem(404, f"案件 {case_id} 没有编号为 {file_id} 的文件 / case {case_id} has no file {file_id}")
    return found
