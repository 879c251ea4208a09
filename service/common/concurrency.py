"""Optimistic concurrency for projects: strong ETags from ``projects.version``, If-Match per RFC 9110.

A project's ETag is ``"p{id}-v{version}"``; its location and its progress history share it, so a
client holding a stale copy of either gets 412 instead of silently overwriting a colleague's write.
The check itself happens in the database inside the write's transaction (:func:`bump_version`,
:func:`lock_version`), so two concurrent requests can never both pass it.  A refused attempt is
recorded in the audit log in its own short transaction (:func:`record_rejection`).
See docs/decisions/0080-etags-from-project-version.md and 0081-atomic-if-match.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import audit
from service.database import session_scope
from service.errors import PROBLEM_JSON, Problem, ProblemDetail

# entity-tag = [ weak ] opaque-tag ; opaque-tag = DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3); etagc allows commas
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_OURS = re.compile(r"^p(\d+)-v(\d+)$")

# for the OpenAPI description of every write that honours If-Match
PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {
        "description": "If-Match does not name the project's current ETag; nothing was written. "
        "The detail and `current_etag` give the current one.",
        "content": {PROBLEM_JSON: {"schema": ProblemDetail.model_json_schema()}},
    }
}


def project_etag(project_id: int, version: int) -> str:
    """The strong ETag of one version of one project, quotes included (as the header carries it)."""
    return f'"p{project_id}-v{version}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed If-Match header for one project: ``*`` or the versions of this project it names."""

    raw: str
    any_version: bool
    versions: frozenset[int]
    weak_only: bool  # every tag was weak: they never match (strong comparison, RFC 9110 §13.1.1)

    def allows(self, version: int) -> bool:
        return self.any_version or version in self.versions


def parse_if_match(value: str | None, project_id: int) -> IfMatch | None:
    """``None`` when the header is absent (an unconditional write); 400 when it is not a list of entity tags.

    Weak tags (``W/"..."``) and tags of another project or another format are kept out of ``versions``:
    If-Match uses the strong comparison, so they can never match and the write gets 412.
    """
    if value is None:
        return None
    stripped = value.strip()
    if stripped == "*":
        return IfMatch(stripped, True, frozenset(), False)
    if not stripped:
        raise Problem(400, 'If-Match is empty; send the ETag of the project as read, e.g. "p12-v3"', header="If-Match")
    versions: set[int] = set()
    weak = strong = 0
    position = 0
    while position < len(stripped):
        match = _ENTITY_TAG.match(stripped, position)
        if match is None or match.end() == position:
            raise Problem(
                400,
                f"If-Match {value!r} is not a list of quoted entity tags (RFC 9110 §13.1.1); "
                'send the ETag exactly as received, e.g. "p12-v3", or *',
                header="If-Match",
            )
        position = match.end()
        if match.group(1):
            weak += 1
            continue
        strong += 1
        ours = _OURS.match(match.group(2))
        if ours and int(ours.group(1)) == project_id:
            versions.add(int(ours.group(2)))
    return IfMatch(stripped, False, frozenset(versions), weak > 0 and strong == 0)


def current_version(session: Session, project_id: int) -> int | None:
    return session.execute(text("SELECT version FROM projects WHERE id = :id"), {"id": project_id}).scalar_one_or_none()


def bump_version(session: Session, project_id: int, condition: IfMatch | None) -> int | None:
    """Move the project to its next version if ``condition`` allows its current one; the new version or None.

    One conditional UPDATE: the row lock it takes makes a concurrent writer wait, and PostgreSQL re-checks
    ``version`` on the row that writer then sees, so of two requests holding the same ETag only one passes.
    """
    any_version = condition is None or condition.any_version
    versions = sorted(condition.versions) if condition is not None else []
    return session.execute(
        text(
            "UPDATE projects SET version = version + 1 WHERE id = :id"
            " AND (:any_version OR version = ANY(:versions)) RETURNING version"
        ),
        {"id": project_id, "any_version": any_version, "versions": versions},
    ).scalar_one_or_none()


def lock_version(session: Session, project_id: int) -> int | None:
    """The project's version with its row locked until the transaction ends (None if there is no such project)."""
    return session.execute(
        text("SELECT version FROM projects WHERE id = :id FOR UPDATE"), {"id": project_id}
    ).scalar_one_or_none()


def precondition_failed(
    session: Session, actor: str, action: str, project_id: int, condition: IfMatch, attempt: dict[str, Any]
) -> Problem:
    """Roll back the write, audit the refused attempt on its own, and build the 412 naming the current ETag."""
    session.rollback()
    version = current_version(session, project_id)
    session.rollback()
    if version is None:
        return Problem(404, f"project {project_id} does not exist", parameter="project_id")
    etag = project_etag(project_id, version)
    record_rejection(session, actor, action, project_id, condition, etag, attempt)
    reason = (
        "weak entity tags never match If-Match (RFC 9110 §13.1.1)"
        if condition.weak_only
        else f"project {project_id} changed since you read it"
    )
    return Problem(
        412,
        f"{reason}: If-Match was {condition.raw}, the current ETag is {etag}; "
        "reload the project, reapply your change and send the new ETag",
        header="If-Match",
        current_etag=etag,
        headers={"ETag": etag},
    )


def record_rejection(
    session: Session,
    actor: str,
    action: str,
    project_id: int,
    condition: IfMatch,
    current_etag: str,
    attempt: dict[str, Any],
) -> None:
    """Audit a refused write in a transaction of its own, so the record survives the request's rollback."""
    with session_scope(session.get_bind()) as own:  # type: ignore[arg-type]
        audit.record(
            own,
            actor,
            f"{action}.rejected",
            "project",
            project_id,
            {"etag": current_etag},
            {"if_match": condition.raw, "attempt": attempt, "outcome": "412 precondition failed"},
        )
