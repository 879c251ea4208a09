"""OGC API speed: xiangmap against tipg and the raw SQL floor, on one synthetic database.

``.venv/bin/python -m bench ogc [--quick]``

1. a throwaway PostGIS cluster, migrated; 200,000 synthetic roads (half of them packed around
   central Zhuzhou), 100,000 projects with a progress report each, 1,000,000 site points;
2. xiangmap and tipg (pip-installed into the venv here, never a project dependency), each one
   uvicorn process on the same database;
3. ``/collections/roads/items?limit=1000&bbox=...`` in the densest area, an MVT tile at z14 there,
   and the SQL xiangmap sends for that page run directly with psycopg (the floor); xiangmap is timed
   with its response cache off (every answer built, like tipg's), and once more with it on;
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
import threading
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
        conn.execute("CHECKPOINT")  # let the bulk writes settle before timing


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


def _time_interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Time each function ``runs`` times, one of each per round, so load on the machine hits all alike."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(runs):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t0)
    return times


def _get(client: httpx.Client, url: str, expect_features: int | None = None) -> Callable[[], object]:
    """A timed GET; the answer is checked once, before timing, so parsing is not measured."""
    first = client.get(url, headers={"Accept": "application/geo+json"})
    first.raise_for_status()
    if expect_features is not None:
        got = len(first.json()["features"])
        assert got == expect_features, (url, got)

    def run() -> object:
        response = client.get(url, headers={"Accept": "application/geo+json"})
        response.raise_for_status()
        return response.content

    return run


def _tile_features(client: httpx.Client, url: str) -> int:
    import mapbox_vector_tile

    layers = mapbox_vector_tile.decode(client.get(url).content)
    return sum(len(layer["features"]) for layer in layers.values())


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
    """``--quick``: a tenth of the rows; ``--database=URL``: reuse a database an earlier run filled."""
    quick = "--quick" in argv
    reuse = next((a.split("=", 1)[1] for a in argv if a.startswith("--database=")), None)
    roads, projects, points = (20_000, 10_000, 100_000) if quick else (ROADS, PROJECTS, POINTS)
    runs = 10 if quick else 30
    _ensure_tipg()
    root = Path(tempfile.mkdtemp(prefix="xm-bench-"))
    root.chmod(0o755)
    # TCP with a password (tipg's settings refuse a socket-only URL); fsync off like the test clusters
    cluster = Cluster(pgdata=root / "pg", port=free_port(), password=secrets.token_urlsafe(12), throwaway=True)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        sqlalchemy_url = reuse or cluster.ensure().url()
        url = sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
        os.environ["DATABASE_URL"] = sqlalchemy_url
        if reuse is None:
            from sqlalchemy import create_engine

            from service import migrate
            from service.layers import catalogue

            engine = create_engine(sqlalchemy_url)
            migrate.upgrade(engine)
            catalogue.sync(engine)
            t0 = time.perf_counter()
            _fill(url, roads, projects, points)
            took = time.perf_counter() - t0
            _say(f"synthetic data: {roads:,} roads, {projects:,} projects, {points:,} sites ({took:.0f}s)")

        xm_port, tipg_port, cached_port = free_port(), free_port(), free_port()
        # the comparison is of building answers: xiangmap's response cache (decision 0083) is off here, and
        # a second xiangmap process with it on shows what a repeated request costs
        xm_env = {"DATABASE_URL": sqlalchemy_url, "XIANGMAP_RESPONSE_CACHE_MB": "0"}
        servers.append(_serve(["service.app:create_app", "--factory"], xm_env, xm_port))
        servers.append(
            _serve(
                ["tipg.main:app"],
                {"DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"},
                tipg_port,
            )
        )
        servers.append(_serve(["service.app:create_app", "--factory"], {"DATABASE_URL": sqlalchemy_url}, cached_port))
        xm, tp = f"http://127.0.0.1:{xm_port}", f"http://127.0.0.1:{tipg_port}"
        xm_cached = f"http://127.0.0.1:{cached_port}"
        bbox = ",".join(str(v) for v in BBOX)
        x, y = _tile_xy(*CENTRE, 14)
        client = httpx.Client(timeout=900)

        items = f"/collections/roads/items?limit=1000&bbox={bbox}"
        answer = client.get(f"{xm}{items}").json()
        expected = len(answer["features"])
        _say(f"\nitems: limit=1000, bbox={bbox} ({runs} interleaved rounds after 3 warm-ups, one server process each)")
        page_only, page_and_count = _raw_sql(url, bbox)
        timed = _time_interleaved(
            {
                "tipg": _get(client, f"{tp}/collections/public.roads/items?limit=1000&bbox={bbox}", expected),
                "xiangmap": _get(client, f"{xm}{items}", expected),
                "xiangmap, repeated (cached)": _get(client, f"{xm_cached}{items}", expected),
                "raw SQL: page + count (xiangmap's)": page_and_count,
                "raw SQL: page only": page_only,
            },
            runs,
        )
        tipg_items = _row("tipg", timed["tipg"])
        xm_items = _row("xiangmap", timed["xiangmap"], tipg_items)
        _row("xiangmap, repeated (cached)", timed["xiangmap, repeated (cached)"], tipg_items)
        floor = _row("raw SQL: page + count (xiangmap's)", timed["raw SQL: page + count (xiangmap's)"])
        bare = _row("raw SQL: page only", timed["raw SQL: page only"])
        _say(
            f"  xiangmap vs tipg: {tipg_items / xm_items:.2f}x faster (target >= 1.5); xiangmap / raw SQL: "
            f"{xm_items / floor:.2f}x its own statement, {xm_items / bare:.2f}x the page alone (target <= 1.3)"
        )
        _say(f"  numberMatched {answer['numberMatched']:,} (estimate: {answer['numberMatchedIsEstimate']})")

        tipg_tile_url = f"{tp}/collections/public.roads/tiles/WebMercatorQuad/14/{x}/{y}"
        xm_tile_url = f"{xm}/collections/roads/tiles/WebMercatorQuad/14/{y}/{x}"
        counts = (_tile_features(client, tipg_tile_url), _tile_features(client, xm_tile_url))
        _say(f"\nMVT tile z14 {y}/{x} (densest area; features tipg {counts[0]}, xiangmap {counts[1]})")
        cached_tile_url = xm_tile_url.replace(xm, xm_cached)
        timed = _time_interleaved(
            {
                "tipg": _get(client, tipg_tile_url),
                "xiangmap": _get(client, xm_tile_url),
                "xiangmap, repeated (cached)": _get(client, cached_tile_url),
            },
            runs,
        )
        tipg_tile = _row("tipg", timed["tipg"])
        _row("xiangmap", timed["xiangmap"], tipg_tile)
        _row("xiangmap, repeated (cached)", timed["xiangmap, repeated (cached)"], tipg_tile)

        _say(f"\nGeoPackage download of {points:,} sites")
        before = _peak_rss_mb(servers[0].pid)
        children = _ChildPeak(servers[0].pid)
        children.start()
        t0 = time.perf_counter()
        size = 0
        with client.stream("GET", f"{xm}/collections/sites/download.gpkg") as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
        children.stop = True
        children.join()
        _say(
            f"  {size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f}s; peak RSS: web server {before:.0f} MB before, "
            f"{_peak_rss_mb(servers[0].pid):.0f} MB after; GDAL writer process {children.peak:.0f} MB (target < 300 MB)"
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        if reuse is None:
            cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


def _raw_sql(url: str, bbox: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """xiangmap's own statements run directly with psycopg: the page alone, and page + count."""
    from sqlalchemy import create_engine
    from starlette.datastructures import QueryParams

    from service.ogc.features import page_sql
    from service.ogc.query import parse_items_query
    from service.ogc.registry import collections

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    roads = collections(engine)["roads"]
    query = parse_items_query(QueryParams(f"limit=1000&bbox={bbox}"), roads)
    bare_sql, _, params = page_sql(roads, query)
    counted_sql, _, _ = page_sql(roads, query, with_count=True)
    conn = psycopg.connect(url, autocommit=True)
    return (
        lambda: conn.execute(bare_sql, params, binary=True).fetchone(),
        lambda: conn.execute(counted_sql, params, binary=True).fetchone(),
    )


class _ChildPeak(threading.Thread):
    """Polls the peak RSS (VmHWM) of the web server's child processes (the GDAL file writer)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            for task in Path(f"/proc/{self.pid}/task").glob("*/children"):
                for child in task.read_text().split():
                    try:
                        self.peak = max(self.peak, _peak_rss_mb(int(child)))
                    except (OSError, ValueError):
                        continue
            time.sleep(0.1)
