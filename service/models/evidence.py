"""Evidence files (佐证材料) attached to a monthly report: photos and PDFs, kept in the database (issue 15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, LargeBinary, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base

EVIDENCE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


class EvidenceFile(Base):
    """One file as uploaded with a report: its bytes, the type read from its content, size and SHA-256."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("progress_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(Text, nullable=False)  # as the person named it (shown, never a path)
    media_type: Mapped[str] = mapped_column(Text, nullable=False)  # read from the content, not from the name
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    uploaded_by: Mapped[str] = mapped_column(Text, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"media_type IN {EVIDENCE_MEDIA_TYPES!r}", name="evidence_files_media_type"),
        CheckConstraint("size > 0 AND size = octet_length(content)", name="evidence_files_size"),
    )
