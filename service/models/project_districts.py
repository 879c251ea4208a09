"""``project_districts``: the district each project lies in, maintained by triggers (migration 0005)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base


class ProjectDistrict(Base):
    """The district a project lies in; maintained by triggers (migration 0005), never written by Python."""

    __tablename__ = "project_districts"

    project_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    adcode: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    city: Mapped[str | None] = mapped_column(Text)
