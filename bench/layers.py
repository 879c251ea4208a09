"""Layer-load throughput: bulk publishing of 100,000 points and 1,000,000 polygons against GeoPandas ``to_postgis``.

Run: ``.venv/bin/python -m bench layers [--quick] [--skip=loader|bulk]`` (its own throwaway PostGIS; a few
minutes, the first run also writes the two GeoPackages into ``.data/cache/bench/``).

Two parts, each with its baseline measured in the same run:

- **bulk** (issue 20): two GeoPackages in EPSG:4326 over Chang-Zhu-Tan, generated once with a fixed seed and
  cached: 100,000 points and 1,000,000 rotated squares of about 50 m (5 vertices), each with a code
  (P0000001 / D0000001, the key), a Chinese name (点位0000001 / 地块0000001), an integer, a float and a date
  string.  Each file is loaded twice, each time in a fresh subprocess so that its peak memory is its own:
  the baseline ``geopandas.read_file`` (pyogrio) + ``to_postgis`` into a scratch table as the owner, and
  xiangmap's ``publishing.publish`` as the application role (preview, checks, repair, the layer's table,
  indexes, catalogue entry, version and audit, one transaction).  Each subprocess reports its wall time
  and its peak RSS (``VmHWM``); the xiangmap one also its phases (every wrapped step, the slow SQL
  statements, the Python side of the COPY) and prints the publish's progress.  Targets: xiangmap at
  least half the rows/s of ``to_postgis`` on each file; its peak memory flat (1M polygons within 1.25x
  of its peak at 100k points).  ``--quick`` skips the million.
- **loader**: the row-by-row loader of the bundled layers (10,000 points, 2,000 polygons) against
  ``to_postgis`` of the same file (the figure decision 0310 started from).

The subprocess entry point is this module: ``python -m bench.layers worker MODE ...`` (see ``_worker``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE = PROJECT_ROOT / ".data" / "cache" / "bench"
SEED = 20  # issue 20
FORMAT = 1  # bump when the generated files change: the cached ones are then written again
BOX = (112.5, 27.5, 113.5, 28.5)  # lon/lat around Chang-Zhu-Tan
GENERATE_CHUNK = 100_000  # features written per append: generating never holds a whole file
BASELINE_CHUNKSIZE = 50_000  # to_postgis(chunksize=...): rows per COPY
RATIO_TARGET = 0.5  # xiangmap rows/s over to_postgis rows/s, on each file
FLAT_TARGET = 1.25  # xiangmap peak RSS at 1M polygons over its peak at 100k points
MB = 1024  # KB in a MB (VmHWM and ru_maxrss are in KB)


@dataclass(frozen=True)
class BenchFile:
    label: str
    kind: str  # points | polygons
    features: int
    layer_id: str  # what xiangmap publishes it as
    scratch: str  # the baseline's table
    title_zh: str

    @property
    def path(self) -> Path:
        return CACHE / f"{self.layer_id}-seed{SEED}-v{FORMAT}.gpkg"


POINTS = BenchFile("100k points", "points", 100_000, "bench_points_100k", "bench_scratch_points_100k", "基准点位")
POLYGONS = BenchFile("1M polygons", "polygons", 1_000_000, "bench_polys_1m", "bench_scratch_polys_1m", "基准地块")


# ---------------------------------------------------------------- process memory


def _status_kb(field: str) -> int:
    """A line of /proc/self/status in KB (VmRSS now, VmHWM the peak of this process's memory)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _maxrss_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# ---------------------------------------------------------------- the files


def _generate(kind: str, features: int, path: Path) -> None:
    """Write the GeoPackage in appended chunks (deterministic: one seed per chunk), then move it in place."""
    import geopandas as gpd
    import numpy as np
    import pyogrio
    import shapely

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.gpkg")
    partial.unlink(missing_ok=True)
    points = kind == "points"
    prefix, word = ("P", "点位") if points else ("D", "地块")
    x0, y0, x1, y1 = BOX
    for start in range(0, features, GENERATE_CHUNK):
        n = min(GENERATE_CHUNK, features - start)
        rng = np.random.default_rng([SEED, 0 if points else 1, start])
        numbers = np.char.zfill(np.arange(start + 1, start + n + 1).astype(str), 7)
        lon = rng.uniform(x0, x1, n)
        lat = rng.uniform(y0, y1, n)
        half = rng.uniform(20.0, 30.0, n)  # metres: squares of 40-60 m
        if points:
            geoms = shapely.points(lon, lat)
        else:
            turn = rng.uniform(0.0, np.pi / 2, n)
            corners = turn[:, None] + np.array([0.25, 0.75, 1.25, 1.75]) * np.pi  # counter-clockwise
            radius = half[:, None] * np.sqrt(2.0)
            xs = lon[:, None] + radius * np.cos(corners) / (111_320.0 * np.cos(np.radians(lat)))[:, None]
            ys = lat[:, None] + radius * np.sin(corners) / 110_574.0
            ring = np.stack([xs, ys], axis=-1)
            geoms = shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))  # closed: 5 vertices
        frame = gpd.GeoDataFrame(
            {
                "code": np.char.add(prefix, numbers),
                "name": np.char.add(word, numbers),
                "storeys": rng.integers(1, 34, n),
                "area_m2": np.round((2 * half) ** 2, 2),
                "surveyed": (np.datetime64("2015-01-01") + rng.integers(0, 3650, n)).astype(str),
            },
            geometry=geoms,
            crs="EPSG:4326",
        )
        pyogrio.write_dataframe(frame, partial, layer=path.stem.split("-")[0], driver="GPKG", append=start > 0)
    partial.rename(path)


