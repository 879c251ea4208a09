"""Reads routed to a real hot standby (issue 21), through a real service process.

A throwaway primary is migrated, a standby is made of it with ``xiangmap``'s own replica machinery, and the
service runs as a uvicorn process with ``XIANGMAP_REPLICA_URLS`` naming the standby.  The standby applies WAL
1.5 s late (``recovery_min_apply_delay``), so a read that went to it right after a write would miss the write:
  - reads of items, tiles and map data reach the standby (``pg_stat_activity`` on each server shows who);
  - the client that just wrote reads its write at once (its ``X-Data-Version``);
  - killing the standby in the middle of a read load leaves every answer a 200, and it rejoins;
  - a standby whose replay is paused past the lag bound is dropped, without a 5xx, until it catches up.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine

from service import migrate
from service import replicas as rp
from service.pgcluster import Cluster, ClusterError, free_port, pg_bindir
from service.settings import PROJECT_ROOT


def _no_basebackup() -> bool:
    try:
        return not (pg_bindir() / "pg_basebackup").exists()
    except ClusterError:
        return True


pytestmark = pytest.mark.skipif(_no_basebackup(), reason="pg_basebackup (PostgreSQL server binaries) not installed")
MAX_LAG_S = 3.0


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 40) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(psycopg.OperationalError, httpx.HTTPError):
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _sql(cluster: Cluster, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(cluster.libpq_url(), autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else []


def _readers(cluster: Cluster) -> int:
    """Connections of the service's read engines (application_name xiangmap-read) on ``cluster``."""
    rows = _sql(cluster, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'xiangmap-read'")
    return int(rows[0][0])


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Cluster, Cluster]]:
    primary = Cluster.throwaway_cluster()
    try:
        primary.ensure()
        migrate.upgrade(create_engine(primary.url()))
        replica = rp.add_replica(primary, "reader1")
        standby = rp.standby_server(primary, replica)
        _sql(standby, "ALTER SYSTEM SET recovery_min_apply_delay = '1500ms'")
        _sql(standby, "SELECT pg_reload_conf()")
        yield primary, standby
    finally:
        for r in rp.replicas(primary):
            with contextlib.suppress(ClusterError):
                rp.stop_replica(primary, r.name)
        primary.destroy()


@pytest.fixture(scope="module")
def service(pair: tuple[Cluster, Cluster], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    primary, _ = pair
    port = free_port()
    [standby_url] = rp.replica_urls(primary)
    env = {
        **os.environ,
        "DATABASE_URL": primary.url(),
        "XIANGMAP_APP_DATABASE_URL": primary.app_url() or "",
        "XIANGMAP_REPLICA_URLS": standby_url,
        "XIANGMAP_REPLICA_MAX_LAG_S": str(MAX_LAG_S),
        "XIANGMAP_REPLICA_CHECK_S": "0.2",
        "XIANGMAP_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "XIANGMAP_RATE_LIMITS_ENABLED": "false",
    }
    log = tmp_path_factory.mktemp("log") / "service.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, "the service", 60)
        yield base
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()


def _token(primary: Cluster, name: str, role: str) -> str:
    from sqlalchemy.orm import Session

    from service.security import create_user

    with Session(create_engine(primary.url())) as session:
        token = create_user(session, name, role)
        session.commit()
    return token


@pytest.fixture(scope="module")
def gis_token(pair: tuple[Cluster, Cluster]) -> str:
    return _token(pair[0], "replica-gis", "gis")


@pytest.fixture(scope="module")
def viewer_token(pair: tuple[Cluster, Cluster]) -> str:
    return _token(pair[0], "replica-viewer", "viewer")


def _points(n: int) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"编号": f"S{i}", "名称": f"站点{i}"},
            "geometry": {"type": "Point", "coordinates": [113.0 + i / 1000, 27.9]},
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _publish(base: str, token: str, layer_id: str, n: int) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"}
    up = httpx.post(f"{base}/layers/uploads", files={"file": ("s.geojson", _points(n))}, headers=auth, timeout=30)
    assert up.status_code == 201, up.text
    body = {"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": "站点"}
    done = httpx.post(f"{base}/layers", json=body, headers=auth, timeout=60)
    assert done.status_code == 201, done.text
    return done


