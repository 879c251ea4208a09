"""Schema changes for issue 8: trust: auth, audit, concurrency.

Revision ID: 0007
Revises: 0006

Each issue owns one revision in a fixed chain so that parallel work never forks the history.

``audit_log`` becomes append-only in the database itself: a trigger raises on any UPDATE, DELETE or
TRUNCATE, whoever the caller is (the application, a psql session, a careless migration), so the
trail cannot be edited after the fact.  Dropping the table (a downgrade to base) is still possible.
See docs/decisions/0082-append-only-audit-log.md.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'the audit trail records every write; add a new entry instead of changing one';
END
$fn$
"""


def upgrade() -> None:
    op.execute(GUARD_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