def _ensure_file(item: BenchFile) -> str:
    if item.path.exists():
        return f"cached {item.path.relative_to(PROJECT_ROOT)}"
    started = time.perf_counter()
    _run_worker(["generate", item.kind, str(item.features), str(item.path)], os.environ.copy())
    size = item.path.stat().st_size / 1e6
    return f"written {item.path.relative_to(PROJECT_ROOT)} ({size:.0f} MB) in {time.perf_counter() - started:.0f} s"


# ---------------------------------------------------------------- the subprocesses


def _baseline_worker(path: Path, table: str) -> dict[str, Any]:
    """GeoPandas: the whole file into a GeoDataFrame, then to_postgis (COPY in chunks) as the owner."""
    import geoalchemy2  # noqa: F401 - imported by to_postgis; loaded before the clock starts
    import geopandas as gpd
    from sqlalchemy import text

    from service.database import get_owner_engine

    engine = get_owner_engine()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    rss_start = _status_kb("VmRSS")
    started = time.perf_counter()
    frame = gpd.read_file(path, engine="pyogrio")
    read = time.perf_counter()
    hwm_read = _status_kb("VmHWM")
    frame.to_postgis(table, engine, if_exists="replace", index=False, chunksize=BASELINE_CHUNKSIZE)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        rows = int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
    return {
        "seconds": seconds,
        "rows": rows,
        "rss_start_kb": rss_start,
        "peak_kb": _status_kb("VmHWM"),
        "maxrss_kb": _maxrss_kb(),
        "phases": [
            ["read_file (pyogrio)", read - started, hwm_read],
            ["to_postgis", seconds - (read - started), _status_kb("VmHWM")],
        ],
    }


