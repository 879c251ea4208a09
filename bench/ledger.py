"""The ledger (issue 15): the page of a 10,000-task plan under 300 ms; the .xlsx of 100,000 tasks with the
server's memory flat.

    .venv/bin/python -m bench ledger [--runs=40] [--keep]

1. a throwaway PostGIS cluster, migrated, with the bundled layers (the districts) and the unit register;
2. two synthetic plans written by PostgreSQL itself (generate_series, INSERT ... SELECT): ``bench-10k``
   (10,000 tasks) and ``bench-100k`` (100,000), in sections, with Chinese task texts of a real plan's
   length, lead and responsible units as plans write them and linked through ``project_units`` (1 in 50
   with a near-miss name left flagged), a planned geometry for most, monthly reports for 85 % (some with
   a built part drawn, some reported late, some past their deadline), as of 2019-10;
3. the app served by uvicorn in a child process, as in production (the application role's URL, one
   worker), timed over HTTP with a coordinator's bearer token;
4. ``GET /ledger`` of the 10,000-task plan (the full page, and the htmx partial a filter change swaps),
   median and p95 over interleaved rounds, against two baselines of the same run: ``/healthz`` (the cheapest
   answer through the same stack) and the page's own query run in this process (its SQL floor);
5. ``GET /ledger.xlsx`` of 10,000 and of 100,000 tasks and ``/ledger.csv`` of 100,000, each in a fresh
   server process: time to the first byte, total time, bytes, and the server's peak RSS (VmHWM, and
   VmRSS sampled every 20 ms while it streams); the 10,000-task workbook is the named baseline (flat
   memory: the 100,000-task one peaks within 10 % of it).  Each workbook is opened back with openpyxl
   (read-only) and its rows counted.

Nothing here is a test: the figures depend on the machine, so they are printed, never asserted in CI.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from service.pgcluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2019-10"
PAGE_PLAN, PAGE_TASKS = "bench-10k", 10_000
EXPORT_PLAN, EXPORT_TASKS = "bench-100k", 100_000
PAGE_TARGET_MS = 300.0
MEMORY_MARGIN = 1.10  # the 100,000-task export's peak RSS within 10 % of the 10,000-task one's

SECTIONS = [
    "一、全面深化两型改革",
    "二、清水塘老工业区搬迁改造",
    "三、湘江保护与治理",
    "四、碧水蓝天行动",
    "五、长株潭一体化",
    "六、绿心地区生态保护",
    "七、资源节约集约利用",
    "八、绿色低碳产业",
    "九、城乡环境综合整治",
    "十、生态文明制度建设",
    "十一、两型示范创建",
    "十二、保障措施",
]
VERBS = ["推进", "完成", "深化", "建立", "实施", "开展", "加快", "全面落实", "启动", "健全"]
OBJECTS = [
    "清水塘老工业区企业关停退出和环境综合治理",
    "湘江株洲段干流及一级支流水环境综合治理",
    "城市建成区黑臭水体整治",
    "农村生活垃圾分类减量和资源化利用",
    "绿色金融改革创新试点",
    "生态环境损害赔偿制度改革",
    "国家低碳城市试点建设",
    "矿产土地节约集约利用体制改革",
    "长株潭绿心地区生态保护和修复",
    "海绵城市建设试点",
    "排污权有偿使用和交易",
    "工业园区循环化改造",
    "公共建筑和既有居住建筑节能改造",
    "新能源汽车推广应用",
    "河长制湖长制全面落实",
    "重金属污染耕地修复和种植结构调整",
    "环境资源审判改革",
    "第三方环境污染治理",
]
PLACES = ["", "石峰区", "芦淞区", "荷塘区", "天元区", "醴陵市", "攸县", "茶陵县", "炎陵县", "云龙示范区", "株洲经开区"]
DETAILS = [  # sentences of the kind a plan's task carries, after its title
    "按照问题导向、精准施工、落地见效的总体要求，明确时间表和路线图，确保年内取得实质性进展",
    "坚持挂图作战、一企一组，按照三年攻坚、五年完成治理的进度目标，加快推进各项工作",
    "建立工作台账，实行月调度、季通报，对进度滞后的单位予以督办，确保任务按期完成",
    "统筹中央和省级专项资金，积极引进社会资本参与，创新投融资模式，形成可复制可推广的经验",
    "完善考核评价机制，将任务完成情况纳入年度绩效考核，对成效明显的予以通报表扬",
    "开展第三方评估，委托专业机构对改革落实情况进行检查评估，及时提炼完善规范改革经验",
    "加强部门协同和市区联动，形成工作合力，重大问题及时报市委、市政府研究解决",
    "全面完成企业关停退出，妥善解决职工安置、信访维稳、环保安全等问题",
    "严格落实环境影响评价制度，强化事中事后监管，坚决杜绝新增污染",
    "推动建立跨区域生态补偿机制，探索流域上下游横向补偿的有效路径",
    "加快完善污水管网和垃圾收运设施，提升城乡环境基础设施建设水平",
    "力争全市万元GDP能耗下降3.5%以上，城市空气质量优良率达到75%以上",
]
NOTES = [
    "已完成项目立项和可研批复，正在开展初步设计",
    "主体工程已开工建设，完成年度投资计划的过半",
    "已召开专题调度会，明确责任分工和时间节点",
    "已完成招投标，施工单位进场，正在进行场地平整",
    "试点方案已报市政府审定，配套政策正在起草",
    "完成清淤疏浚和截污管网铺设，水质监测达标",
    "受征拆影响进度滞后，已协调相关区政府加快推进",
    "已形成阶段性成果，正在总结提炼改革经验",
]
BEHIND = ["征地拆迁未完成", "资金未及时到位", "前期手续办理周期长", "受汛期影响停工"]


def _say(text: str) -> None:
    print(text, flush=True)


def _lit(value: str) -> str:
    """A SQL literal of one of this module's constants (the fill sends no parameters, so no placeholders)."""
    return "'" + value.replace("'", "''") + "'"


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(_lit(v) for v in values) + "]::text[]"


