"""The collections served: every layer in ``layer_catalogue`` whose table exists, plus ``projects``.

Columns are read from the database catalogue (pg_attribute), not hard-coded, so a column another
issue adds to a layer table shows up as a property and a queryable without touching this module.
Arrays are served as ``"; "``-joined text, because QGIS, Shapefile and CSV handle text, not lists
(docs/decisions/0031-arrays-as-text.md).  The registry is cached for a few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from service.cases.access import ALL_CASES_ROLES, visible_sql
from service.cases.workflow import OVERDUE_SQL
from service.common.derived_status import delay_reason_sql, milestones_sql, overdue_sql, schedule_sql, status_sql
from service.errors import Problem
from service.settings import get_settings

ARRAY_SEPARATOR = "; "
CACHE_SECONDS = 5.0

# pg type name -> (JSON schema type, format)
JSON_TYPES: dict[str, tuple[str, str | None]] = {
    "int2": ("integer", None),
    "int4": ("integer", None),
    "int8": ("integer", None),
    "float4": ("number", None),
    "float8": ("number", None),
    "numeric": ("number", None),
    "bool": ("boolean", None),
    "date": ("string", "date"),
    "timestamptz": ("string", "date-time"),
    "timestamp": ("string", "date-time"),
}
# pg type name -> the SQL type a bound parameter is cast to before comparing
CAST_TYPES: dict[str, str] = {
    "int2": "integer",
    "int4": "integer",
    "int8": "bigint",
    "float4": "double precision",
    "float8": "double precision",
    "numeric": "numeric",
    "bool": "boolean",
    "date": "date",
    "timestamptz": "timestamptz",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class Field:
    """One property: its name, the SQL expression that yields it (over alias ``t``) and its type."""

    name: str
    pg_type: str
    is_array: bool = False

    @property
    def sql(self) -> str:
        column = f't."{self.name}"'
        return f"array_to_string({column}, '{ARRAY_SEPARATOR}')" if self.is_array else column

    @property
    def cast(self) -> str:
        return "text" if self.is_array else CAST_TYPES.get(self.pg_type, "text")

    @property
    def json_type(self) -> tuple[str, str | None]:
        return ("string", None) if self.is_array else JSON_TYPES.get(self.pg_type, ("string", None))

    @property
    def is_temporal(self) -> bool:
        return not self.is_array and self.pg_type in ("date", "timestamptz", "timestamp")


@dataclass(frozen=True)
class Collection:
    """A feature collection: where its rows come from and what they carry."""

    id: str
    title: str
    description: str
    geometry_type: str
    source_sql: str  # a FROM item aliased ``t``
    fields: tuple[Field, ...]
    temporal: tuple[str, str | None] | None = None  # (start column, end column)
    table: str = ""  # the base table: extents and statistics come from it
    keywords: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    id_type: str = "int4"  # pg type of the ``id`` column: ``id`` is a queryable too (filters, sortby)

    @property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def field(self, name: str, parameter: str) -> Field:
        found = self.field_map.get(name)
        if found is None:
            raise Problem(
                400,
                f"{parameter}: {name!r} is not a queryable of collection {self.id!r}; "
                f"see /collections/{self.id}/queryables",
                parameter=parameter,
            )
        return found


_SCHEDULE = schedule_sql("p.year", "pl.year", "p.deadline")
_REASON = delay_reason_sql(
    "r.status", "r.percent", "s.end_date", "ms.planned_pct", "ms.start_due", "CURRENT_DATE", "{threshold}"
)
_DERIVED = status_sql("r.status", "dr.delay_reason")
# ``status`` is the latest *reported* status (kept so saved filters, QGIS projects and CQL2 queries still work);
# ``derived_status`` is the one /stats, the maps and the ledger show: the schedule class today
# (service.common.derived_status, decisions 0170, 0270).  Reports for months after this one do not count yet.
PROJECTS_SELECT = (
    """(
    SELECT p.id, p.key, p.title, p.task_text, p.plan_id, p.section, p.number, p.category,
           p.lead_units, p.responsible_units, p.deadline, p.deadline_text, p.year, p.precision,
           p.location_status, r.status, d.derived_status, d.overdue, dr.delay_reason, r.behind_category,
           ms.planned_pct AS planned_percent, r.percent::double precision AS percent,
           r.investment_wan::double precision AS investment_wan, r.period, p.updated_at, {geom} AS geom
    FROM projects p
    JOIN plans pl ON pl.id = p.plan_id
    LEFT JOIN LATERAL (
        SELECT pr.status, pr.percent, pr.investment_wan, pr.period, pr.behind_category
        FROM progress_reports pr
        WHERE pr.project_id = p.id AND pr.period <= CAST(date_trunc('month', CURRENT_DATE) AS date)
        ORDER BY pr.period DESC, pr.created_at DESC, pr.id DESC
        LIMIT 1
    ) r ON true
    CROSS JOIN LATERAL (SELECT """
    + _SCHEDULE.end_date
    + """ AS end_date) s
    CROSS JOIN LATERAL ("""
    + milestones_sql("p.id", "CURRENT_DATE")
    + """) ms
    CROSS JOIN LATERAL (SELECT """
    + _REASON
    + """ AS delay_reason) dr
    CROSS JOIN LATERAL (SELECT """
    + _DERIVED
    + " AS derived_status, COALESCE("
    + overdue_sql(_DERIVED, "s.end_date", "CURRENT_DATE")
    + """, FALSE) AS overdue) d{where}
) t"""
)


def projects_select(geom: str = "p.geom", where: str = "", threshold: float | None = None) -> str:
    """The ``projects`` FROM item with the configured delay threshold (a float literal, never user text)."""
    value = float(get_settings().delay_threshold_pct if threshold is None else threshold)
    return PROJECTS_SELECT.replace("{threshold}", repr(value)).format(geom=geom, where=where)


@dataclass(frozen=True)
class GeometryKind:
    """One geometry kind a mixed collection is cut into (decision 0101): its suffix and how it is cut."""

    suffix: str
    extract: int  # ST_CollectionExtract type: 1 points, 2 lines, 3 polygons
    geometry_type: str
    title_zh: str

    def geom_sql(self, alias: str = "p") -> str:
        # for projects the same expression as the GiST index of migration 0011, so bbox filters and tiles use it
        return f"ST_Multi(ST_CollectionExtract({alias}.geom, {self.extract}))"

    def where_sql(self, alias: str = "p") -> str:
        return f"\n    WHERE NOT ST_IsEmpty({self.geom_sql(alias)})"


GEOMETRY_KINDS: tuple[GeometryKind, ...] = (
    GeometryKind("points", 1, "MultiPoint", "点"),
    GeometryKind("lines", 2, "MultiLineString", "线"),
    GeometryKind("areas", 3, "MultiPolygon", "面"),
)


def kind_views(base: Collection, source_for: Callable[[GeometryKind], str]) -> dict[str, Collection]:
    """``{base}_points``, ``_lines``, ``_areas`` of a mixed collection: same ids and properties, one type each.

    ``source_for(kind)`` gives the view's FROM item (aliased ``t``, geometry cut by ``kind.geom_sql("p")``).
    """
    title_zh, _, title_en = base.title.partition(" ")
    views: dict[str, Collection] = {}
    for kind in GEOMETRY_KINDS:
        view_id = f"{base.id}_{kind.suffix}"
        views[view_id] = Collection(
            id=view_id,
            title=f"{title_zh}（{kind.title_zh}） {title_en}: {kind.suffix}",
            description=(
                f"The {kind.suffix} of `{base.id}`: one {kind.geometry_type} feature per feature that has any "
                "(a GeometryCollection's parts of that kind), with the same properties and ids: one geometry type "
                "per collection, as QGIS and ArcGIS Pro need to show every feature."
            ),
            geometry_type=kind.geometry_type,
            source_sql=source_for(kind),
            table=base.table,
            fields=base.fields,
            temporal=base.temporal,
            keywords=(*base.keywords, kind.suffix),
            extra={"derived_from": base.id, "extent_geom_sql": kind.geom_sql("p")},
        )
    return views


def _layer_kind_source(table: str, fields: tuple[Field, ...], kind: GeometryKind) -> str:
    columns = ", ".join(f'p."{f.name}"' for f in fields)
    return f'(SELECT p.id, {columns}, {kind.geom_sql("p")} AS geom FROM "{table}" p{kind.where_sql("p")}) t'


PROJECT_FIELDS: tuple[Field, ...] = (
    Field("key", "text"),
    Field("title", "text"),
    Field("task_text", "text"),
    Field("plan_id", "text"),
    Field("section", "text"),
    Field("number", "text"),
    Field("category", "text"),
    Field("lead_units", "text", is_array=True),
    Field("responsible_units", "text", is_array=True),
    Field("deadline", "date"),
    Field("deadline_text", "text"),
    Field("year", "int4"),
    Field("precision", "int2"),
    Field("location_status", "text"),
    Field("status", "text"),  # the latest reported status
    # the schedule class today (正常推进 已开工进展缓慢 应开工未开工 已完成 暂停), as /stats, the maps, the ledger
    Field("derived_status", "text"),
    Field("overdue", "bool"),
    Field("delay_reason", "text"),
    Field("behind_category", "text"),  # 资金 用地 审批 拆迁 设计 其他, from the latest report
    Field("planned_percent", "float8"),  # the percent its milestones due by today ask for
    Field("percent", "float8"),
    Field("investment_wan", "float8"),
    Field("period", "date"),
    Field("updated_at", "timestamptz"),
)

COLUMNS_SQL = text(
    """
    SELECT c.relname AS table_name, a.attname AS column_name,
           CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END AS type_name,
           t.typcategory = 'A' AS is_array
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_type et ON et.oid = t.typelem
    WHERE c.relname = ANY(:tables) AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum
    """
)


def _load(engine: Engine) -> dict[str, Collection]:
    with engine.connect() as conn:
        entries = conn.execute(
            # a retired published layer is kept but no longer served (issue 20)
            text(
                "SELECT id, title_zh, title_en, geometry_type, description FROM layer_catalogue "
                "WHERE status = 'active' ORDER BY id"
            )
        ).all()
        tables = [e.id for e in entries]
        columns: dict[str, list[Any]] = {}
        for row in conn.execute(COLUMNS_SQL, {"tables": tables}):
            columns.setdefault(row.table_name, []).append(row)
    registry: dict[str, Collection] = {}
    for entry in entries:
        cols = columns.get(entry.id)
        if not cols or not any(c.column_name == "geom" for c in cols) or "." in entry.id:
            continue
        fields = tuple(
            Field(c.column_name, c.type_name, bool(c.is_array)) for c in cols if c.column_name not in ("id", "geom")
        )
        names = {f.name for f in fields}
        temporal = ("valid_from", "valid_to") if {"valid_from", "valid_to"} <= names else None
        id_type = next((c.type_name for c in cols if c.column_name == "id"), "int4")
        registry[entry.id] = Collection(
            id=entry.id,
            title=f"{entry.title_zh} {entry.title_en}",
            description=entry.description or "",
            geometry_type=entry.geometry_type,
            source_sql=f'"{entry.id}" t',
            table=entry.id,
            fields=fields,
            temporal=temporal,
            keywords=(entry.title_zh, entry.title_en),
            id_type=id_type,
        )
        if entry.geometry_type == "Geometry":  # mixed (sites: hills and lakes): typed views for QGIS
            base = registry[entry.id]
            registry.update(kind_views(base, lambda kind, b=base: _layer_kind_source(b.table, b.fields, kind)))
    registry["projects"] = Collection(
        id="projects",
        title="项目 Projects",
        description=(
            "Every task of the work plans, with its latest progress report (status: the reported status, percent, "
            "investment, period, behind_category) and its schedule class today (derived_status: 正常推进, "
            "已开工进展缓慢, 应开工未开工, 已完成 or 暂停; overdue, delay_reason, planned_percent from its "
            "milestones: the rule /stats, the maps and the ledger apply); projects not yet located have a null "
            "geometry."
        ),
        geometry_type="Geometry",
        source_sql=projects_select(),
        table="projects",
        fields=PROJECT_FIELDS,
        temporal=("deadline", None),
        keywords=("项目", "projects", "两型社会"),
    )
    registry.update(kind_views(registry["projects"], lambda kind: projects_select(kind.geom_sql(), kind.where_sql())))
    return registry


CASE_FIELDS: tuple[Field, ...] = (
    Field("number", "text"),
    Field("kind", "text"),
    Field("title", "text"),
    Field("status", "text"),
    Field("overdue", "bool"),
    Field("severity", "text"),
    Field("responsible_unit", "text"),
    Field("deadline", "date"),
    Field("found_on", "date"),
    Field("verdict", "text"),
    Field("city", "text"),
)
# who reads the OGC API in this request (role, account name): set by the OGC routes' dependency on every request,
# read by collections() to offer ``cases`` only as the caller's rights allow (service.cases.access)
CASE_READER: ContextVar[tuple[str | None, str]] = ContextVar("ogc_case_reader", default=(None, ""))


def _text_literal(value: str) -> str:
    """``value`` as a SQL text expression of hex digits only: no quote, no ``%`` reaches the statement."""
    return f"convert_from(decode('{value.encode().hex()}', 'hex'), 'UTF8')"


def cases_collection(role: str | None, actor: str) -> Collection | None:
    """The ``cases`` collection as ``role``/``actor`` may read it (decision 0251), or None (not offered at all).

    The visibility predicate is the case register's own (``service.cases.access.visible_sql``) with the account
    name inlined as hex, because the OGC queries bind no parameters of ours.  No description, no file, no finder:
    the fields GIS staff need to map and count cases.
    """
    if role not in ALL_CASES_ROLES and role != "editor":
        return None
    predicate = visible_sql(role, "c").replace(":case_actor", _text_literal(actor))
    source = f"""(
    SELECT c.id, c.number, c.kind, c.title, c.status, {OVERDUE_SQL} AS overdue, c.severity,
           u.name AS responsible_unit, c.deadline, c.found_on, c.verdict, c.city, c.geom
    FROM cases c LEFT JOIN units u ON u.id = c.responsible_unit_id
    WHERE {predicate}
) t"""
    return Collection(
        id="cases",
        title="案件 Cases",
        description=(
            "Cases of the case register (督察问题, 巡查发现, 违法违规): where, status "
            "(overdue: open, past its deadline), severity, the responsible unit, the deadline, when found and "
            "the protected-zone screening's verdict. "
            "Only the cases your account may see: every case for inspectors, GIS staff, coordinators and admins; "
            "an editor's own unit's. Files and descriptions are not served here."
        ),
        geometry_type="Geometry",
        source_sql=source,
        table="cases",
        fields=CASE_FIELDS,
        temporal=("found_on", None),
        keywords=("案件", "cases", "督察", "巡查"),
        extra={"reader": ("all",) if role in ALL_CASES_ROLES else ("editor", actor)},
        id_type="int8",
    )


def reader_scope(collection_id: str) -> tuple[str, ...]:
    """What a cached answer about ``collection_id`` must also be keyed by: the reader, for ``cases`` only."""
    if collection_id != "cases":
        return ()
    role, actor = CASE_READER.get()
    if role in ALL_CASES_ROLES:
        return ("cases-reader", "all")
    return ("cases-reader", str(role), actor)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # per engine: the primary and each hot standby (issue 21) have theirs, so switching does not reload
        self.entries: dict[int, tuple[float, dict[str, Collection]]] = {}


_cache = _Cache()


def collections(engine: Engine) -> dict[str, Collection]:
    """All collections by id (cached for CACHE_SECONDS)."""
    now = time.monotonic()
    with _cache.lock:
        loaded_at, value = _cache.entries.get(id(engine), (0.0, {}))
        if now - loaded_at > CACHE_SECONDS:
            value = _load(engine)
            _cache.entries[id(engine)] = (now, value)
    cases = cases_collection(*CASE_READER.get())
    return value if cases is None else {**value, "cases": cases}


def forget() -> None:
    """Drop the cached collections: a layer was published, retired or restored in this process (issue 20).

    Other processes see the change when their cache expires (CACHE_SECONDS).
    """
    with _cache.lock:
        _cache.entries.clear()


def get_collection(engine: Engine, collection_id: str) -> Collection:
    found = collections(engine).get(collection_id)
    if found is None:
        raise Problem(404, f"collectionId: no collection {collection_id!r}; see /collections", parameter="collectionId")
    return found
