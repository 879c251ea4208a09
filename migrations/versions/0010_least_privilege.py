"""Least privilege: the application role's grants, and the ``gis`` user role.

Revision ID: 0010
Revises: 0009

The service connects as an application role (default ``xiangmap_app``, or the user of
``XIANGMAP_APP_DATABASE_URL``) that owns nothing: DML on the tables it writes, SELECT on the rest,
INSERT and SELECT only on ``audit_log``, and default privileges so that tables of later migrations
get the same grants (``service/db_roles.py``, docs/decisions/0091-owner-and-app-roles.md).  Roles
belong to the cluster, not the database: a missing role is created NOLOGIN when the migrating role
may create roles; otherwise the grants are left to ``xiangmap db grant-app-role`` and a warning says so.

``users.role`` also accepts ``gis``: GIS staff, who may change protected layers.
"""

import logging
from collections.abc import Sequence

from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = "('viewer', 'editor', 'inspector', 'admin')"
ROLES_AFTER = "('viewer', 'editor', 'inspector', 'admin', 'gis')"

log = logging.getLogger("alembic.runtime.migration")


def _set_user_roles(roles: str) -> None:
    op.drop_constraint("users_role", "users", type_="check")
    op.create_check_constraint("users_role", "users", f"role IN {roles}")


def upgrade() -> None:
    _set_user_roles(ROLES_AFTER)
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    conn = op.get_bind()
    role = get_settings().app_role_name()
    if db_roles.role_exists(conn, role) and db_roles.connected(conn).user != role:
        for statement in db_roles.revoke_statements(role, db_roles.connected(conn).database):
            op.execute(statement)
    _set_user_roles(ROLES_BEFORE)
