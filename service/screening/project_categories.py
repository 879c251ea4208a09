"""The category an inspector set for a project (issue 18, migration 0023): read, kept, replaced, removed.

A set category wins over inference for every later screening of the project (single or batch); inference
never writes here, and neither does a plan re-import.  Plain functions in the caller's transaction: the use
case audits and commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_REASON = 500

SELECT_SQL = """SELECT project_id, category, reason, set_by,
       to_char(set_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS set_at
  FROM project_screening_categories"""


def stored(session: Session, project_id: int) -> dict[str, Any] | None:
    row = session.execute(text(f"{SELECT_SQL} WHERE project_id = :id"), {"id": project_id}).mappings().first()
    return dict(row) if row else None


def stored_for(session: Session, project_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The set categories of many projects at once (the batch reads them in one query)."""
    rows = session.execute(text(f"{SELECT_SQL} WHERE project_id = ANY(:ids)"), {"ids": list(project_ids)})
    return {int(r["project_id"]): dict(r) for r in rows.mappings()}


def save(session: Session, project_id: int, category: str, reason: str, actor: str) -> dict[str, Any]:
    session.execute(
        text(
            "INSERT INTO project_screening_categories (project_id, category, reason, set_by)"
            " VALUES (:id, :category, :reason, :actor)"
            " ON CONFLICT (project_id) DO UPDATE SET category = EXCLUDED.category, reason = EXCLUDED.reason,"
            " set_by = EXCLUDED.set_by, set_at = now()"
        ),
        {"id": project_id, "category": category, "reason": reason, "actor": actor},
    )
    found = stored(session, project_id)
    assert found is not None
    return found


def remove(session: Session, project_id: int) -> None:
    session.execute(text("DELETE FROM project_screening_categories WHERE project_id = :id"), {"id": project_id})


def annotate(category: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """An answer's ``category`` as the inspector set it: who, when and why, with full confidence."""
    return category | {
        "source": "inspector",
        "inferred": False,
        "set_by": entry["set_by"],
        "set_at": entry["set_at"],
        "reason": entry["reason"],
        "confidence": 1.0,
        "needs_review": False,
        "words": [],
    }
