"""Evidence files (佐证材料): what a report may carry, checked by content, and their rows in ``evidence_files``.

A file is accepted when its bytes are a JPEG, PNG or WebP image that Pillow decodes whole, or a PDF with
its header and end-of-file marker; the name's suffix must agree with what the bytes are, so a program
renamed ``photo.jpg`` or a page renamed ``scan.pdf`` is refused, and a download is never something else
than its name says.  Each file is bounded (``XIANGMAP_MAX_EVIDENCE_MB``) and so is their number
(``XIANGMAP_MAX_EVIDENCE_FILES``); images also in pixels, so a small file cannot expand into gigabytes.
Refusals are :class:`EvidenceError` with a Chinese and English message that names the file
(decision 0191).  The checks by content are shared with the case register: ``service.common.file_checks``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import file_checks
from service.settings import get_settings

KINDS = file_checks.KINDS
SUFFIXES = file_checks.SUFFIXES
ACCEPT = file_checks.ACCEPT
EvidenceError = file_checks.FileRefused  # the refusal: ``status`` 413, 415 or 422 and a message naming the file
Evidence = file_checks.CheckedFile
clean_name = file_checks.clean_name
ascii_name = file_checks.ascii_name


def check(filename: str | None, content: bytes) -> Evidence:
    """One uploaded file as evidence (at most ``XIANGMAP_MAX_EVIDENCE_MB``), or EvidenceError saying why not."""
    return file_checks.check(filename, content, get_settings().max_evidence_mb)


def check_count(count: int) -> None:
    most = get_settings().max_evidence_files
    if count > most:
        raise EvidenceError(413, f"一次最多上传 {most} 个佐证文件（收到 {count} 个）/ at most {most} files per report")


def store(session: Session, project_id: int, report_id: int, files: list[Evidence], actor: str) -> list[int]:
    """The files' rows, in the caller's transaction."""
    ids = []
    for f in files:
        ids.append(
            session.execute(
                text(
                    "INSERT INTO evidence_files (project_id, report_id, filename, media_type, size, sha256, content,"
                    " uploaded_by) VALUES (:project_id, :report_id, :filename, :media_type, :size, :sha256,"
                    " :content, :actor) RETURNING id"
                ),
                {
                    "project_id": project_id,
                    "report_id": report_id,
                    "filename": f.filename,
                    "media_type": f.media_type,
                    "size": f.size,
                    "sha256": f.sha256,
                    "content": f.content,
                    "actor": actor,
                },
            ).scalar_one()
        )
    return ids


def list_files(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's files without their bytes, newest first, with the month of the report they came with."""
    rows = session.execute(
        text(
            "SELECT e.id, e.report_id, e.filename, e.media_type, e.size, e.sha256, e.uploaded_by, e.uploaded_at,"
            " to_char(r.period, 'YYYY-MM') AS period"
            " FROM evidence_files e JOIN progress_reports r ON r.id = e.report_id"
            " WHERE e.project_id = :p ORDER BY e.uploaded_at DESC, e.id DESC"
        ),
        {"p": project_id},
    ).mappings()
    return [dict(r) for r in rows]


def get_file(session: Session, project_id: int, file_id: int) -> dict[str, Any] | None:
    row = (
        session.execute(
            text(
                "SELECT id, filename, media_type, size, sha256, content FROM evidence_files"
                " WHERE id = :id AND project_id = :p"
            ),
            {"id": file_id, "p": project_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