def _fill_plan(conn: psycopg.Connection, plan: str, tasks: int) -> None:
    """One plan's tasks, units, links and reports, each an INSERT ... SELECT over generate_series."""
    title = f"株洲市2019年两型社会建设综合配套改革工作计划（基准 {tasks:,} 项）"
    conn.execute(
        "INSERT INTO plans (id, title, year, city, published, issuer) VALUES"
        f" ({_lit(plan)}, {_lit(title)}, 2019, '株洲市', '2019-03-31', '株洲市人民政府办公室')"
    )
    n_sec = len(SECTIONS)
    conn.execute(
        f"""
        WITH dept AS (SELECT array_agg(COALESCE(short_name, name) ORDER BY id) AS names FROM units
                      WHERE city = '株洲市' AND kind IN ('department', 'office', 'management_committee')),
             dist AS (SELECT array_agg(COALESCE(short_name, name) ORDER BY id) AS names FROM units
                      WHERE city = '株洲市' AND kind = 'district_government'),
             g AS (SELECT g, (g - 1) * {n_sec} / {tasks} AS sec FROM generate_series(1, {tasks}) g),
             t AS (SELECT g.*, g - min(g) OVER (PARTITION BY sec) + 1 AS ord,
                          {_sql_array(VERBS)} AS verbs, {_sql_array(OBJECTS)} AS objects,
                          {_sql_array(PLACES)} AS places, {_sql_array(DETAILS)} AS details
                   FROM g)
        INSERT INTO projects (key, plan_id, section, number, title, task_text, category, lead_units,
                              responsible_units, deadline, deadline_text, year, precision, location_status, geom)
        SELECT {_lit(plan)} || '/' || g,
               {_lit(plan)},
               ({_sql_array(SECTIONS)})[1 + sec],
               CASE WHEN g % 37 = 0 THEN ord || '-1' ELSE ord::text END,
               places[1 + g % 11] || verbs[1 + g % 10] || objects[1 + g % 18],
               places[1 + g % 11] || verbs[1 + g % 10] || objects[1 + g % 18] || '。'
                   || details[1 + g % 12] || '；' || details[1 + (g * 7) % 12] || '。'
                   || CASE WHEN g % 3 = 0 THEN details[1 + (g * 5) % 12] || '。' ELSE '' END,
               (ARRAY['改革', '生态', '绿心', '产业', '民生'])[1 + g % 5],
               CASE WHEN g % 4 = 0
                    THEN ARRAY[dept.names[1 + g % cardinality(dept.names)],
                               dept.names[1 + (g * 3 + 1) % cardinality(dept.names)]]
                    ELSE ARRAY[dept.names[1 + g % cardinality(dept.names)]] END,
               (CASE WHEN g % 5 = 0 THEN ARRAY[]::text[]
                     WHEN g % 5 = 1 THEN ARRAY[dist.names[1 + g % cardinality(dist.names)]]
                     ELSE ARRAY[dist.names[1 + g % cardinality(dist.names)],
                                dist.names[1 + (g + 3) % cardinality(dist.names)]] END)
                 || CASE WHEN g % 50 = 7 THEN ARRAY['市住建居'] ELSE ARRAY[]::text[] END,
               CASE WHEN g % 11 = 0 THEN NULL WHEN g % 5 = 0 THEN DATE '2019-06-30'
                    WHEN g % 7 = 0 THEN DATE '2019-09-30' ELSE DATE '2019-12-31' END,
               CASE WHEN g % 11 = 0 THEN '长期' WHEN g % 5 = 0 THEN '上半年'
                    WHEN g % 7 = 0 THEN '2019年9月底前' ELSE '年底前' END,
               2019,
               CASE WHEN g % 10 < 6 THEN 2 END,
               CASE WHEN g % 10 < 6 THEN 'auto' ELSE 'pending' END,
               CASE WHEN g % 10 < 3 THEN ST_SetSRID(ST_MakePoint(113.13 + (random() - 0.5) * 0.2,
                                                                27.83 + (random() - 0.5) * 0.2), 4326)
                    WHEN g % 10 < 5 THEN ST_Multi(ST_SetSRID(ST_MakeLine(
                        ST_MakePoint(x, y), ST_MakePoint(x + 0.01, y + (random() - 0.5) * 0.01)), 4326))
                    WHEN g % 10 < 6 THEN ST_Multi(ST_MakeEnvelope(x, y, x + 0.004, y + 0.003, 4326))
               END
        FROM (SELECT t.*, 113.13 + (random() - 0.5) * 0.2 AS x, 27.83 + (random() - 0.5) * 0.2 AS y FROM t) t,
             dept, dist
        """
    )
    # every unit string linked to the register as the resolver would (the near-miss flagged, never created)
    conn.execute(
        f"""
        INSERT INTO project_units (project_id, role, raw, unit_id, reason, suggestions)
        SELECT DISTINCT ON (p.id, r.role, r.raw) p.id, r.role, r.raw, u.id,
               CASE WHEN u.id IS NULL THEN '未知单位名称“' || r.raw || '” / unknown unit name' END,
               CASE WHEN u.id IS NULL THEN '[{{"name": "株洲市住房和城乡建设局"}}]'::jsonb END
        FROM projects p
        CROSS JOIN LATERAL (SELECT 'lead' AS role, x AS raw FROM unnest(p.lead_units) x
                            UNION ALL SELECT 'responsible', x FROM unnest(p.responsible_units) x) r
        LEFT JOIN units u ON u.city = '株洲市' AND COALESCE(u.short_name, u.name) = r.raw
        WHERE p.plan_id = {_lit(plan)}
        ORDER BY p.id, r.role, r.raw, u.id
        """
    )
    # monthly reports for 85 %: one a month from January to a month between January and September 2019
    conn.execute(
        f"""
        INSERT INTO progress_reports (project_id, period, status, percent, investment_wan, note, behind_reason,
                                      done_geom, reported_by, created_at)
        SELECT p.id, make_date(2019, m, 1),
               CASE WHEN m < last THEN '推进中'
                    WHEN LEAST(100, m * step) >= 100 THEN '已完成'
                    WHEN n % 17 = 0 THEN '滞后' WHEN n % 43 = 0 THEN '暂停' ELSE '推进中' END,
               LEAST(100, m * step), (n % 900) * 10 + m,
               ({_sql_array(NOTES)})[1 + (n + m) % {len(NOTES)}],
               CASE WHEN m = last AND n % 17 = 0 THEN ({_sql_array(BEHIND)})[1 + n % {len(BEHIND)}] END,
               CASE WHEN m = last AND n % 3 = 0 AND ST_Dimension(p.geom) = 1
                        THEN ST_Multi(ST_LineSubstring(ST_GeometryN(p.geom, 1), 0, LEAST(1.0, m * step / 100.0)))
                    WHEN m = last AND n % 3 = 0 AND ST_Dimension(p.geom) = 2
                        THEN ST_Multi(ST_MakeEnvelope(ST_XMin(p.geom), ST_YMin(p.geom),
                             ST_XMin(p.geom) + (ST_XMax(p.geom) - ST_XMin(p.geom)) * LEAST(1.0, m * step / 100.0),
                             ST_YMax(p.geom), 4326))
               END,
               'bench', make_timestamptz(2019, m, 25, 9, 0, 0)
        FROM (SELECT p.*, split_part(p.key, '/', 2)::int AS n FROM projects p WHERE p.plan_id = {_lit(plan)}) p
        CROSS JOIN LATERAL (SELECT 1 + n % 9 AS last, 4 + n % 12 AS step) s
        CROSS JOIN LATERAL generate_series(1, s.last) m
        WHERE n % 20 >= 3
        """
    )


