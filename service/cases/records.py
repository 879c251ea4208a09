"""The case rows: read one as its actor may see it, lock it, insert, update, and the timeline's events.

Plain SQL over a Session, no commit.  Every read of a case goes through ``access.visible_sql`` so the page,
the API, the files and the steps hide exactly what the list hides.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.cases import access
from service.cases.workflow import OVERDUE_SQL

NUMBER_PREFIX = {"督察问题": "督察", "巡查发现": "巡查", "违法违规": "违法"}

_COLUMNS = (
    "c.id, c.number, c.kind, c.title, c.description, ST_AsGeoJSON(c.geom, 7)::jsonb AS geometry,"
    " ST_GeometryType(c.geom) AS geometry_type, ST_X(ST_PointOnSurface(c.geom)) AS lon,"
    " ST_Y(ST_PointOnSurface(c.geom)) AS lat, c.position_source, c.position_crs, c.accuracy_m, c.city,"
    " c.found_on, c.found_by, c.found_unit_id, fu.name AS found_unit, c.project_id, p.title AS project_title,"
    " c.responsible_unit_id, ru.name AS responsible_unit, c.rectification, c.deadline, c.severity, c.status,"
    " c.screening_id, c.screening, c.verdict, c.version, c.created_at, c.updated_at, c.closed_at,"
    f" {OVERDUE_SQL} AS overdue"
)
_FROM = (
    " FROM cases c LEFT JOIN units fu ON fu.id = c.found_unit_id LEFT JOIN units ru ON ru.id = c.responsible_unit_id"
    " LEFT JOIN projects p ON p.id = c.project_id"
)


def case_number(kind: str, year: int, seq: int) -> str:
    """巡查〔2026〕0012号: the kind, the year of registration, and the register's sequence."""
    return f"{NUMBER_PREFIX[kind]}〔{year}〕{seq:04d}号"


def next_number(session: Session, kind: str, year: int) -> str:
    seq = session.execute(text("SELECT nextval('case_number_seq')")).scalar_one()
    return case_number(kind, year, int(seq))


def visible_case(session: Session, actor: str, role: str | None, case_id: int, *, lock: bool = False) -> dict | None:
    """The case as ``actor`` may see it (None when there is no such case or they may not see it).

    With ``lock`` the row stays locked until the transaction ends: a concurrent step waits, then reads the
    version the first one left, so of two requests holding the same ETag only one passes.
    """
    sql = f"SELECT {_COLUMNS}{_FROM} WHERE c.id = :id AND {access.visible_sql(role, 'c')}"
    if lock:
        sql += " FOR UPDATE OF c"
    row = session.execute(text(sql), {"id": case_id, **access.visible_params(actor)}).mappings().first()
    return dict(row) if row else None


def in_responsible_unit(session: Session, actor: str, case_id: int) -> bool:
    sql = f"SELECT {access.in_responsible_unit_sql('c')} FROM cases c WHERE c.id = :id"
    return bool(session.execute(text(sql), {"id": case_id, **access.visible_params(actor)}).scalar())


def actor_unit(session: Session, actor: str) -> int | None:
    return session.execute(text("SELECT unit_id FROM users WHERE name = :n"), {"n": actor}).scalar_one_or_none()


def insert_case(session: Session, values: dict[str, Any]) -> int:
    return int(
        session.execute(
            text(
                "INSERT INTO cases (number, kind, title, description, geom, position_source, position_crs, accuracy_m,"
                " city, found_on, found_by, found_unit_id, project_id, responsible_unit_id, rectification, deadline,"
                " severity, status) VALUES (:number, :kind, :title, :description, ST_GeomFromText(:wkt, 4326),"
                " :position_source, :position_crs, :accuracy_m, :city, :found_on, :found_by, :found_unit_id,"
                " :project_id, :responsible_unit_id, :rectification, :deadline, :severity, '登记') RETURNING id"
            ),
            values,
        ).scalar_one()
    )


def set_screening(session: Session, case_id: int, screening_id: int, summary: dict[str, Any], verdict: str) -> None:
    session.execute(
        text("UPDATE cases SET screening_id = :sid, screening = CAST(:summary AS jsonb), verdict = :v WHERE id = :id"),
        {"id": case_id, "sid": screening_id, "summary": json.dumps(summary, ensure_ascii=False), "v": verdict},
    )


def update_case(session: Session, case_id: int, changes: dict[str, Any]) -> int:
    """Apply ``changes`` (column: value; ``wkt`` sets the place), move to the next version; the new version."""
    sets = ["version = version + 1", "updated_at = now()"]
    params: dict[str, Any] = {"id": case_id}
    for column, value in changes.items():
        if column == "wkt":
            sets.append("geom = ST_GeomFromText(:wkt, 4326)")
        elif column == "closed_at":
            sets.append("closed_at = CASE WHEN :closed_at THEN now() ELSE NULL END")
        else:
            sets.append(f"{column} = :{column}")
        params[column] = value
    sql = f"UPDATE cases SET {', '.join(sets)} WHERE id = :id RETURNING version"
    return int(session.execute(text(sql), params).scalar_one())


def add_event(
    session: Session,
    case_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    actor_unit_id: int | None,
    note: str,
    details: dict[str, Any],
) -> int:
    return int(
        session.execute(
            text(
                "INSERT INTO case_events (case_id, action, from_status, to_status, actor, actor_unit_id, note, details)"
                " VALUES (:case_id, :action, :from_status, :to_status, :actor, :unit, :note, CAST(:details AS jsonb))"
                " RETURNING id"
            ),
            {
                "case_id": case_id,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "actor": actor,
                "unit": actor_unit_id,
                "note": note,
                "details": json.dumps(details, ensure_ascii=False, default=str),
            },
        ).scalar_one()
    )


def events(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT e.id, e.action, e.from_status, e.to_status, e.actor, e.actor_unit_id, u.name AS actor_unit,"
            " e.note, e.details, e.at FROM case_events e LEFT JOIN units u ON u.id = e.actor_unit_id"
            " WHERE e.case_id = :id ORDER BY e.at, e.id"
        ),
        {"id": case_id},
    ).mappings()
    return [dict(r) for r in rows]


def project_exists(session: Session, project_id: int) -> bool:
    return session.execute(text("SELECT 1 FROM projects WHERE id = :id"), {"id": project_id}).first() is not None


def unit_exists(session: Session, unit_id: int) -> str | None:
    return session.execute(text("SELECT name FROM units WHERE id = :id"), {"id": unit_id}).scalar_one_or_none()


def today() -> date:
    return date.today()