def test_reads_go_to_the_standby_and_a_writer_reads_its_write_at_once(  # type: ignore[no-untyped-def]
    pair, service: str, gis_token: str, viewer_token: str
) -> None:
    primary, standby = pair
    done = _publish(service, gis_token, "stations_a", 5)
    seen = done.headers["X-Data-Version"]
    assert "xm_seen=" in done.headers["set-cookie"]
    # the writer, at once: its own write, although the standby applies it 1.5 s later
    mine = httpx.get(f"{service}/collections/stations_a/items", headers={"X-Data-Version": seen}, timeout=10)
    assert mine.status_code == 200 and len(mine.json()["features"]) == 5, mine.text
    # once the standby has replayed the write, everyone's reads go there
    _wait(
        lambda: (
            httpx.get(f"{service}/collections/stations_a/items", timeout=10).status_code == 200
            and _readers(standby) > 0
        ),
        "reads on the standby",
    )
    for _ in range(10):
        assert httpx.get(f"{service}/collections/stations_a/items", timeout=10).status_code == 200
        tile = httpx.get(f"{service}/collections/stations_a/tiles/WebMercatorQuad/10/428/854", timeout=10)
        assert tile.status_code in (200, 204), tile.text
    assert _readers(standby) > 0 and _readers(primary) == 0  # the read engines connect to the standby only
    # the map data and a viewer's ledger read the projects on the standby (its own table statistics count them)
    scans = "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'projects'"
    before = _sql(standby, scans)[0][0]
    assert httpx.get(f"{service}/maps/data/projects.geojson", timeout=10).status_code == 200
    ledger = httpx.get(f"{service}/ledger", headers={"Authorization": f"Bearer {viewer_token}"}, timeout=10)
    assert ledger.status_code == 200 and "台账" in ledger.text
    assert _wait(lambda: _sql(standby, scans)[0][0] > before, "the standby's own statistics", 10)
    health = httpx.get(f"{service}/healthz", timeout=10).json()
    assert health["replicas"][0]["usable"] is True and health["replicas"][0]["lag_s"] is not None


def test_killing_the_standby_mid_load_leaves_no_error_and_it_rejoins(pair, service: str, gis_token: str) -> None:  # type: ignore[no-untyped-def]
    primary, standby = pair
    _publish(service, gis_token, "stations_b", 50)
    _wait(lambda: httpx.get(f"{service}/collections/stations_b/items", timeout=10).status_code == 200, "replay")
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=20) as client:
            while not stop.is_set():
                statuses.append(client.get(f"{service}/collections/stations_b/items?limit=20").status_code)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    subprocess.run(  # an immediate stop: connections cut as a crash would
        [
            *(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
            str(pg_bindir() / "pg_ctl"),
            "stop",
            "-D",
            str(standby.pgdata),
            "-m",
            "immediate",
            "-w",
        ],
        check=True,
        capture_output=True,
    )
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    health = httpx.get(f"{service}/healthz", timeout=10).json()
    assert health["replicas"][0]["up"] is False
    rp.start_replica(primary, "reader1")
    _wait(lambda: httpx.get(f"{service}/healthz", timeout=10).json()["replicas"][0]["usable"], "the rejoin")
    _wait(
        lambda: (
            httpx.get(f"{service}/collections/stations_b/items", timeout=10).status_code == 200
            and _readers(standby) > 0
        ),
        "reads on the standby again",
    )


def test_a_standby_past_the_lag_bound_is_dropped_until_it_catches_up(pair, service: str, gis_token: str) -> None:  # type: ignore[no-untyped-def]
    _, standby = pair
    _sql(standby, "SELECT pg_wal_replay_pause()")
    try:
        _publish(service, gis_token, "stations_c", 3)
        _wait(
            lambda: not httpx.get(f"{service}/healthz", timeout=10).json()["replicas"][0]["usable"],
            "the standby dropped",
            MAX_LAG_S + 10,
        )
        for _ in range(5):  # everyone is served by the primary meanwhile: the new layer is there, no 5xx
            assert httpx.get(f"{service}/collections/stations_c/items", timeout=10).status_code == 200
    finally:
        _sql(standby, "SELECT pg_wal_replay_resume()")
    _wait(lambda: httpx.get(f"{service}/healthz", timeout=10).json()["replicas"][0]["usable"], "caught up")
