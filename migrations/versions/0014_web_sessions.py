"""Browser sign-in: ``users.password_hash`` and the ``web_sessions`` table (issue 15, decision 0161).

Revision ID: 0014
Revises: 0013

A session row is found by the SHA-256 of the random id in the ``xiangmap_session`` cookie; it carries
the session's CSRF token and its two expiries (absolute, idle).  Deleting a user deletes their sessions.
No ``data_version_mark`` trigger (migration 0009): sessions never reach a cached response, and a
sign-in must not empty every worker's response cache.

The application role needs SELECT, INSERT, UPDATE and DELETE on ``web_sessions``: the default privileges
of migration 0010 give a table created by the owner exactly that, and the grants of
``service/db_roles.py`` are applied again here so a database whose tables were created by another role
than the one that ran 0010 gets them too (the same statements, idempotent).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("id_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    _grant_app_role()


def _grant_app_role() -> None:
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_column("users", "password_changed_at")
    op.drop_column("users", "password_hash")
