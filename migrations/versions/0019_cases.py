"""The case register (issue 16, decision 0220): ``cases``, their timeline ``case_events``, their ``case_files``.

Revision ID: 0019
Revises: 0018

A case never disappears: its events and files reference it with ON DELETE RESTRICT and the application
role gets no DELETE on any of the three (a wrong case is withdrawn, 撤销, with a reason).  ``cases`` is
watched by the data version (migration 0009): the case layer of the progress map and the ``cases``
collection are built from it.  ``case_events`` and ``case_files`` are never part of a cached answer.
``case_number_seq`` numbers cases per year in the order they are registered.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from service import db_roles
from service.models.cases import (
    CASE_FILE_TYPES,
    CASE_KINDS,
    CASE_SEVERITIES,
    CASE_STATUSES,
    POSITION_CRS,
    POSITION_SOURCES,
)
from service.settings import get_settings

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.Column("position_source", sa.Text(), nullable=False),
        sa.Column("position_crs", sa.Text(), nullable=False, server_default=sa.text("'WGS84'")),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("found_by", sa.Text(), nullable=False),
        sa.Column("found_unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="SET NULL"), nullable=True),
        sa.Column("responsible_unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("rectification", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=False, server_default=sa.text("'一般'")),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'登记'")),
        sa.Column("screening_id", sa.BigInteger(), sa.ForeignKey("screenings.id", ondelete="SET NULL"), nullable=True),
        sa.Column("screening", JSONB(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"kind IN {CASE_KINDS!r}", name="cases_kind"),
        sa.CheckConstraint(f"status IN {CASE_STATUSES!r}", name="cases_status"),
        sa.CheckConstraint(f"severity IN {CASE_SEVERITIES!r}", name="cases_severity"),
        sa.CheckConstraint(f"position_source IN {POSITION_SOURCES!r}", name="cases_position_source"),
        sa.CheckConstraint(f"position_crs IN {POSITION_CRS!r}", name="cases_position_crs"),
        sa.CheckConstraint("deadline IS NULL OR deadline >= found_on", name="cases_deadline_after_found"),
        sa.CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="cases_accuracy"),
    )
    op.create_index("ix_cases_geom", "cases", ["geom"], postgresql_using="gist")
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_responsible_unit_id", "cases", ["responsible_unit_id"])
    op.create_index("ix_cases_project_id", "cases", ["project_id"])
    op.create_index("ix_cases_found_on", "cases", ["found_on"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("details", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "case_files",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey("case_events.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("exif_lon", sa.Float(), nullable=True),
        sa.Column("exif_lat", sa.Float(), nullable=True),
        sa.Column("exif_taken_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"media_type IN {CASE_FILE_TYPES!r}", name="case_files_media_type"),
        sa.CheckConstraint("size > 0 AND size = octet_length(content)", name="case_files_size"),
    )
    op.create_index("ix_case_files_case_id", "case_files", ["case_id"])
    op.execute("CREATE SEQUENCE case_number_seq")
    op.execute(
        "CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cases "
        "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
    )
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.execute("DROP SEQUENCE IF EXISTS case_number_seq")
    op.drop_table("case_files")
    op.drop_table("case_events")
    op.drop_table("cases")
