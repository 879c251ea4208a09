"""The register of units (单位): units, their aliases and renames, collective names, and the units of each task.

A unit keeps its id across renames (the old name becomes an alias with an end date), so a task linked to
市环保局 in 2018 and one linked to 市生态环境局 in 2020 share one unit (docs/decisions/0150-units-register.md).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base

UNIT_KINDS = (
    "government",  # a province's or city's people's government
    "district_government",  # a district's, county's or county-level city's people's government
    "department",  # a government department (局, 委, 厅, 办)
    "office",  # a coordination or project office (两型办, 指挥部办公室)
    "management_committee",  # a zone's management committee (管委会)
    "court",
    "procuratorate",
    "agency",  # a central agency's local branch (人民银行, 银监, 海关)
    "company",  # a state-owned company (集团, 公司)
    "party",  # a party organ (机关工委)
)
PROJECT_UNIT_ROLES = ("lead", "responsible")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True, nullable=False)  # canonical, full name
    short_name: Mapped[str | None] = mapped_column(Text)  # as plans write it (市发改委)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    city: Mapped[str | None] = mapped_column(Text, index=True)  # 株洲市 ...; NULL: provincial or central
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)  # when the unit came to be (NULL: always)
    valid_to: Mapped[date | None] = mapped_column(Date)  # when it ceased (merged, dissolved); exclusive
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'bundled'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"kind IN {UNIT_KINDS!r}", name="units_kind"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from < valid_to", name="units_dates"),
    )


class UnitAlias(Base):
    """Another name of a unit, valid in [valid_from, valid_to); ``relative`` names it only within its city."""

    __tablename__ = "unit_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), nullable=False, index=True)
    alias: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    relative: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'bundled'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from < valid_to", name="unit_aliases_dates"),
    )


class UnitGroup(Base):
    """A collective name (各县市区人民政府) standing for its members, per city (NULL: the province's)."""

    __tablename__ = "unit_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    city: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'bundled'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class UnitGroupMember(Base):
    __tablename__ = "unit_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("unit_groups.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class ProjectUnit(Base):
    """One unit string of a task resolved: a unit (maybe via a group), or flagged with why and the closest names.

    Derived from ``projects.lead_units`` / ``responsible_units`` (``xiangmap units relink`` rebuilds it); a
    row with no ``unit_id`` is an unresolved name waiting for a person.
    """

    __tablename__ = "project_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)  # the string as the plan wrote it
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    via_group: Mapped[str | None] = mapped_column(Text)  # the collective name it was expanded from
    reason: Mapped[str | None] = mapped_column(Text)  # why unresolved
    suggestions: Mapped[list | None] = mapped_column(JSONB)  # the closest names, best first
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"role IN {PROJECT_UNIT_ROLES!r}", name="project_units_role"),
        CheckConstraint("(unit_id IS NULL) = (reason IS NOT NULL)", name="project_units_linked_or_flagged"),
    )
