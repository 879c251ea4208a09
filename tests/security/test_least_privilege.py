"""Least privilege: the service's database role, the grants of every table, secret files, and serve dropping root.

The ``engine`` fixture is the service's own engine (the application role, decision 0091); the
``owner_engine`` is the migrations' one.  The whole suite exercising the API as the application role
proves it can write what the API writes; these tests prove it can do no more.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from service import db_roles
from service.pgcluster import Cluster
from service.settings import PROJECT_ROOT
from service.system import privileges

PERMISSION_DENIED = "permission denied|must be owner"


def _raises_insufficient_privilege(engine: Engine, statement: str) -> str:
    with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text(statement))
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege), caught.value
    return str(caught.value.orig)


# --- the role the service connects as ------------------------------------------------------------


def test_service_role_is_no_superuser_and_owns_nothing(engine: Engine, owner_engine: Engine) -> None:
    with engine.connect() as conn:
        who = db_roles.connected(conn)
        role = conn.execute(
            text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
                "FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
            )
        ).scalar_one()
        rights = conn.execute(
            text(
                "SELECT has_database_privilege(current_database(), 'CREATE'),"
                " has_database_privilege(current_database(), 'TEMPORARY'),"
                " has_schema_privilege('public', 'CREATE')"
            )
        ).one()
    with owner_engine.connect() as conn:
        owner = db_roles.connected(conn).user
    assert who.user != owner
    assert not who.superuser
    assert tuple(role) == (False, False, False, False, False, True)
    assert owned == 0
    assert tuple(rights) == (False, False, False)


def test_health_says_the_service_is_no_superuser(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/healthz").json()
    assert body["database"] == "up"
    assert body["database_superuser"] is False


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE xm_intruder (id integer)",
        "CREATE TEMPORARY TABLE xm_intruder (id integer)",
        "CREATE SCHEMA xm_intruder",
        "CREATE FUNCTION xm_intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE INDEX xm_intruder ON audit_log (actor)",
        "ALTER TABLE projects ADD COLUMN xm_intruder integer",
        "DROP TABLE layer_loads",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_truncate ON audit_log",
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN RETURN OLD; END$$",
        "ALTER TABLE users DROP CONSTRAINT users_role",
    ],
)
def test_service_role_cannot_change_the_schema(engine: Engine, statement: str) -> None:
    message = _raises_insufficient_privilege(engine, statement)
    assert any(words in message for words in PERMISSION_DENIED.split("|")), message


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else' WHERE id = (SELECT max(id) FROM audit_log)",
        "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
        "TRUNCATE audit_log",
        "UPDATE alembic_version SET version_num = '0001'",
        "TRUNCATE layer_loads",
    ],
)
def test_service_role_is_not_even_granted_audit_rewrites(engine: Engine, statement: str) -> None:
    """Refused by the grants themselves ("permission denied"), before the append-only trigger is reached."""
    message = _raises_insufficient_privilege(engine, statement)
    assert "permission denied" in message and "append-only" not in message, message


def test_service_role_appends_to_the_audit_log(engine: Engine) -> None:
    from service.common.audit import record
    from service.database import session_scope

    with session_scope(engine) as session:
        record(session, "test-security", "probe", "least_privilege", 1, None, {"ok": True})
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT actor, after FROM audit_log WHERE entity = 'least_privilege' ORDER BY id DESC LIMIT 1")
        ).one()
    assert tuple(row) == ("test-security", {"ok": True})


def test_service_role_adds_a_user_of_the_new_gis_role(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """Migration 0010 lets ``users.role`` be ``gis``; the app role inserts the user and its token works."""
    from service.database import session_scope
    from service.security import create_user

    with session_scope(engine) as session:
        token = create_user(session, f"test-gis-{os.getpid()}-{time.time_ns()}", "gis")
    assert client.get("/healthz", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users WHERE role = 'gis'")).scalar_one() >= 1


# --- every table has the grants --------------------------------------------------------------------


def _app_role(engine: Engine) -> str:
    with engine.connect() as conn:
        return db_roles.connected(conn).user


def _privileges(owner_engine: Engine, role: str) -> dict[str, set[str]]:
    sql = text(
        "SELECT c.relname, p.priv FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv) "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND has_table_privilege(:role, c.oid, p.priv)"
    )
    tables = text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
    )
    with owner_engine.connect() as conn:
        found: dict[str, set[str]] = {r[0]: set() for r in conn.execute(tables)}
        for name, priv in conn.execute(sql, {"role": role}):
            found[name].add(priv)
    return found


def test_every_table_has_the_grants_of_the_app_role(engine: Engine, owner_engine: Engine) -> None:
    """A new table without grants (made by another role than the owner, or revoked) fails here by name."""
    role = _app_role(engine)
    found = _privileges(owner_engine, role)
    assert "audit_log" in found and "projects" in found
    dml = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    wrong = {}
    for table, privs in found.items():
        if table in db_roles.READ_ONLY_TABLES:
            expected = {"SELECT"}
        elif table in db_roles.APPEND_ONLY_TABLES:
            expected = {"SELECT", "INSERT"}
        elif table in db_roles.NEVER_DELETED_TABLES:
            expected = {"SELECT", "INSERT", "UPDATE"}
        else:
            expected = dml
        if privs != expected:
            wrong[table] = sorted(privs)
    assert wrong == {}, f"tables whose grants to {role} are not what the service needs: {wrong}"
    with owner_engine.connect() as conn:
        sequences = conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'S'"
                " AND NOT CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(:r, c.oid, 'USAGE') END"
            ),
            {"r": role},
        ).all()
    assert sequences == []


def test_a_table_of_a_later_migration_gets_the_grants(engine: Engine, owner_engine: Engine) -> None:
    """Default privileges: what the owner creates next is readable and writable by the app role at once."""
    role = _app_role(engine)
    with owner_engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(text("CREATE TABLE xm_later_migration (id serial PRIMARY KEY, note text)"))
            privs = conn.execute(
                text(
                    "SELECT has_table_privilege(:r, 'xm_later_migration', 'SELECT'),"
                    " has_table_privilege(:r, 'xm_later_migration', 'INSERT'),"
                    " has_table_privilege(:r, 'xm_later_migration', 'UPDATE'),"
                    " has_table_privilege(:r, 'xm_later_migration', 'DELETE'),"
                    " has_table_privilege(:r, 'xm_later_migration', 'TRUNCATE'),"
                    " has_sequence_privilege(:r, 'xm_later_migration_id_seq', 'USAGE')"
                ),
                {"r": role},
            ).one()
        finally:
            trans.rollback()
    assert tuple(privs) == (True, True, True, True, False, True)


def test_grant_command_prints_the_sql_of_the_migration(database_url: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "db", "grant-app-role", "--name", "xm_reader"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout
    assert "CREATE ROLE xm_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" in out
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO xm_reader;" in out
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM xm_reader;" in out
    assert "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES" in out
    bad = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "db", "grant-app-role", "--name", "x; DROP TABLE users"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert bad.returncode != 0 and "DROP TABLE" not in bad.stdout


# --- the managed cluster's secrets -----------------------------------------------------------------


def test_managed_cluster_secrets_are_owner_only_and_the_app_role_logs_in(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    cluster = Cluster.for_project(data_dir, 0)
    cluster.port = _free_port()
    try:
        cluster.ensure()
        config = data_dir / "cluster.json"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert stat.S_IMODE(data_dir.stat().st_mode) & 0o044 == 0  # nobody else lists .data
        assert stat.S_IMODE(cluster.pgdata.stat().st_mode) == 0o700
        saved = json.loads(config.read_text())
        assert saved["app_password"] and saved["password"] and saved["app_password"] != saved["password"]
        app_url = cluster.app_url()
        assert app_url is not None and "xiangmap_app:" in app_url
        with psycopg.connect(app_url.replace("+psycopg", ""), connect_timeout=10) as conn:
            row = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert row == ("xiangmap_app", False)
        with pytest.raises(psycopg.OperationalError):  # the password is what lets it in
            psycopg.connect(cluster.url(user="xiangmap_app", password="wrong").replace("+psycopg", ""))
        assert not list(data_dir.glob(".cluster.json.*"))  # no temporary copy left beside it
    finally:
        cluster.destroy()
        if cluster.pgdata.parent.parent == Path("/var/lib/xiangmap"):
            shutil.rmtree(cluster.pgdata.parent, ignore_errors=True)


# --- xiangmap serve started as root ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_ids(pid: int) -> dict[str, list[int]]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {key: [int(v) for v in fields[key].split()] for key in ("Uid", "Gid", "Groups")}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_started_as_root_answers_as_the_service_account(engine: Engine, workers: int) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: checks that `xiangmap serve` started as root drops to the service account")
    if shutil.which("runuser") is None:
        pytest.skip("needs runuser (util-linux) to probe what the service account can reach")
    account = "xiangmap"
    try:
        pwd.getpwnam(account)
    except KeyError:  # what scripts/bootstrap.sh does on a fresh machine
        subprocess.run([*privileges.CREATE_ACCOUNT.split(), account], check=True)
    uid = pwd.getpwnam(account).pw_uid
    port = _free_port()
    env = {**os.environ, "XIANGMAP_SERVE_USER": account}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "xiangmap"), "serve", "--port", str(port), "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer is not None, f"serve did not answer: {proc.poll()} {proc.stdout.read() if proc.stdout else ''}"
        assert answer.status_code == 200, answer.text
        assert answer.json()["database_superuser"] is False
        processes = [proc.pid, *_descendants(proc.pid)]
        if workers > 1:
            assert len(processes) > workers, processes  # the supervisor and its worker processes
        for pid in processes:
            ids = _status_ids(pid)
            assert ids["Uid"] == [uid] * 4, (pid, ids)
            assert 0 not in ids["Gid"] and 0 not in ids["Groups"], (pid, ids)
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert not any(v.startswith((b"DATABASE_URL=", b"XIANGMAP_DATABASE_URL=")) for v in environ)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
