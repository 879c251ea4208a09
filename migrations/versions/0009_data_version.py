"""Data version: one number that changes when any served table changes, so responses can be cached.

Every table whose rows reach a response (layers, catalogue, plans, projects, progress) gets a
statement-level trigger that marks the transaction as changing data; a deferred constraint trigger
bumps ``data_version`` once, at commit.  The bump happens at commit, not at the first write, so a
long layer load does not hold the version row's lock and block other writers
(docs/decisions/0083-responses-cached-by-data-version.md).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose changes never reach a cached response: bookkeeping, secrets, users, the audit trail,
# screening records (never cached) and the zone parts derived from layers (which bump on their own).
NOT_WATCHED = (
    "alembic_version",
    "app_secrets",
    "audit_log",
    "data_version",
    "data_version_pending",
    "layer_loads",
    "screening_zone_parts",
    "screenings",
    "spatial_ref_sys",
    "users",
)

MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION data_version_mark() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- once per transaction: a row whose deferred trigger bumps the version at commit
    IF current_setting('xiangmap.data_marked', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO data_version_pending (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
        PERFORM set_config('xiangmap.data_marked', 'on', true);
    END IF;
    RETURN NULL;
END
$fn$;
"""

BUMP_FUNCTION = """
CREATE OR REPLACE FUNCTION data_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE data_version SET version = version + 1, changed_at = clock_timestamp();
    DELETE FROM data_version_pending WHERE txid = NEW.txid;
    RETURN NULL;
END
$fn$;
"""


def watch(table: str) -> None:
    """Make ``table``'s changes bump the data version (later migrations call this for new served tables)."""
    op.execute(
        f"CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
    )


def watched_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
    )
    return [r[0] for r in rows if r[0] not in NOT_WATCHED]


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("singleton", sa.Boolean(), server_default=sa.text("true"), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("singleton", name="data_version_one_row"),
    )
    op.execute("INSERT INTO data_version (version) VALUES (1)")
    op.create_table("data_version_pending", sa.Column("txid", sa.BigInteger(), primary_key=True))
    op.execute(MARK_FUNCTION)
    op.execute(BUMP_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT ON data_version_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_version_bump()"
    )
    for table in watched_tables():
        watch(table)


def downgrade() -> None:
    for table in watched_tables():
        op.execute(f"DROP TRIGGER IF EXISTS data_version_mark ON {table}")
    op.drop_table("data_version_pending")
    op.drop_table("data_version")
    op.execute("DROP FUNCTION IF EXISTS data_version_bump()")
    op.execute("DROP FUNCTION IF EXISTS data_version_mark()")