def _fill(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        _fill_plan(conn, PAGE_PLAN, PAGE_TASKS)
        _fill_plan(conn, EXPORT_PLAN, EXPORT_TASKS)
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
        counts = {}
        for table in ("projects", "project_units", "project_districts", "progress_reports"):
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        counts["done_geom"] = conn.execute(
            "SELECT count(*) FROM progress_reports WHERE done_geom IS NOT NULL"
        ).fetchone()[0]  # type: ignore[index]
        return counts


def _prepare(owner_url: str) -> None:
    from sqlalchemy import create_engine

    from service import migrate
    from service.layers import bundled, catalogue
    from service.units import usecases as units

    engine = create_engine(owner_url)
    try:
        migrate.upgrade(engine)
        catalogue.sync(engine)
        bundled.load_bundled_layers(engine)  # the districts: each located task gets its district (trigger)
        units.load_bundled_units(engine)
    finally:
        engine.dispose()


def _users(owner_url: str) -> tuple[str, str]:
    """A coordinator (every task) and an editor of 石峰区人民政府 (its unit's tasks), each with a token."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from service.security import create_user

    engine = create_engine(owner_url)
    try:
        with Session(engine) as session:
            coordinator = create_user(session, "bench-coordinator", "coordinator")
            editor = create_user(session, "bench-editor", "editor")
            session.execute(
                text(
                    "UPDATE users SET unit_id = (SELECT id FROM units WHERE name = '株洲市石峰区人民政府')"
                    " WHERE name = 'bench-editor'"
                )
            )
            session.commit()
    finally:
        engine.dispose()
    return coordinator, editor


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _serve(env: dict[str, str]) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            return Server(process, base)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _RssSampler(threading.Thread):
    """VmRSS of one process every 20 ms: the peak while a download streams (VmHWM says the same from the kernel)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, False

    def run(self) -> None:
        while not self.stop:
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))
            time.sleep(0.02)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time_interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Each function ``runs`` times, one of each per round (load on the machine hits all alike), in ms."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(runs):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[label].append((time.perf_counter() - t0) * 1000)
    return times


