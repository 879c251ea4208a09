"""Preview, then commit: the uploaded file waits in ``staged_uploads`` between the two requests (decision 0176).

A browser upload is read twice: once to show the preview (what will be created or updated, every problem
with its row and column), once more when the person presses 提交.  Between the two the file is kept in the
database, not in the form or on disk: a second web worker can commit it, nothing on the server's disk is
named by the client, and the commit reads exactly the bytes that were previewed (the preview page carries
only the upload's id and its SHA-256).  A staged file belongs to the account that sent it, is committed at
most once, and is forgotten after :data:`KEEP_HOURS`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem

KEEP_HOURS = 24


@dataclass(frozen=True)
class Staged:
    """A file waiting for its commit."""

    id: str
    kind: str
    owner: str
    filename: str
    sha256: str
    size: int
    content: bytes
    params: dict[str, Any]
    created_at: datetime
    committed_at: datetime | None


def stage(
    session: Session, kind: str, owner: str, filename: str, content: bytes, params: dict[str, Any] | None = None
) -> Staged:
    """Keep the file for a later commit (the caller commits); older staged files are removed on the way."""
    import json

    session.execute(
        text("DELETE FROM staged_uploads WHERE created_at < now() - make_interval(hours => :hours)"),
        {"hours": KEEP_HOURS},
    )
    row = (
        session.execute(
            text(
                "INSERT INTO staged_uploads (kind, owner, filename, sha256, size, content, params)"
                " VALUES (:kind, :owner, :filename, :sha, :size, :content, CAST(:params AS jsonb))"
                " RETURNING id::text AS id, created_at"
            ),
            {
                "kind": kind,
                "owner": owner,
                "filename": filename[:255],
                "sha": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                "content": content,
                "params": json.dumps(params or {}, ensure_ascii=False),
            },
        )
        .mappings()
        .one()
    )
    return Staged(
        row["id"],
        kind,
        owner,
        filename[:255],
        hashlib.sha256(content).hexdigest(),
        len(content),
        content,
        params or {},
        row["created_at"],
        None,
    )


def fetch(session: Session, upload_id: str, kind: str, owner: str, *, for_commit: bool = False) -> Staged:
    """The staged file, if it is this owner's and of this kind; a 404 or 409 that says why otherwise.

    ``for_commit`` locks the row (a second 提交 pressed at once waits, then finds it committed).
    """
    try:
        import uuid

        uuid.UUID(upload_id)
    except ValueError:
        raise Problem(404, f"没有这个上传 / no staged upload {upload_id!r}", parameter="upload") from None
    row = (
        session.execute(
            text(
                "SELECT id::text AS id, kind, owner, filename, sha256, size, content, params, created_at, committed_at"
                " FROM staged_uploads WHERE id = CAST(:id AS uuid) AND kind = :kind AND owner = :owner"
                " AND created_at >= now() - make_interval(hours => :hours)" + (" FOR UPDATE" if for_commit else "")
            ),
            {"id": upload_id, "kind": kind, "owner": owner, "hours": KEEP_HOURS},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(
            404,
            f"没有这个上传，或已超过 {KEEP_HOURS} 小时：请重新上传 / no such staged upload (or older than "
            f"{KEEP_HOURS} h): upload the file again",
            parameter="upload",
        )
    staged = Staged(**{**dict(row), "content": bytes(row["content"])})
    if for_commit and staged.committed_at is not None:
        raise Problem(
            409,
            f"这个文件已于 {staged.committed_at:%Y-%m-%d %H:%M} 提交 / this upload was already committed",
            parameter="upload",
        )
    return staged


def mark_committed(session: Session, upload_id: str) -> None:
    """The staged file has been committed (in the caller's transaction, with the rows it created)."""
    session.execute(
        text("UPDATE staged_uploads SET committed_at = now(), content = ''::bytea WHERE id = CAST(:id AS uuid)"),
        {"id": upload_id},
    )
