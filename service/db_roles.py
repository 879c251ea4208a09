"""The two database roles: the owner (migrations, ``xiangmap setup``) and the application role (the service).

The owner owns the schema and every table; the application role owns nothing and gets only DML:
SELECT, INSERT, UPDATE and DELETE on the tables the service writes, SELECT on the bookkeeping it only
reads, INSERT and SELECT (never UPDATE, DELETE or TRUNCATE) on ``audit_log``, USAGE on the sequences,
EXECUTE on functions as every role has it (PostgreSQL's default), no CREATE on the database or the
schema.  Not being the owner, it cannot ``ALTER TABLE audit_log DISABLE TRIGGER`` either.
Default privileges give tables created later by the owner the same grants.

Migration 0010 and ``xiangmap db grant-app-role`` both run :func:`grant_statements`, so the SQL an
operator reads in docs/trust.md is the SQL the code runs (docs/decisions/0091-owner-and-app-roles.md).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

# the service only reads these; audit_log is append-only (INSERT, SELECT)
READ_ONLY_TABLES = ("alembic_version", "spatial_ref_sys")
APPEND_ONLY_TABLES = (
    "audit_log",
    "case_events",
    "case_files",
    "evaluations",
    "evaluation_files",
    "layer_versions",
    "layer_rules",
    "layer_feature_archive",
    "screening_zone_parts_archive",
)
# the only DDL the service may cause: SECURITY DEFINER functions of migration 0025 that create a staging table,
# a published layer's table and its indexes, and drop a staging table, checking every name (decision 0310)
LAYER_DDL_FUNCTIONS = (
    "xm_layer_stage_create(integer)",
    "xm_layer_stage_drop(text)",
    "xm_layer_create(text, text, jsonb)",
    "xm_layer_index(text)",
)
# rows that change but are never deleted: a wrong case is withdrawn (撤销), not removed (issue 16)
NEVER_DELETED_TABLES = ("cases",)
TABLE_DML = "SELECT, INSERT, UPDATE, DELETE"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_name(name: str) -> str:
    """A role name safe to splice into SQL unquoted: lower-case letters, digits, underscores."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"role name {name!r}: use lower-case letters, digits and _ (at most 63, not a digit first)")
    return name


def create_role_statement(role: str, password: str | None) -> str:
    """What a superuser (or a CREATEROLE role) runs once per cluster to create the application role."""
    pw = "" if password is None else " PASSWORD " + quote_literal(password)
    return (
        f"CREATE ROLE {checked_name(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        f"NOBYPASSRLS NOINHERIT{pw}"
    )