def _page(client: httpx.Client, url: str, token: str, expect: str, htmx: bool = False) -> Callable[[], object]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    if htmx:
        headers["HX-Request"] = "true"
    first = client.get(url, headers=headers)
    if first.status_code != 200 or expect not in first.text:
        raise SystemExit(f"GET {url}: {first.status_code}, expected {expect!r} in {first.text[:400]!r}")

    def run() -> object:
        response = client.get(url, headers=headers)
        response.raise_for_status()
        return response.content

    return run


def _query_floor(database_url: str, plan: str) -> Callable[[], object]:
    """The page's own query (ledger_page: its rows and count), run in this process on its own connection."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from service.ledger import usecases
    from service.ledger.filters import LedgerFilters

    engine = create_engine(database_url)
    day = usecases.parse_as_of(AS_OF)

    def run() -> object:
        with Session(engine) as session:
            return usecases.ledger_page(session, LedgerFilters(plan=plan), day).total

    return run


@dataclass
class Download:
    label: str
    rows: int
    seconds: float
    first_byte_s: float
    bytes: int
    rss_before_mb: float
    peak_sampled_mb: float
    hwm_mb: float
    check: str


def _download(env: dict[str, str], token: str, fmt: str, plan: str, rows: int, folder: Path) -> Download:
    """One export in a fresh server process (its VmHWM is this export's alone), after a warm-up export of no
    rows (every module imported, every pool opened), streamed to a file and read back."""
    server = _serve(env)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(timeout=1800) as client:
            warm = client.get(
                f"{server.base}/ledger.{fmt}",
                params={"plan": plan, "q": "不存在的任务", "as_of": AS_OF},
                headers=headers,
            )
            warm.raise_for_status()
            pid = server.process.pid
            before = _status_kb(pid, "VmRSS")
            sampler = _RssSampler(pid)
            sampler.start()
            target = folder / f"{plan}.{fmt}"
            t0 = time.perf_counter()
            first_byte = None
            with (
                client.stream(
                    "GET", f"{server.base}/ledger.{fmt}", params={"plan": plan, "as_of": AS_OF}, headers=headers
                ) as response,
                target.open("wb") as out,
            ):
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 16):  # the CSV comes gzipped: the file is written decoded
                    if first_byte is None:
                        first_byte = time.perf_counter() - t0
                    out.write(chunk)
                size = response.num_bytes_downloaded  # on the wire
            took = time.perf_counter() - t0
            sampler.stop = True
            sampler.join()
            hwm = _status_kb(pid, "VmHWM")
    finally:
        server.stop()
    check = _check_file(target, fmt, rows)
    target.unlink()
    return Download(
        f"/ledger.{fmt}, {rows:,} tasks",
        rows,
        took,
        first_byte or took,
        size,
        before / 1024,
        sampler.peak_kb / 1024,
        hwm / 1024,
        check,
    )


def _check_file(path: Path, fmt: str, rows: int) -> str:
    """The file opens and holds the header and one row a task."""
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:  # the BOM Excel needs, then UTF-8
            found = sum(1 for _ in csv.reader(fh)) - 1
    else:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        sheet = book.worksheets[0]
        found = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
        header = next(sheet.iter_rows(max_row=1, values_only=True))
        book.close()
        if header[0] != "序号":
            return f"FAIL: header {header[:3]}"
    return f"{'ok' if found == rows else 'FAIL'}: {found:,} rows read back"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench ledger")
    parser.add_argument("--runs", type=int, default=40, help="timed rounds of the page requests")
    parser.add_argument("--keep", action="store_true", help="keep the cluster (its URL is printed)")
    parser.add_argument("--database", help="reuse the database of an earlier --keep run (no new fill)")
    parser.add_argument("--skip", choices=("pages", "exports"), help="leave out one half")
    args = parser.parse_args(argv)

    cluster = Cluster.throwaway_cluster() if args.database is None else None
    folder = Path(tempfile.mkdtemp(prefix="xm-bench-ledger-"))
    servers: list[Server] = []
    try:
        if cluster is not None:
            cluster.ensure()
            owner_url = cluster.url()
            app_url = cluster.app_url() or owner_url
            t0 = time.perf_counter()
            _prepare(owner_url)
            prepared = time.perf_counter() - t0
            t0 = time.perf_counter()
            counts = _fill(cluster.libpq_url())
            _say(
                f"bench database: migrated + districts + unit register in {prepared:.0f}s; synthetic plans in "
                f"{time.perf_counter() - t0:.0f}s: {counts['projects']:,} tasks, {counts['project_units']:,} unit "
                f"links, {counts['project_districts']:,} district links, {counts['progress_reports']:,} reports "
                f"({counts['done_geom']:,} with a built part)"
            )
        else:
            owner_url = app_url = args.database
        coordinator, editor = _users(owner_url)
        # served as in production (the application role, decision 0091); the response cache and the per-token
        # rate limit would otherwise answer or refuse the repeated requests instead of building them
        env = {
            "DATABASE_URL": owner_url,
            "XIANGMAP_APP_DATABASE_URL": app_url,
            "XIANGMAP_RESPONSE_CACHE_MB": "0",
            "XIANGMAP_RATE_LIMIT_TOKEN_FACTOR": "100000",
        }
        os.environ.update(env)
        server = _serve(env)
        servers.append(server)
        if args.skip != "pages":
            _page_figures(server.base, coordinator, editor, app_url, args.runs)
        server.stop()
        servers.remove(server)
        if args.skip != "exports":
            _export_figures(env, coordinator, folder)
        if args.keep and cluster is not None:
            _say(f"cluster kept: --database='{owner_url}'")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if cluster is not None and not args.keep:
            cluster.destroy()


def _page_figures(base: str, coordinator: str, editor: str, app_url: str, runs: int) -> None:
    page = f"{base}/ledger?plan={PAGE_PLAN}&as_of={AS_OF}"
    client = httpx.Client(timeout=120)
    fns = {
        "baseline: GET /healthz": _page(client, f"{base}/healthz", coordinator, ""),
        "baseline: the page's query, in-process": _query_floor(app_url, PAGE_PLAN),
        "GET /ledger, 10,000-task plan": _page(client, page, coordinator, "10000</strong>项任务"),
        "  the same, htmx partial": _page(client, page, coordinator, 'id="ledger-table"', htmx=True),
        "  searched (q=清水塘)": _page(client, page + "&q=清水塘", coordinator, "项任务"),
        "  derived status 滞后": _page(client, page + "&status=滞后", coordinator, "项任务"),
        "  an editor's (石峰区, own unit)": _page(client, page, editor, "项任务"),
        "GET /ledger, every plan (110,000)": _page(client, f"{base}/ledger?as_of={AS_OF}", coordinator, "项任务"),
    }
    _say(f"\npages ({runs} interleaved rounds after 3 warm-ups, one uvicorn worker, as of {AS_OF})")
    times = _time_interleaved(fns, runs)
    floor = statistics.median(times["baseline: the page's query, in-process"])
    _say(f"  {'request':<40} {'median ms':>10} {'p95 ms':>9} {'/ query':>8}")
    for label, values in times.items():
        median = statistics.median(values)
        _say(f"  {label:<40} {median:10.1f} {_pct(values, 0.95):9.1f} {median / floor:8.2f}")
    for label in ("GET /ledger, 10,000-task plan", "  the same, htmx partial"):
        p95 = _pct(times[label], 0.95)
        verdict = "PASS" if p95 < PAGE_TARGET_MS else "FAIL"
        _say(f"{verdict}: {label.strip()} p95 {p95:.0f} ms (target < {PAGE_TARGET_MS:.0f} ms)")
    client.close()


def _export_figures(env: dict[str, str], token: str, folder: Path) -> None:
    _say("\nexports (each in a fresh server process, after a warm-up export of no rows)")
    runs = [
        _download(env, token, "xlsx", PAGE_PLAN, PAGE_TASKS, folder),
        _download(env, token, "xlsx", EXPORT_PLAN, EXPORT_TASKS, folder),
        _download(env, token, "csv", EXPORT_PLAN, EXPORT_TASKS, folder),
    ]
    baseline = runs[0]
    _say(
        f"  {'export':<28} {'seconds':>8} {'1st byte':>9} {'MB':>7} {'rows/s':>8} {'RSS before':>11} "
        f"{'peak RSS':>9} {'VmHWM':>7} {'peak / baseline':>16}  read back"
    )
    for d in runs:
        _say(
            f"  {d.label:<28} {d.seconds:8.1f} {d.first_byte_s:9.1f} {d.bytes / 1e6:7.1f} {d.rows / d.seconds:8.0f} "
            f"{d.rss_before_mb:10.0f}M {d.peak_sampled_mb:8.0f}M {d.hwm_mb:6.0f}M {d.hwm_mb / baseline.hwm_mb:16.2f}"
            f"  {d.check}"
        )
    big = runs[1]
    flat = big.hwm_mb <= baseline.hwm_mb * MEMORY_MARGIN
    _say(
        f"{'PASS' if flat else 'FAIL'}: /ledger.xlsx of 100,000 tasks peaks at {big.hwm_mb:.0f} MB, "
        f"{big.hwm_mb / baseline.hwm_mb:.2f}x the 10,000-task export's {baseline.hwm_mb:.0f} MB "
        f"(target <= {MEMORY_MARGIN:.2f}x: memory flat); above the warm server: "
        f"+{big.hwm_mb - big.rss_before_mb:.0f} MB for 100,000 tasks, "
        f"+{baseline.hwm_mb - baseline.rss_before_mb:.0f} MB for 10,000"
    )
    readable = all(d.check.startswith("ok") for d in runs)
    _say(f"{'PASS' if readable else 'FAIL'}: every file opens with one row a task ({', '.join(d.check for d in runs)})")
