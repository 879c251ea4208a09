"""OGC API speed: xiangmap against tipg and the raw SQL floor, on one synthetic database.

``.venv/bin/python -m bench ogc [--quick]``

1. a throwaway PostGIS cluster, migrated; 200,000 synthetic roads (half of them packed around
   central Zhuzhou), 100,000 projects with a progress report each, 1,000,000 site points;
2. xiangmap and tipg (pip-installed into the venv here, never a project dependency), each one
   uvicorn process on the same database;
3. ``/collections/roads/items?limit=1000&bbox=...`` in the densest area, an MVT tile at z14 there,
   and the SQL xiangmap sends for that page run directly with psycopg (the floor);
4. a 1,000,000-feature GeoPackage download, with the xiangmap process's peak memory (VmHWM).
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from service.pgcluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (113.13, 27.83)  # central Zhuzhou: the dense half of the roads
BBOX = (113.12, 27.82, 113.14, 27.84)
ROADS, PROJECTS, POINTS = 200_000, 100_000, 1_000_000


def _say(text: str) -> None:
    print(text, flush=True)


def _fill(url: str, roads: int, projects: int, points: int) -> None:
    """Synthetic rows written by PostgreSQL itself (generate_series), then ANALYZE."""
    dx, dy = CENTRE
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"""
            INSERT INTO roads (key, name, source, district, road_class, accuracy_m, geom)
            SELECT 'bench-' || g, '测试路' || g, 'bench', '芦淞区', 'urban', 25,
                   ST_Multi(ST_SetSRID(ST_MakeLine(ARRAY(
                       SELECT ST_MakePoint(x + i * 0.0008, y + (random() - 0.5) * 0.0015)
                       FROM generate_series(0, 7) i WHERE g > 0)), 4326))
            FROM (SELECT g,
                         CASE WHEN g % 2 = 0 THEN {dx} + (random() - 0.5) * 0.2 ELSE 112.6 + random() END AS x,
                         CASE WHEN g % 2 = 0 THEN {dy} + (random() - 0.5) * 0.2 ELSE 27.2 + random() * 1.2 END AS y
                  FROM generate_series(1, {roads}) g) s
            """
        )
        conn.execute("INSERT INTO plans (id, title, year) VALUES ('bench', '基准计划', 2018) ON CONFLICT DO NOTHING")
        conn.execute(
            f"""
            INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, responsible_units,
                                  deadline, year, precision, location_status, geom)
            SELECT 'bench-' || g, 'bench', '项目' || g, '任务' || g, (ARRAY['改革','生态','绿心'])[1 + g % 3],
                   ARRAY['市发改委'], ARRAY['石峰区政府','市环保局'], DATE '2018-12-31', 2018, 2, 'auto',
                   ST_SetSRID(ST_MakePoint({dx} + (random() - 0.5) * 0.4, {dy} + (random() - 0.5) * 0.4), 4326)
            FROM generate_series(1, {projects}) g
            """
        )
        conn.execute(
            """
            INSERT INTO progress_reports (project_id, period, status, percent, investment_wan)
            SELECT id, DATE '2018-06-01', '推进中', (id % 100), 100 FROM projects WHERE plan_id = 'bench'
            """
        )
        conn.execute(
            f"""
            INSERT INTO sites (key, name, source, kind, geom)
            SELECT 'bench-' || g, '地点' || g, 'bench', 'point',
                   ST_SetSRID(ST_MakePoint(112.6 + random(), 27.2 + random() * 1.2), 4326)
            FROM generate_series(1, {points}) g
            """
        )
        conn.execute("VACUUM ANALYZE")


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, **env},
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"server {args} did not start")


def _ensure_tipg() -> None:
    try:
        import tipg  # noqa: F401
    except ImportError:
        _say("installing tipg into the venv for this benchmark (not a project dependency) ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tipg"], check=True)


def _time(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _get(client: httpx.Client, url: str, expect_features: int | None = None) -> Callable[[], object]:
    def run() -> object:
        response = client.get(url, headers={"Accept": "application/geo+json"})
        response.raise_for_status()
        if expect_features is not None:
            body = response.json()
            assert len(body["features"]) == expect_features, (url, len(body["features"]))
        return response.content

    return run


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _row(label: str, times: list[float], baseline: float | None = None) -> float:
    median = statistics.median(times)
    ratio = f"  {baseline / median:5.2f}x tipg's speed" if baseline else ""
    p90 = sorted(times)[int(len(times) * 0.9)]
    _say(f"  {label:<34} median {median * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms{ratio}")
    return median


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    roads, projects, points = (20_000, 10_000, 100_000) if quick else (ROADS, PROJECTS, POINTS)
    runs = 10 if quick else 30
    _ensure_tipg()
    # TCP with a password (tipg's settings refuse a socket-only URL); fsync off like the test clusters
    root = Path(tempfile.mkdtemp(prefix="xm-bench-"))
    root.chmod(0o755)
    cluster = Cluster(pgdata=root / "pg", port=free_port(), password=secrets.token_urlsafe(12), throwaway=True)
    cluster.ensure()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        url = cluster.libpq_url()
        from sqlalchemy import create_engine

        from service import catalogue, migrate

        engine = create_engine(cluster.url())
        migrate.upgrade(engine)
        os.environ["DATABASE_URL"] = cluster.url()
        catalogue.sync(engine)
        t0 = time.perf_counter()
        _fill(url, roads, projects, points)
        took = time.perf_counter() - t0
        _say(f"synthetic data: {roads:,} roads, {projects:,} projects, {points:,} sites ({took:.0f}s)")

        xm_port, tipg_port = free_port(), free_port()
        servers.append(_serve(["service.app:create_app", "--factory"], {"DATABASE_URL": cluster.url()}, xm_port))
        servers.append(
            _serve(
                ["tipg.main:app"],
                {"DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"},
                tipg_port,
            )
        )
        xm, tp = f"http://127.0.0.1:{xm_port}", f"http://127.0.0.1:{tipg_port}"
        bbox = ",".join(str(v) for v in BBOX)
        x, y = _tile_xy(*CENTRE, 14)
        client = httpx.Client(timeout=120)

        expected = len(client.get(f"{xm}/collections/roads/items?limit=1000&bbox={bbox}").json()["features"])
        _say(f"\nitems: limit=1000, bbox={bbox} ({runs} runs after 3 warm-ups, one client, one server process)")
        tipg_items = _row(
            "tipg", _time(_get(client, f"{tp}/collections/public.roads/items?limit=1000&bbox={bbox}", expected), runs)
        )
        xm_items = _row(
            "xiangmap",
            _time(_get(client, f"{xm}/collections/roads/items?limit=1000&bbox={bbox}", expected), runs),
            tipg_items,
        )
        floor = _row("raw SQL (same GeoJSON, psycopg)", _time(_raw_sql(url, bbox), runs))
        _say(
            f"  xiangmap / raw SQL: {xm_items / floor:.2f}x (target <= 1.3); "
            f"xiangmap vs tipg: {tipg_items / xm_items:.2f}x faster (target >= 1.5)"
        )
        answer = client.get(f"{xm}/collections/roads/items?limit=1000&bbox={bbox}").json()
        _say(f"  numberMatched {answer['numberMatched']:,} (estimate: {answer['numberMatchedIsEstimate']})")

        _say(f"\nMVT tile z14 {y}/{x} (densest area)")
        tipg_tile = _row(
            "tipg", _time(_get(client, f"{tp}/collections/public.roads/tiles/WebMercatorQuad/14/{x}/{y}"), runs)
        )
        _row(
            "xiangmap", _time(_get(client, f"{xm}/collections/roads/tiles/WebMercatorQuad/14/{y}/{x}"), runs), tipg_tile
        )

        _say(f"\nGeoPackage download of {points:,} sites")
        before = _peak_rss_mb(servers[0].pid)
        t0 = time.perf_counter()
        size = 0
        with client.stream("GET", f"{xm}/collections/sites/download.gpkg") as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
        _say(
            f"  {size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f}s; xiangmap peak RSS {before:.0f} MB before, "
            f"{_peak_rss_mb(servers[0].pid):.0f} MB after (target < 300 MB)"
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


def _raw_sql(url: str, bbox: str) -> Callable[[], object]:
    """xiangmap's own page SQL, executed directly: the floor any HTTP layer adds to."""
    from sqlalchemy import create_engine
    from starlette.datastructures import QueryParams

    from service.ogc.features import page_sql
    from service.ogc.query import parse_items_query
    from service.ogc.registry import collections

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    roads = collections(engine)["roads"]
    sql, _, params = page_sql(roads, parse_items_query(QueryParams(f"limit=1000&bbox={bbox}"), roads))
    conn = psycopg.connect(url)

    def run() -> object:
        return conn.execute(sql, params).fetchone()

    return run