def alter_role_statement(role: str, password: str | None) -> str:
    pw = "" if password is None else " PASSWORD " + quote_literal(password)
    return (
        f"ALTER ROLE {checked_name(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        f"NOBYPASSRLS NOINHERIT{pw}"
    )


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def grant_statements(
    role: str, database: str, existing_tables: Iterable[str] = (), existing_functions: Iterable[str] = ()
) -> list[str]:
    """What the owner runs, in the database, so that ``role`` can do what the service does and no more.

    ``existing_tables``: the tables of the schema now; the exceptions are only named when they exist
    (``spatial_ref_sys`` belongs to PostGIS, ``alembic_version`` appears with the first migration).
    """
    role = checked_name(role)
    db = '"' + database.replace('"', '""') + '"'
    present = set(existing_tables)
    statements = [
        # nobody but the owner creates schemas or temporary tables in this database, or objects in public
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT CONNECT ON DATABASE {db} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT {TABLE_DML} ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # tables and sequences the owner creates later (new migrations) get the same grants
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {TABLE_DML} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    for table in READ_ONLY_TABLES:
        if table in present:
            statements.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
    for table in APPEND_ONLY_TABLES:
        if table in present:
            statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
    for table in NEVER_DELETED_TABLES:
        if table in present:
            statements.append(f"REVOKE DELETE, TRUNCATE ON {table} FROM {role}")
    functions = set(existing_functions)
    for function in LAYER_DDL_FUNCTIONS:
        if function in functions:
            statements.append(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
            statements.append(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
    return statements


def revoke_statements(role: str, database: str) -> list[str]:
    """The reverse of :func:`grant_statements` (migration 0010's downgrade); the role itself stays."""
    role = checked_name(role)
    db = '"' + database.replace('"', '""') + '"'
    return [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE USAGE ON SCHEMA public FROM {role}",
        f"REVOKE CONNECT ON DATABASE {db} FROM {role}",
        f"GRANT TEMPORARY ON DATABASE {db} TO PUBLIC",
    ]


@dataclass(frozen=True)
class Connected:
    """Who a connection is, in the database's words."""

    user: str
    superuser: bool
    can_create_roles: bool
    database: str


def connected(conn: Connection) -> Connected:
    row = conn.execute(
        text(
            "SELECT current_user, r.rolsuper, r.rolcreaterole OR r.rolsuper, current_database() "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
    ).one()
    return Connected(user=row[0], superuser=bool(row[1]), can_create_roles=bool(row[2]), database=row[3])


def role_exists(conn: Connection, role: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None


def schema_tables(conn: Connection) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1"
        )
    )
    return [r[0] for r in rows]


def schema_functions(conn: Connection) -> list[str]:
    """Which of :data:`LAYER_DDL_FUNCTIONS` exist (they come with migration 0025)."""
    return [f for f in LAYER_DDL_FUNCTIONS if conn.execute(text("SELECT to_regprocedure(:f)"), {"f": f}).scalar()]


def apply_grants_in_transaction(engine: Engine, role: str) -> list[str]:
    """:func:`apply_grants` in one transaction of its own (the CLI's ``grant-app-role --apply``)."""
    with engine.begin() as conn:
        return apply_grants(conn, role)


def apply_grants(conn: Connection, role: str, *, create_missing: bool = True) -> list[str]:
    """Grant ``role`` what the service needs in the connected database (as its owner); returns what ran.

    A missing role is created NOLOGIN when the connected role may create roles (the managed cluster
    gives it LOGIN and a password); otherwise this raises, and the operator creates it first.
    """
    who = connected(conn)
    ran: list[str] = []
    if not role_exists(conn, role):
        if not (create_missing and who.can_create_roles):
            raise LookupError(
                f"database role {role!r} does not exist and {who.user!r} may not create it: as a superuser run "
                f"`{create_role_statement(role, None)} PASSWORD '...'`, or `xiangmap db grant-app-role --print`"
            )
        statement = f"CREATE ROLE {checked_name(role)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
        conn.execute(text(statement))
        ran.append(statement)
    for statement in grant_statements(role, who.database, schema_tables(conn), schema_functions(conn)):
        conn.execute(text(statement))
        ran.append(statement)
    return ran


def grant_in_migration(conn: Connection, role: str, log: logging.Logger) -> None:
    """What a migration that adds tables runs (0010, 0013, 0014): :func:`apply_grants` as the owner.

    Migrating as the application role itself, or without the right to create a missing role, is logged
    and skipped rather than failing the upgrade: ``xiangmap db grant-app-role`` does it afterwards.
    """
    if connected(conn).user == role:
        log.warning("migrating as the application role %r itself: no grants made; migrate as the owner", role)
        return
    try:
        apply_grants(conn, role)
    except LookupError as missing:
        log.warning("%s", missing)


def warn_if_superuser(engine: Engine) -> Connected | None:
    """Log a loud warning when the service's engine connects as a superuser; None when the database is down."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            who = connected(conn)
    except SQLAlchemyError:
        return None
    if who.superuser:
        logging.getLogger("xiangmap.security").warning(
            "\n%s\nxiangmap is connected to PostgreSQL as %r, a SUPERUSER: any bug or injection can read and "
            "rewrite everything, including the append-only audit log. Connect the service with an application "
            "role (XIANGMAP_APP_DATABASE_URL; `xiangmap db grant-app-role`, docs/trust.md 'Database roles').\n%s",
            "!" * 100,
            who.user,
            "!" * 100,
        )
    return who
