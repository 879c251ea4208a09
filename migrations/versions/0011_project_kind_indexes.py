"""GiST indexes for the per-geometry-kind project collections (projects_points, _lines, _areas).

Those collections serve ``ST_Multi(ST_CollectionExtract(geom, k))`` (service/ogc/registry.py): an
index on exactly that expression lets bbox filters and tiles on them use an index scan instead of
cutting every project's geometry (docs/decisions/0101-projects-per-geometry-kind.md).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = {1: "points", 2: "lines", 3: "areas"}


def upgrade() -> None:
    for extract, name in KINDS.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS projects_{name}_geom_idx ON projects "
            f"USING gist (ST_Multi(ST_CollectionExtract(geom, {extract})))"
        )


def downgrade() -> None:
    for name in KINDS.values():
        op.execute(f"DROP INDEX IF EXISTS projects_{name}_geom_idx")
