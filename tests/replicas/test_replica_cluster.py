"""A real primary and a real hot standby (issue 21): rows stream over, the standby refuses writes, and a
standby stopped while the primary writes rejoins through its slot; removing it takes its data and slot.

The primary is a throwaway cluster of its own (socket-only, in its own temp dir), not the suite's
shared one; a second test drives a TCP cluster whose passwords are recorded in ``cluster.json`` as
the dev cluster's are.  As root both servers run as the ``postgres`` account, as ``service.pgcluster`` does.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from service import replicas as rp
from service.pgcluster import Cluster, ClusterError, free_port, pg_bindir


def _no_basebackup() -> bool:
    try:
        return not (pg_bindir() / "pg_basebackup").exists()
    except ClusterError:
        return True


pytestmark = pytest.mark.skipif(_no_basebackup(), reason="pg_basebackup (PostgreSQL server binaries) not installed")


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    """Poll ``check`` until it returns something truthy: replication is asynchronous."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(psycopg.OperationalError):
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _sql(cluster: Cluster, statement: str, database: str = "xiangmap") -> list[tuple[Any, ...]]:
    with psycopg.connect(cluster.libpq_url(database), autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else []


def _teardown(primary: Cluster) -> None:
    """Standbys first (their data lives under the primary's folder), then the primary."""
    for replica in rp.replicas(primary):
        with contextlib.suppress(ClusterError):
            rp.stop_replica(primary, replica.name)
    primary.destroy()


@pytest.fixture
def primary() -> Iterator[Cluster]:
    cluster = Cluster.throwaway_cluster()
    try:
        yield cluster.ensure()
    finally:
        _teardown(cluster)


def _count_on(cluster: Cluster) -> int:
    return int(_sql(cluster, "SELECT count(*) FROM replicated")[0][0])


def test_a_hot_standby_follows_refuses_writes_and_rejoins_after_a_stop(primary: Cluster) -> None:
    _sql(primary, "CREATE TABLE replicated (id int PRIMARY KEY, note text)")
    _sql(primary, "INSERT INTO replicated VALUES (1, '一')")

    replica = rp.add_replica(primary)
    standby = rp.standby_server(primary, replica)
    assert replica.name == "replica1" and replica.port != primary.port
    assert replica.pgdata == primary.pgdata.parent / "replicas" / "replica1" / "pg"

    _sql(primary, "INSERT INTO replicated VALUES (2, '二')")
    _wait_for(lambda: _count_on(standby) == 2, "the second row on the standby")
    assert _sql(standby, "SELECT note FROM replicated ORDER BY id") == [("一",), ("二",)]
    assert _sql(standby, "SELECT pg_is_in_recovery()") == [(True,)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _sql(standby, "INSERT INTO replicated VALUES (3, 'standby')")

    status = _wait_for(lambda: [s for s in rp.replica_status(primary) if s["state"] == "streaming"], "streaming")
    assert status[0]["running"] and status[0]["in_recovery"] and status[0]["slot"] == "xiangmap_replica1"
    assert status[0]["lag_bytes"] is not None and status[0]["standby_replay_lsn"]

    # the service's role reads the standby through the URL the app would be given
    (app_url,) = rp.replica_urls(primary)
    eng = create_engine(app_url)
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT current_user, pg_is_in_recovery()")).one() == (primary.app_role, True)
    finally:
        eng.dispose()

    # down while the primary writes: its slot keeps the WAL, and it catches up when started again
    rp.stop_replica(primary, "replica1")
    down = rp.replica_status(primary)[0]
    assert not down["running"] and down["in_recovery"] is None
    _sql(primary, "INSERT INTO replicated SELECT g, 'later' FROM generate_series(3, 5000) g")
    _sql(primary, "SELECT pg_switch_wal()", "postgres")  # the WAL it missed is in a finished segment
    assert _wait_for(
        lambda: (rp.replica_status(primary)[0]["retained_bytes"] or 0) > 0, "WAL kept for the stopped standby"
    )
    rp.start_replica(primary, "replica1")
    _wait_for(lambda: _count_on(standby) == 5000, "the standby to catch up after its restart")
    rejoined = _wait_for(lambda: [s for s in rp.replica_status(primary) if s["state"] == "streaming"], "rejoining")
    assert rejoined[0]["replay_delay"] is not None  # it replayed transactions since its restart

    rp.remove_replica(primary, "replica1")
    assert not (primary.pgdata.parent / "replicas").exists()
    assert _sql(primary, "SELECT slot_name FROM pg_replication_slots", "postgres") == []
    assert rp.replicas(primary) == [] and rp.replica_status(primary) == []
    with pytest.raises(ClusterError, match="no replica"):
        rp.remove_replica(primary, "replica1")


def test_a_standby_of_a_password_cluster_is_recorded_in_cluster_json() -> None:
    """TCP and scram as the dev cluster: the replication role's password and the standby survive a reload."""
    root = Path(tempfile.mkdtemp(prefix="xm-tcp-"))
    root.chmod(0o755)  # as root the postgres account must reach the data dirs below
    data_dir = root / "data"
    primary = Cluster.for_project(data_dir, free_port())
    try:
        primary.ensure()
        replica = rp.add_replica(primary, "tcp_one")
        raw = json.loads((data_dir / "cluster.json").read_text())
        assert raw["replication_password"] and raw["replicas"] == [replica.record()]
        assert (data_dir / "cluster.json").stat().st_mode & 0o777 == 0o600

        again = Cluster.for_project(data_dir, 1)  # as the CLI loads it, in another process
        (url,) = rp.replica_urls(again, superuser=True)
        assert f"127.0.0.1:{replica.port}" in url and again.password and again.password in url
        _sql(again, "CREATE TABLE over_tcp AS SELECT 42 AS answer")
        standby = rp.standby_server(again, rp.get_replica(again, "tcp_one"))
        _wait_for(lambda: _sql(standby, "SELECT to_regclass('over_tcp') IS NOT NULL")[0][0], "the table on the standby")
        assert _sql(standby, "SELECT answer FROM over_tcp") == [(42,)]
        (entry,) = _wait_for(lambda: [s for s in rp.replica_status(again) if s["state"] == "streaming"], "streaming")
        assert raw["replication_password"] not in entry["url"] and "***" in entry["url"]

        rp.remove_replica(again, "tcp_one")
        assert json.loads((data_dir / "cluster.json").read_text())["replicas"] == []
        primary = again
    finally:
        _teardown(primary)
        shutil.rmtree(root, ignore_errors=True)


def test_an_older_cluster_json_without_replicas_still_loads(tmp_path: Path) -> None:
    (tmp_path / "cluster.json").write_text(
        json.dumps({"pgdata": str(tmp_path / "pg"), "port": 55432, "password": "p", "app_password": "a"})
    )
    cluster = Cluster.for_project(tmp_path, 1)
    assert cluster.replicas == [] and cluster.replication_password is None and cluster.port == 55432
    assert rp.replica_status(cluster) == [] and rp.replica_urls(cluster) == []


def test_the_cli_refuses_a_given_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli.main import app
    from service.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example/xiangmap")
    get_settings.cache_clear()
    try:
        for args in (["status"], ["add"], ["remove", "replica1"], ["start", "replica1"], ["stop", "replica1"]):
            result = CliRunner().invoke(app, ["db", "replica", *args])
            assert result.exit_code == 2, result.output
            assert "XIANGMAP_REPLICA_URLS" in result.output and "docs/scaling.md" in result.output
    finally:
        monkeypatch.delenv("DATABASE_URL")
        get_settings.cache_clear()


def test_the_cli_adds_shows_stops_starts_and_removes_a_standby(monkeypatch: pytest.MonkeyPatch) -> None:
    """``xiangmap db replica ...`` on a managed cluster of its own (XIANGMAP_DATA_DIR), never the dev one."""
    from service.cli.main import app
    from service.settings import get_settings

    root = Path(tempfile.mkdtemp(prefix="xm-cli-"))
    root.chmod(0o755)
    for name in ("DATABASE_URL", "XIANGMAP_DATABASE_URL", "XIANGMAP_APP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XIANGMAP_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("XIANGMAP_DB_PORT", str(free_port()))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["db", "replica", "add", "--name", "cli_one"])
        assert added.exit_code == 0, added.output
        assert "standby cli_one running on 127.0.0.1:" in added.output
        again = runner.invoke(app, ["db", "replica", "add", "--name", "cli_one"])
        assert again.exit_code == 2 and "exists already" in again.output

        def streaming() -> str:
            shown = runner.invoke(app, ["db", "replica", "status"], env={"COLUMNS": "200"})
            assert shown.exit_code == 0, shown.output
            return shown.output if "streaming" in shown.output else ""

        table = _wait_for(streaming, "status to show the standby streaming")
        assert "cli_one" in table and "lag bytes" in table and "replay delay" in table

        assert runner.invoke(app, ["db", "replica", "stop", "cli_one"]).exit_code == 0
        stopped = runner.invoke(app, ["db", "replica", "status"], env={"COLUMNS": "200"}).output
        assert "cli_one" in stopped and "streaming" not in stopped
        assert runner.invoke(app, ["db", "replica", "start", "cli_one"]).exit_code == 0
        _wait_for(streaming, "the standby streaming again")

        removed = runner.invoke(app, ["db", "replica", "remove", "cli_one"])
        assert removed.exit_code == 0 and "removed cli_one" in removed.output
        assert "no replicas" in runner.invoke(app, ["db", "replica", "status"]).output
        unknown = runner.invoke(app, ["db", "replica", "remove", "cli_one"])
        assert unknown.exit_code == 2 and "no replica called" in unknown.output
    finally:
        _teardown(Cluster.for_project(root / "data", 1))
        get_settings.cache_clear()
        shutil.rmtree(root, ignore_errors=True)