def _publish_worker(path: Path, layer_id: str, title_zh: str) -> dict[str, Any]:
    """xiangmap: publishing.publish as the application role, each step timed, the publish's progress on stderr."""
    import psycopg
    from sqlalchemy import event, text

    from service.database import get_engine, new_session
    from service.layers import bulk, published, publishing

    engine = get_engine()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    phases: list[list[Any]] = []
    statements: list[list[Any]] = []
    inner: dict[str, float] = {"csv batches (shapely + Arrow CSV)": 0.0, "copy.write (to the server)": 0.0}

    def timed(owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases.append([label, time.perf_counter() - began, _status_kb("VmHWM")])

        setattr(owner, attr, wrapper)

    def summed(owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                inner[label] += time.perf_counter() - began

        setattr(owner, attr, wrapper)

    timed(publishing, "preview", "preview (header + 2,000 features)")
    timed(publishing, "file_sha256", "file SHA-256")
    timed(published, "create_table", "xm_layer_create")
    timed(bulk, "stage", "copy into staging (read + CSV + COPY)")
    timed(bulk, "validate", "validate + repair (SQL)")
    timed(bulk, "write", "INSERT ... SELECT into the layer")
    timed(bulk, "drop", "drop staging")
    timed(published, "add_entry", "catalogue entry")
    timed(published, "build_indexes", "indexes (unique key, GiST) + ANALYZE")
    summed(bulk, "_csv_batch", "csv batches (shapely + Arrow CSV)")
    summed(psycopg.Copy, "write", "copy.write (to the server)")

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info["bench_began"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        took = time.perf_counter() - conn.info.pop("bench_began", time.perf_counter())
        if took >= 0.05:
            statements.append([" ".join(statement.split())[:110], took])

    shown: dict[str, Any] = {"phase": None, "step": 0}
    started = time.perf_counter()

    def progress(done: int, total: int, phase: str) -> None:
        step = int(10 * done / total) if total else 0
        if phase != shown["phase"] or (phase == "copy" and step > shown["step"] and step % 2 == 0):
            print(
                f"    {layer_id}: {phase} {done:,} / {total:,} at {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            shown.update(phase=phase, step=step)

    rss_start = _status_kb("VmRSS")
    session = new_session(engine)
    timed(session, "commit", "version + audit + commit")
    started = time.perf_counter()
    try:
        summary = publishing.publish(
            session,
            "bench",
            path,
            publishing.PublishRequest(layer_id=layer_id, title_zh=title_zh, key_field=None, name_field=None),
            limits=None,
            progress=progress,
        )
    finally:
        session.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": int(summary["inserted"]),
        "rss_start_kb": rss_start,
        "peak_kb": _status_kb("VmHWM"),
        "maxrss_kb": _maxrss_kb(),
        "phases": phases,
        "inner": inner,
        "statements": sorted(statements, key=lambda s: -s[1])[:12],
        "repairs": summary["repairs"],
        "geometry_type": summary["geometry_type"],
    }


def _worker(args: list[str]) -> None:
    """``python -m bench.layers worker MODE ...``: one measured load; its figures as JSON on stdout's last line."""
    mode, *rest = args
    if mode == "generate":
        _generate(rest[0], int(rest[1]), Path(rest[2]))
        result: dict[str, Any] = {"peak_kb": _status_kb("VmHWM")}
    elif mode == "baseline":
        result = _baseline_worker(Path(rest[0]), rest[1])
    elif mode == "publish":
        result = _publish_worker(Path(rest[0]), rest[1], rest[2])
    else:
        raise SystemExit(f"unknown worker mode {mode!r}")
    print(json.dumps(result), flush=True)


def _run_worker(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one worker in a fresh interpreter (stderr passes through: the progress); its JSON result."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.layers", "worker", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args[:2])} failed (exit {proc.returncode}): {proc.stdout[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- the bulk part


def _drop_published(owner_url: str, layer_id: str) -> None:
    from sqlalchemy import create_engine

    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.layers.published_kit import drop_published

    engine = create_engine(owner_url)
    try:
        drop_published(engine, layer_id)
    finally:
        engine.dispose()


def _owner_sql(owner_url: str, *statements: str) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            results = [conn.execute(text(s)) for s in statements]
            return [r.scalar() if r.returns_rows else None for r in results]
    finally:
        engine.dispose()


def _machine(owner_url: str) -> str:
    pg, postgis = _owner_sql(owner_url, "SHOW server_version", "SELECT postgis_lib_version()")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores, {memory:.0f} GB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; PostgreSQL {pg} + PostGIS {postgis} (throwaway cluster, fsync off, "
        f"shared_buffers 256MB) on the same machine; load average at start {load}"
    )


def _mb(kb: int) -> str:
    return f"{kb / MB:,.0f}"


def _bulk(owner_url: str, env: dict[str, str], files: list[BenchFile]) -> None:
    import pyogrio

    for item in files:
        print(f"{item.label}: {_ensure_file(item)}", flush=True)
    print(_machine(owner_url), flush=True)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for item in files:
        features = int(pyogrio.read_info(item.path)["features"])
        runs: dict[str, dict[str, Any]] = {}
        try:
            _owner_sql(owner_url, "CHECKPOINT")
            print(f"  {item.label}: baseline geopandas read_file + to_postgis ...", flush=True)
            runs["baseline"] = _run_worker(["baseline", str(item.path), item.scratch], env)
            _owner_sql(owner_url, f'DROP TABLE IF EXISTS "{item.scratch}"', "CHECKPOINT")
            print(f"  {item.label}: xiangmap publishing.publish ...", flush=True)
            runs["xiangmap"] = _run_worker(["publish", str(item.path), item.layer_id, item.title_zh], env)
        finally:
            _owner_sql(owner_url, f'DROP TABLE IF EXISTS "{item.scratch}"')
            _drop_published(owner_url, item.layer_id)
        runs["features"] = {"n": features}
        results[item.label] = runs
    _report(files, results)


def _report(files: list[BenchFile], results: dict[str, dict[str, dict[str, Any]]]) -> None:
    print()
    print(
        "| file | features | to_postgis s | to_postgis rows/s | xiangmap s | xiangmap rows/s | xiangmap / to_postgis "
        "| to_postgis peak RSS MB | xiangmap peak RSS MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratios: dict[str, float] = {}
    for item in files:
        run = results[item.label]
        base, ours, n = run["baseline"], run["xiangmap"], run["features"]["n"]
        ratio = (n / ours["seconds"]) / (n / base["seconds"])
        ratios[item.label] = ratio
        print(
            f"| {item.label} ({item.path.name}) | {n:,} | {base['seconds']:.1f} | {n / base['seconds']:,.0f} "
            f"| {ours['seconds']:.1f} | {n / ours['seconds']:,.0f} | **{ratio:.2f}** "
            f"| {_mb(base['peak_kb'])} (+{_mb(base['peak_kb'] - base['rss_start_kb'])}) "
            f"| {_mb(ours['peak_kb'])} (+{_mb(ours['peak_kb'] - ours['rss_start_kb'])}) |"
        )
        for name in ("baseline", "xiangmap"):
            if run[name]["rows"] != n:
                print(f"  !! {name} wrote {run[name]['rows']:,} rows of {n:,}")
    print(
        "(peak RSS: VmHWM of the measuring subprocess; in brackets the growth over its RSS after imports and "
        "connecting, before the load)"
    )
    for item in files:
        print(f"\nphases of {item.label}:")
        for name in ("baseline", "xiangmap"):
            run = results[item.label][name]
            print(
                f"  {name:9} {run['seconds']:.2f} s in all; peak RSS (VmHWM) {_mb(run['peak_kb'])} MB, "
                f"ru_maxrss {_mb(run['maxrss_kb'])} MB, RSS before the load {_mb(run['rss_start_kb'])} MB"
            )
            for label, seconds, hwm in run["phases"]:
                print(
                    f"  {name:9} {label:42} {seconds:7.2f} s  {100 * seconds / run['seconds']:5.1f} %  "
                    f"peak so far {_mb(hwm)} MB"
                )
        ours = results[item.label]["xiangmap"]
        for label, seconds in ours["inner"].items():
            print(f"  {'':9}   of the copy: {label:28} {seconds:7.2f} s")
        print(f"  {'':9} statements over 0.05 s (of validate, insert, indexes):")
        for sql, seconds in ours["statements"]:
            print(f"  {'':11} {seconds:6.2f} s  {sql}")
    print()
    speed = all(r >= RATIO_TARGET for r in ratios.values())
    listed = ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
    print(
        f"target: xiangmap publish at least {RATIO_TARGET}x the rows/s of GeoPandas to_postgis on the same file: "
        f"{'met' if speed else 'NOT met'} ({listed})"
    )
    if POLYGONS in files and POINTS in files:
        small, large = results[POINTS.label], results[POLYGONS.label]
        flat = large["xiangmap"]["peak_kb"] / small["xiangmap"]["peak_kb"]
        grows = large["baseline"]["peak_kb"] / small["baseline"]["peak_kb"]
        print(
            f"target: memory flat, xiangmap's peak RSS at 1M polygons within {FLAT_TARGET}x of its peak at "
            f"100k points: "
            f"{'met' if flat <= FLAT_TARGET else 'NOT met'} ({_mb(small['xiangmap']['peak_kb'])} -> "
            f"{_mb(large['xiangmap']['peak_kb'])} MB, {flat:.2f}x; to_postgis {_mb(small['baseline']['peak_kb'])} -> "
            f"{_mb(large['baseline']['peak_kb'])} MB, {grows:.2f}x)"
        )
    else:
        print("target: memory flat: not measured (--quick skips the 1M polygons)")


# ---------------------------------------------------------------- the row-by-row loader part


def _loader(engine: Any) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        _loader_in(engine, Path(scratch))


def _loader_in(engine: Any, folder: Path) -> None:
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point
    from sqlalchemy import text

    from service.database import session_scope
    from service.layers.loader import load_layer_file

    rng = np.random.default_rng(1)
    points = [Point(113 + rng.random() * 0.3, 27.8 + rng.random() * 0.3) for _ in range(10_000)]
    gpd.GeoDataFrame({"name": [f"点{i}" for i in range(len(points))]}, geometry=points, crs=4326).to_file(
        folder / "points.gpkg"
    )
    polygons = [p.buffer(0.002, quad_segs=16) for p in points[:2000]]
    gpd.GeoDataFrame({"name": [f"区{i}" for i in range(len(polygons))]}, geometry=polygons, crs=4326).to_file(
        folder / "polygons.gpkg"
    )
    print("row-by-row loader of the bundled layers (service.layers.loader), in this process:")
    print(f"{'layer':10} {'file':14} {'run':28} {'rows':>6} {'seconds':>8} {'x baseline':>11}")
    for layer, name in (("sites", "points.gpkg"), ("demo_zones", "polygons.gpkg")):
        started = time.perf_counter()
        frame = gpd.read_file(folder / name)
        frame.to_postgis(f"baseline_{layer}", engine, if_exists="replace", index=False)
        baseline = time.perf_counter() - started
        print(f"{layer:10} {name:14} {'baseline: geopandas to_postgis':28} {len(frame):6d} {baseline:8.2f} {1:11.2f}")
        for attempt in ("xiangmap first load", "xiangmap same file again"):
            started = time.perf_counter()
            with session_scope(engine) as session:
                report = load_layer_file(session, layer, folder / name, actor="bench", kind="cli")
            elapsed = time.perf_counter() - started
            print(f"{layer:10} {name:14} {attempt:28} {report.rows:6d} {elapsed:8.2f} {elapsed / baseline:11.2f}")
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE baseline_{layer}"))


# ---------------------------------------------------------------- entry point


def _options(argv: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name not in ("quick", "skip"):
            raise SystemExit(f"bench layers: unknown option {arg}; options: --quick, --skip=loader|bulk")
        options[name] = value or "yes"
    return options


def main(argv: list[str]) -> None:
    from sqlalchemy import create_engine

    from service import migrate
    from service.pgcluster import Cluster

    options = _options(argv)
    quick = "quick" in options or os.environ.get("BENCH_LAYERS_QUICK") == "1"
    skip = set(options.get("skip", "").split(",")) - {""}
    if skip - {"loader", "bulk"}:
        raise SystemExit(f"bench layers: --skip={options['skip']}: loader, bulk or both (comma-separated)")
    files = [POINTS] if quick else [POINTS, POLYGONS]
    cluster = Cluster.throwaway_cluster().ensure()
    try:
        owner_url, app_url = cluster.url(), cluster.app_url()
        assert app_url is not None
        # the subprocesses resolve get_owner_engine / get_engine (the application role) to this cluster
        env = {**os.environ, "DATABASE_URL": owner_url, "XIANGMAP_APP_DATABASE_URL": app_url}
        engine = create_engine(owner_url)
        migrate.upgrade(engine)
        if "loader" not in skip:
            _loader(engine)
            print()
        engine.dispose()
        if "bulk" not in skip:
            print(
                f"bulk publishing (service.layers.publishing) against GeoPandas to_postgis, "
                f"{' and '.join(f.label for f in files)}, each load in a fresh subprocess:"
            )
            _bulk(owner_url, env, files)
    finally:
        cluster.destroy()


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _worker(sys.argv[2:])
