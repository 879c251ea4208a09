"""Read throughput with 0, 1 and 2 hot standbys, side by side in one run, and the lag observed (issue 21).

Run: ``.venv/bin/python -m bench scale [--quick] [--duration=30] [--connections=32] [--cache-mb=0]
[--async-commit]`` (about 3 minutes; ``--quick``: 10 s runs, about 1.5 minutes).

One throwaway primary (socket-only, fsync off, ``synchronous_commit`` set back on as in production unless
``--async-commit``: with it off, a commit's WAL waits up to ``wal_writer_delay``, 200 ms, before a standby is
sent it), migrated; through the API (a gis token, the service as a uvicorn process) one point layer of
20,000 features over Chang-Zhu-Tan (``scale_points``) and a small polygon layer (``scale_zone``, the writes'
target) are published; then two standbys are made with ``service.replicas.add_replica`` ("r1", "r2").
Three runs follow, each with the service started afresh (``uvicorn --workers 2``) with
``XIANGMAP_REPLICA_URLS`` naming none, r1, then r1 and r2:

- a 3 s warm-up of the read mix, then ``/healthz`` alone (the baseline: the floor of the stack, always
  served by the primary) and the read mix with wrk: ``/collections/scale_points/items?limit=100&bbox=...``
  over 50 bboxes and vector tiles at z12-14 over the same area (150 tiles), in turn;
- during the mix, in all three runs alike, a trickle of writes: ``PUT /layers/scale_zone/protected``
  toggled by the gis user every 2 s (each bumps the data version, so the standbys have WAL to replay and
  the router has a version to compare); in the replica runs, the lag: each write's bump as each standby
  shows it (its ``data_version`` polled every 2 ms from before the write is sent; the time it first shows
  the new version minus the bump's ``changed_at``, the primary's clock at commit, this machine's clock),
  and, sampled every 0.25 s, as the router sees it (``/healthz`` ``replicas[].lag_s``, answered by either
  worker) and as the primary sees it (``pg_stat_replication.replay_lag`` and
  ``pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)``);
- who served the reads: the scans of ``scale_points`` (``pg_stat_user_tables`` idx_scan + seq_scan: only the
  read mix touches that table) and ``xact_commit`` of ``pg_stat_database`` on the primary and each standby,
  read before the service starts and after it has stopped (a backend's statistics are flushed when it exits),
  and the connections of the read engines (``application_name = 'xiangmap-read'``) while it runs.

The response cache is off by default (``XIANGMAP_RESPONSE_CACHE_MB=0``) so that every read runs its SQL on the
server it was routed to; ``--cache-mb=64`` runs as deployed.  The machine has 2 cores that the primary, the
standbys, the service and wrk all share: more standbys cannot add throughput here.  What the run shows is that
the reads reach the standbys, are spread over both, come back without errors, and how far behind they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.load import _ensure_wrk, _lua_script, _start_wrk, _wrk_figures

ROOT = Path(__file__).resolve().parent.parent
BOX = (112.6, 27.6, 113.4, 28.4)  # lon/lat, Chang-Zhu-Tan
POINTS = 20_000
LAYER = "scale_points"
ZONE = "scale_zone"
SEED = 21  # issue 21
BBOXES = 50
TILES_PER_ZOOM = 50
ZOOMS = (12, 13, 14)
WRITE_EVERY_S = 2.0
SAMPLE_EVERY_S = 0.25
CORES_NOTE = (
    "2 cores: primary, standbys, service and wrk share them, so more replicas cannot add throughput here; "
    "the figures show the routing works with zero errors and what the lag is"
)


# ---- the machine ----------------------------------------------------------------------------------
def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _ram_gb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return float("nan")


# ---- the data ---------------------------------------------------------------------------------------
def _points_geojson(n: int) -> bytes:
    rnd = random.Random(SEED)
    features = [
        {
            "type": "Feature",
            "properties": {"编号": f"P{i:06d}", "名称": f"点位{i:06d}", "等级": rnd.randint(1, 5)},
            "geometry": {
                "type": "Point",
                "coordinates": [round(rnd.uniform(BOX[0], BOX[2]), 6), round(rnd.uniform(BOX[1], BOX[3]), 6)],
            },
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _zone_geojson() -> bytes:
    features = []
    for i, (lon, lat) in enumerate([(112.9, 27.85), (113.0, 27.9), (113.1, 27.95), (113.15, 28.1)]):
        ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
        features.append(
            {
                "type": "Feature",
                "properties": {"编号": f"Z{i}", "名称": f"保护区{i}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _publish(base: str, token: str, layer_id: str, title: str, content: bytes) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    file = {"file": (f"{layer_id}.geojson", content)}
    up = httpx.post(f"{base}/layers/uploads", files=file, headers=auth, timeout=120)
    if up.status_code != 201:
        raise RuntimeError(f"upload of {layer_id}: {up.status_code} {up.text[:500]}")
    body = {"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": title}
    done = httpx.post(f"{base}/layers", json=body, headers=auth, timeout=600)
    if done.status_code != 201:
        raise RuntimeError(f"publish of {layer_id}: {done.status_code} {done.text[:500]}")


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def read_mix() -> list[tuple[str, str, str | None]]:
    """50 items pages (bboxes of 0.06-0.12 degrees, 100 features each) and 150 tiles at z12-14, interleaved."""
    rnd = random.Random(SEED)
    items = []
    for _ in range(BBOXES):
        w, h = rnd.uniform(0.06, 0.12), rnd.uniform(0.06, 0.12)
        x0, y0 = rnd.uniform(BOX[0], BOX[2] - w), rnd.uniform(BOX[1], BOX[3] - h)
        bbox = f"{x0:.4f},{y0:.4f},{x0 + w:.4f},{y0 + h:.4f}"
        items.append(("GET", f"/collections/{LAYER}/items?limit=100&bbox={bbox}", None))
    tiles = []
    for z in ZOOMS:
        x_min, y_min = _tile_xy(BOX[0], BOX[3], z)  # north-west corner: the smallest row
        x_max, y_max = _tile_xy(BOX[2], BOX[1], z)
        every = [(x, y) for x in range(x_min, x_max + 1) for y in range(y_min, y_max + 1)]
        for x, y in rnd.sample(every, min(TILES_PER_ZOOM, len(every))):
            tiles.append(("GET", f"/collections/{LAYER}/tiles/WebMercatorQuad/{z}/{y}/{x}", None))
    mix: list[tuple[str, str, str | None]] = []
    for i in range(max(len(items), len(tiles))):  # about one items page for three tiles, spread evenly
        if i < len(items):
            mix.append(items[i])
        mix.extend(tiles[3 * i : 3 * i + 3])
    return mix


# ---- the databases ----------------------------------------------------------------------------------
def _sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def _counters(url: str) -> tuple[int, int]:
    """(scans of the layer's table, committed transactions of the database) on one server."""
    [(scans, xacts)] = _sql(
        url,
        "SELECT (SELECT coalesce(sum(coalesce(idx_scan, 0) + coalesce(seq_scan, 0)), 0) FROM pg_stat_user_tables"
        " WHERE relname = %s), (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())",
        (LAYER,),
    )
    return int(scans), int(xacts)


def _readers(url: str) -> int:
    [(n,)] = _sql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'xiangmap-read'")
    return int(n)


def _wait_no_app_connections(url: str, role: str, timeout_s: float = 15) -> None:
    """Until the service's backends have exited (and so flushed their statistics)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        [(n,)] = _sql(url, "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,))
        if n == 0:
            return
        time.sleep(0.2)


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(psycopg.OperationalError, httpx.HTTPError):
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


# ---- the service ------------------------------------------------------------------------------------
@dataclass
class Service:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def serving(primary: Any, replica_urls: list[str], workdir: Path, label: str, cache_mb: int) -> Iterator[Service]:
    from service.pgcluster import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": primary.url(),
        "XIANGMAP_APP_DATABASE_URL": primary.app_url() or primary.url(),  # served as in production
        "XIANGMAP_REPLICA_URLS": ",".join(replica_urls),
        "XIANGMAP_DATA_DIR": str(workdir / "data"),
        "XIANGMAP_RATE_LIMITS_ENABLED": "false",
        "XIANGMAP_RESPONSE_CACHE_MB": str(cache_mb),
    }
    log = workdir / f"service-{label}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "service.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("the service exited:\n" + log.read_text(errors="replace")[-3000:])
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200

    try:
        _wait(ready, "the service", 90)
        yield Service(base, proc, log)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this bench started (uvicorn and its workers)
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError):  # a worker left behind by its supervisor
        os.killpg(proc.pid, signal.SIGKILL)


def _all_usable(base: str, n: int) -> bool:
    """Both workers (asked several times: each answer is one worker's) see ``n`` usable standbys."""
    for _ in range(8):
        replicas = httpx.get(f"{base}/healthz", timeout=5).json().get("replicas", [])
        if len(replicas) != n or not all(r["usable"] for r in replicas):
            return False
    return True


# ---- during a run: writes and lag samples -----------------------------------------------------------
@dataclass
class Trickle:
    """The writes (every WRITE_EVERY_S) and the lag samples (every SAMPLE_EVERY_S) of one run."""

    base: str
    token: str
    primary_url: str
    names_by_port: dict[str, str]  # standby port -> name, for /healthz
    slots: dict[str, str]  # slot -> name, for pg_stat_replication
    sample: bool
    standby_urls: dict[str, str] = field(default_factory=dict)  # the run's standbys: name -> superuser URL
    writes: list[int] = field(default_factory=list)
    visible_after: dict[str, list[float]] = field(default_factory=dict)  # s from the bump to the standby having it
    never_visible: dict[str, int] = field(default_factory=dict)
    router_lag: dict[str, list[float]] = field(default_factory=dict)
    router_unusable: dict[str, int] = field(default_factory=dict)
    replay_lag: dict[str, list[float]] = field(default_factory=dict)
    replay_lag_null: dict[str, int] = field(default_factory=dict)
    lag_bytes: dict[str, list[int]] = field(default_factory=dict)
    sample_errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._write, daemon=True)]
        if self.sample:
            self._threads.append(threading.Thread(target=self._sample, daemon=True))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _write(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        # toggled from what it is now (a PUT that sets the flag it already has changes nothing: no bump)
        [(protected,)] = _sql(self.primary_url, "SELECT protected FROM layer_catalogue WHERE id = %s", (ZONE,))
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(httpx.Client(timeout=30))
            polls = {
                name: stack.enter_context(psycopg.connect(url, autocommit=True))
                for name, url in self.standby_urls.items()
            }
            while not self._stop.wait(WRITE_EVERY_S):
                protected = not protected
                # each standby watched from before the write is sent until it has the write's bump
                watchers = [
                    threading.Thread(target=self._visible, args=(name, conn, self._version(conn)), daemon=True)
                    for name, conn in polls.items()
                ]
                for w in watchers:
                    w.start()
                try:
                    r = client.put(f"{self.base}/layers/{ZONE}/protected", json={"protected": protected}, headers=auth)
                    self.writes.append(r.status_code)
                except httpx.HTTPError:
                    self.writes.append(-1)
                for w in watchers:
                    w.join(15)

    @staticmethod
    def _version(conn: psycopg.Connection[Any]) -> tuple[int, float]:
        row = conn.execute("SELECT version, extract(epoch FROM changed_at)::float8 FROM data_version").fetchone()
        assert row is not None
        return int(row[0]), float(row[1])

    def _visible(self, name: str, conn: psycopg.Connection[Any], before: tuple[int, float]) -> None:
        """When the standby has a newer version than ``before``: the time (this machine's clock, which the
        primary shares) minus the bump's ``changed_at`` on the primary, polled every 2 ms."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            version, changed_at = self._version(conn)
            if version > before[0]:
                self.visible_after.setdefault(name, []).append(max(time.time() - changed_at, 0.0))
                return
            time.sleep(0.002)
        self.never_visible[name] = self.never_visible.get(name, 0) + 1

    def _sample(self) -> None:
        from sqlalchemy.engine import make_url

        query = (
            "SELECT s.slot_name, extract(epoch FROM r.replay_lag)::float8,"
            " pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint"
            " FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid"
        )
        with httpx.Client(timeout=10) as client, psycopg.connect(self.primary_url, autocommit=True) as conn:
            while not self._stop.wait(SAMPLE_EVERY_S):
                try:
                    for entry in client.get(f"{self.base}/healthz").json().get("replicas", []):
                        port = make_url(entry["url"]).query.get("port")
                        name = self.names_by_port.get(str(port), str(entry["url"]))
                        if entry["lag_s"] is not None:
                            self.router_lag.setdefault(name, []).append(float(entry["lag_s"]))
                        if not entry["usable"]:
                            self.router_unusable[name] = self.router_unusable.get(name, 0) + 1
                    for slot, lag, lag_bytes in conn.execute(query):
                        name = self.slots.get(slot, slot)
                        if lag is None:
                            self.replay_lag_null[name] = self.replay_lag_null.get(name, 0) + 1
                        else:
                            self.replay_lag.setdefault(name, []).append(float(lag))
                        if lag_bytes is not None:
                            self.lag_bytes.setdefault(name, []).append(int(lag_bytes))
                except (httpx.HTTPError, psycopg.Error, ValueError) as error:
                    self.sample_errors.append(str(error)[:200])


# ---- the bench --------------------------------------------------------------------------------------
@dataclass
class Run:
    label: str
    standbys: list[str]
    healthz: dict[str, float]
    mix: dict[str, float]
    trickle: Trickle
    served: dict[str, tuple[int, int]]  # server -> (layer scans, transactions) during the run
    readers: dict[str, int]  # server -> read-engine connections while the service ran
    versions: int  # data versions the primary moved through during the mix
    load_before: str
    load_after: str
    log_lines: list[str]


def _med_max_ms(s: list[float]) -> tuple[str, str]:
    return (f"{statistics.median(s) * 1000:.0f}", f"{max(s) * 1000:.0f}") if s else ("-", "-")


def main(argv: list[str]) -> None:
    opts = dict(a.lstrip("-").split("=", 1) if "=" in a else (a.lstrip("-"), "1") for a in argv)
    quick = "quick" in opts
    duration = int(opts.get("duration", 10 if quick else 30))
    connections = int(opts.get("connections", 32))
    healthz_s = int(opts.get("healthz-duration", 5 if quick else 10))
    cache_mb = int(opts.get("cache-mb", 0))
    async_commit = "async-commit" in opts
    wrk = _ensure_wrk()

    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from service import migrate
    from service import replicas as rp
    from service.pgcluster import Cluster, ClusterError
    from service.security import create_user

    print(f"load average at start: {_load()}", flush=True)
    primary = Cluster.throwaway_cluster()
    workdir = Path(tempfile.mkdtemp(prefix="xm-scale-"))
    runs: list[Run] = []
    try:
        t0 = time.monotonic()
        primary.ensure()
        engine = create_engine(primary.url())
        migrate.upgrade(engine)
        with Session(engine) as session:
            token = create_user(session, "scale-gis", "gis")
            session.commit()
        [(pg_version,)] = _sql(primary.libpq_url(), "SHOW server_version")
        if not async_commit:
            # the throwaway cluster commits with synchronous_commit = off: its WAL then waits for the WAL writer
            # (wal_writer_delay, 200 ms) before a standby is sent it; production commits with it on
            _sql(primary.libpq_url(), "ALTER SYSTEM SET synchronous_commit = on")
            _sql(primary.libpq_url(), "SELECT pg_reload_conf()")
        [(sync_commit,)] = _sql(primary.libpq_url(), "SHOW synchronous_commit")
        engine.dispose()
        with serving(primary, [], workdir, "publish", cache_mb) as svc:
            _publish(svc.base, token, LAYER, "点位", _points_geojson(POINTS))
            _publish(svc.base, token, ZONE, "保护区", _zone_geojson())
        [(count,)] = _sql(primary.libpq_url(), f"SELECT count(*) FROM {LAYER}")
        for name in ("r1", "r2"):
            rp.add_replica(primary, name)
        servers: dict[str, str] = {"primary": primary.libpq_url()}
        names_by_port: dict[str, str] = {}
        app_urls: dict[str, str] = {}
        for replica in rp.replicas(primary):
            standby = rp.standby_server(primary, replica)
            servers[replica.name] = standby.libpq_url()
            names_by_port[str(replica.port)] = replica.name
            app_urls[replica.name] = standby.app_url() or standby.url()
        slots = {r.slot: r.name for r in rp.replicas(primary)}
        version_sql = "SELECT version FROM data_version"
        head = _sql(primary.libpq_url(), version_sql)[0][0]
        for name in ("r1", "r2"):
            _wait(lambda n=name: _sql(servers[n], version_sql)[0][0] >= head, f"standby {name} to catch up")
        print(
            f"machine: {os.cpu_count()} cores, {_ram_gb():.1f} GB RAM, PostgreSQL {pg_version}, "
            f"Python {platform.python_version()}, load average {_load()}"
        )
        print(CORES_NOTE + ".")
        print(
            f"data: {LAYER} {count:,} points over lon {BOX[0]}-{BOX[2]}, lat {BOX[1]}-{BOX[3]}, published through "
            f"the API; standbys r1 (port {app_urls['r1'].rsplit('port=', 1)[-1]}) and r2 "
            f"(port {app_urls['r2'].rsplit('port=', 1)[-1]}) streaming from the primary; "
            f"setup {time.monotonic() - t0:.0f} s"
        )
        mix = read_mix()
        n_items = sum("/items?" in p for _, p, _ in mix)
        print(
            f"read mix: {n_items} items pages (limit=100, bbox) and {len(mix) - n_items} tiles (z12-14), in turn; "
            f"wrk {connections} connections, {duration} s per run (after a 3 s warm-up), /healthz alone {healthz_s} s; "
            f"uvicorn --workers 2; response cache {'off' if cache_mb == 0 else f'{cache_mb} MB'}; "
            f"primary fsync off, synchronous_commit {sync_commit}; "
            f"a PUT /layers/{ZONE}/protected every {WRITE_EVERY_S:.0f} s in every run; "
            "XIANGMAP_REPLICA_MAX_LAG_S / CHECK_S at their defaults",
            flush=True,
        )
        mix_script = _lua_script(mix, None)
        healthz_script = _lua_script([("GET", "/healthz", None)], None)
        app_role = primary.app_role
        for label, names in (("0 replicas", []), ("1 replica (r1)", ["r1"]), ("2 replicas (r1, r2)", ["r1", "r2"])):
            for url in servers.values():
                _wait_no_app_connections(url, app_role)
            before = {s: _counters(url) for s, url in servers.items()}
            load_before = _load()
            with serving(primary, [app_urls[n] for n in names], workdir, label.split()[0], cache_mb) as svc:
                if names:
                    _wait(lambda n=len(names): _all_usable(svc.base, n), f"{label}: standbys usable", 60)
                _wrk_figures(_start_wrk(wrk, svc.base, mix_script, 3, connections))  # warm-up
                healthz = _wrk_figures(_start_wrk(wrk, svc.base, healthz_script, healthz_s, connections))
                trickle = Trickle(
                    svc.base,
                    token,
                    primary.libpq_url(),
                    names_by_port,
                    slots,
                    sample=bool(names),
                    standby_urls={n: servers[n] for n in names},
                )
                v0 = _sql(primary.libpq_url(), version_sql)[0][0]
                trickle.start()
                try:
                    figures = _wrk_figures(_start_wrk(wrk, svc.base, mix_script, duration, connections))
                finally:
                    trickle.stop()
                v1 = _sql(primary.libpq_url(), version_sql)[0][0]
                readers = {s: _readers(url) for s, url in servers.items()}
                load_after = _load()
            for url in servers.values():
                _wait_no_app_connections(url, app_role)
            after = {s: _counters(url) for s, url in servers.items()}
            served = {s: (after[s][0] - before[s][0], after[s][1] - before[s][1]) for s in servers}
            text = svc.log.read_text(errors="replace").splitlines()
            log_lines = [ln for ln in text if any(w in ln for w in ("WARNING", "ERROR", "Traceback", "standby"))]
            runs.append(
                Run(
                    label,
                    names,
                    healthz,
                    figures,
                    trickle,
                    served,
                    readers,
                    v1 - v0,
                    load_before,
                    load_after,
                    log_lines,
                )
            )
            print(
                f"  {label}: {figures['rps']:.0f} req/s, {int(figures['non2xx'])} non-2xx, {int(figures['errors'])} "
                f"socket errors (load average {load_before} -> {load_after})",
                flush=True,
            )
        _report(runs)
    finally:
        for replica in rp.replicas(primary):
            with contextlib.suppress(ClusterError, OSError):
                rp.stop_replica(primary, replica.name)
        primary.destroy()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        print(f"cleaned up (primary, standbys, service); load average at the end: {_load()}")


def _report(runs: list[Run]) -> None:
    base = runs[0]
    print()
    print(
        f"{'run':22} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'errors':>6} "
        f"{'req/s / 0':>9} {'p50 / 0':>7} {'p99 / 0':>7} | {'/healthz req/s':>14} {'p99 ms':>7} {'req/s / 0':>9}"
    )
    for r in runs:
        m, h = r.mix, r.healthz
        print(
            f"{r.label:22} {m['rps']:7.0f} {m['p50_ms']:7.1f} {m['p99_ms']:7.1f} {int(m['non2xx']):7d} "
            f"{int(m['errors']):6d} {m['rps'] / base.mix['rps']:9.2f} {m['p50_ms'] / base.mix['p50_ms']:7.2f} "
            f"{m['p99_ms'] / base.mix['p99_ms']:7.2f} | {h['rps']:14.0f} {h['p99_ms']:7.1f} "
            f"{h['rps'] / base.healthz['rps']:9.2f}"
        )
    print(
        "(baseline: /healthz alone, one query on the primary, measured in each run; ratios: against the 0-replica run)"
    )
    print()
    print("who served the reads: scans of the layer's table (only the read mix touches it; warm-up included),")
    print("committed transactions (everything: reads, the watchers' checks, /healthz, writes), read-engine connections")
    print(f"{'run':22} {'server':8} {'layer scans':>11} {'share':>6} {'xact_commit':>11} {'xiangmap-read conns':>19}")
    for r in runs:
        total = sum(s for s, _ in r.served.values()) or 1
        for server, (scans, xacts) in r.served.items():
            print(
                f"{r.label:22} {server:8} {scans:11,d} {100 * scans / total:5.1f}% {xacts:11,d} "
                f"{r.readers.get(server, 0):19d}"
            )
    print()
    print("lag per standby during the mix (median and max): each write's bump visible on the standby (ms after the")
    print("bump's changed_at, polled every 2 ms); the router's view (/healthz lag_s, on the data version, the watcher")
    print("every 0.5 s; 'unusable' samples); the primary's (pg_stat_replication replay_lag ms, 'null' when caught up")
    print("and idle; WAL bytes not yet replayed)")
    print(
        f"{'run':22} {'standby':7} {'writes':>6} {'visible med':>11} {'max':>5} {'samples':>7} {'router med':>10} "
        f"{'max':>5} {'unusable':>8} {'replay med':>10} {'max':>5} {'null':>4} {'bytes med':>9} {'max':>6}"
    )
    for r in runs:
        t = r.trickle
        for name in r.standbys:
            rl, pl, lb = t.router_lag.get(name, []), t.replay_lag.get(name, []), t.lag_bytes.get(name, [])
            va = t.visible_after.get(name, [])
            (v_med, v_max), (r_med, r_max), (p_med, p_max) = _med_max_ms(va), _med_max_ms(rl), _med_max_ms(pl)
            missing = t.never_visible.get(name, 0)
            print(
                f"{r.label:22} {name:7} {len(va):6d} {v_med:>11} {v_max:>5} {len(rl):7d} {r_med:>10} {r_max:>5} "
                f"{t.router_unusable.get(name, 0):8d} {p_med:>10} {p_max:>5} {t.replay_lag_null.get(name, 0):4d} "
                f"{(f'{statistics.median(lb):,.0f}' if lb else '-'):>9} {(f'{max(lb):,d}' if lb else '-'):>6}"
                + (f"  ({missing} writes not visible within 10 s)" if missing else "")
            )
    print()
    for r in runs:
        ok = sum(1 for s in r.trickle.writes if 200 <= s < 300)
        other = sorted({s for s in r.trickle.writes if not 200 <= s < 300})
        print(
            f"{r.label}: {len(r.trickle.writes)} writes ({ok} 2xx{', others: ' + str(other) if other else ''}), "
            f"the data version moved {r.versions} times; load average {r.load_before} -> {r.load_after}"
            + (f"; {len(r.trickle.sample_errors)} failed samples" if r.trickle.sample_errors else "")
        )
        for line in r.log_lines[:10]:
            print(f"    service log: {line[:200]}")
        if len(r.log_lines) > 10:
            print(f"    service log: ... {len(r.log_lines) - 10} more such lines")
    print()
    clean = all(
        r.mix["non2xx"] == 0 and r.mix["errors"] == 0 and r.healthz["non2xx"] == 0 and r.healthz["errors"] == 0
        for r in runs
    )
    print(f"{'PASS' if clean else 'FAIL'} zero non-2xx and zero socket errors in every run")
    for r in runs[1:]:
        scans = {s: r.served[s][0] for s in r.served}
        standby_scans = sum(scans[n] for n in r.standbys)
        used = all(scans[n] > 0 for n in r.standbys)
        total = sum(scans.values()) or 1
        print(
            f"{'PASS' if used and standby_scans / total > 0.9 else 'FAIL'} {r.label}: "
            f"{100 * standby_scans / total:.1f}% of the layer's scans on the standbys "
            + ", ".join(f"{n} {100 * scans[n] / total:.1f}%" for n in r.standbys)
            + f", primary {100 * scans['primary'] / total:.1f}%"
        )
    writes_ok = all(r.trickle.writes and all(200 <= s < 300 for s in r.trickle.writes) for r in runs)
    print(f"{'PASS' if writes_ok else 'FAIL'} every write of the trickle answered 2xx")
    print(CORES_NOTE + ".")


if __name__ == "__main__":
    main(sys.argv[1:])
