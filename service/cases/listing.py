"""The case list and the case map's query (issue 16, decision 0250): one set of filters, one WHERE clause.

Plain functions over a Session, no FastAPI: ``CaseFilters`` is what the list, the list's JSON, the map's
GeoJSON and the bench read; :func:`where_sql` turns it (with the caller's visibility from
``service.cases.access``) into a predicate over ``cases c`` and its bound parameters, so no view shows a
case another hides and every view filters the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.cases.access import visible_params, visible_sql
from service.cases.workflow import OVERDUE_SQL
from service.models.cases import CASE_KINDS, CASE_SEVERITIES, CASE_STATUSES

OVERDUE = "逾期"  # a status filter value: open and past its deadline (workflow.OVERDUE_SQL)
STATUS_CHOICES = (*CASE_STATUSES, OVERDUE)
# the screening found the place inside a zone
INSIDE_VERDICTS = ("prohibited", "needs_approval", "allowed", "not_applicable")
VERDICT_CHOICES = {
    "inside": "在保护区内",
    "outside": "在保护区外",
    "prohibited": "禁止",
    "needs_approval": "需审批",
    "allowed": "允许",
    "not_applicable": "不适用（非建设活动）",
    "unscreened": "未筛查",
}
CITIES = ("长沙市", "株洲市", "湘潭市")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAP_LIMIT = 100_000  # the map's GeoJSON never carries more (the bench's 100,000 cases draw in under 3 s)


@dataclass(frozen=True)
class CaseFilters:
    """What the list and the map are filtered by; None means "any"."""

    kind: str | None = None
    status: str | None = None  # one of STATUS_CHOICES (逾期: overdue)
    unit: int | None = None  # the responsible unit, with the units under it and those it took over
    city: str | None = None
    district: str | None = None  # a district's name: cases whose place meets it
    severity: str | None = None
    verdict: str | None = None  # one of VERDICT_CHOICES
    found_from: date | None = None
    found_to: date | None = None
    q: str | None = None  # number, title, description, finder, responsible unit's name

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as GET parameters (the links, the map's data URL, the next page)."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out.append((f.name, value.isoformat() if isinstance(value, date) else str(value)))
        return out

    def with_status(self, status: str | None) -> CaseFilters:
        return replace(self, status=status)


class FilterError(ValueError):
    """A filter value that is not one of its choices: ``field`` names it, the message is bilingual."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check(filters: CaseFilters) -> CaseFilters:
    """Refuse a value outside its vocabulary (a clear 400 rather than an empty list that looks right)."""
    choices: dict[str, tuple[str, ...]] = {
        "kind": CASE_KINDS,
        "status": STATUS_CHOICES,
        "severity": CASE_SEVERITIES,
        "verdict": tuple(VERDICT_CHOICES),
    }
    for name, allowed in choices.items():
        value = getattr(filters, name)
        if value is not None and value not in allowed:
            raise FilterError(name, f"{name}：没有“{value}”这一项 / {name} must be one of {', '.join(allowed)}")
    if filters.found_from and filters.found_to and filters.found_from > filters.found_to:
        raise FilterError(
            "found_from",
            f"发现日期起（{filters.found_from}）晚于止（{filters.found_to}） / found_from is after found_to",
        )
    if filters.q is not None and len(filters.q) > 200:
        raise FilterError("q", "搜索词过长（最多 200 字） / q is longer than 200 characters")
    return filters


# the responsible unit and every unit under it or taken over by it (the unit register's scope)
_UNIT_TREE = """(
    WITH RECURSIVE tree(id) AS (
        SELECT CAST(:unit AS integer)
        UNION
        SELECT un.id FROM units un JOIN tree t ON un.parent_id = t.id OR un.successor_id = t.id
    ) SELECT id FROM tree
)"""


def unit_tree(session: Session, unit: int) -> list[int]:
    """The unit and every unit under it or taken over by it (read first: an array the planner can use an index for)."""
    return [int(r[0]) for r in session.execute(text(f"SELECT id FROM {_UNIT_TREE} AS t(id)"), {"unit": unit})]


def where_sql(
    filters: CaseFilters, role: str | None, actor: str | None, unit_ids: list[int] | None = None
) -> tuple[str, dict[str, Any]]:
    """The predicate over ``cases c`` (visibility first, then the filters) and its bound parameters; ``unit_ids``
    is :func:`unit_tree` of ``filters.unit`` when the caller has read it (else a subquery does the same)."""
    clauses = [visible_sql(role, "c")]
    params: dict[str, Any] = dict(visible_params(actor))
    if filters.kind:
        clauses.append("c.kind = :kind")
        params["kind"] = filters.kind
    if filters.status == OVERDUE:
        clauses.append(OVERDUE_SQL)
    elif filters.status:
        clauses.append("c.status = :status")
        params["status"] = filters.status
    if filters.unit is not None and unit_ids is not None:
        clauses.append("c.responsible_unit_id = ANY(CAST(:unit_ids AS integer[]))")
        params["unit_ids"] = unit_ids
    elif filters.unit is not None:
        clauses.append(f"c.responsible_unit_id IN {_UNIT_TREE}")
        params["unit"] = filters.unit
    if filters.city:
        clauses.append("c.city = :city")
        params["city"] = filters.city
    if filters.district:
        clauses.append("EXISTS (SELECT 1 FROM districts d WHERE d.name = :district AND ST_Intersects(d.geom, c.geom))")
        params["district"] = filters.district
    if filters.severity:
        clauses.append("c.severity = :severity")
        params["severity"] = filters.severity
    if filters.verdict == "inside":
        clauses.append("c.verdict IN ('prohibited', 'needs_approval', 'allowed', 'not_applicable')")
    elif filters.verdict == "outside":
        clauses.append("c.verdict = 'outside'")
    elif filters.verdict == "unscreened":
        clauses.append("c.verdict IS NULL")
    elif filters.verdict:
        clauses.append("c.verdict = :verdict")
        params["verdict"] = filters.verdict
    if filters.found_from:
        clauses.append("c.found_on >= :found_from")
        params["found_from"] = filters.found_from
    if filters.found_to:
        clauses.append("c.found_on <= :found_to")
        params["found_to"] = filters.found_to
    if filters.q:
        needle = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(
            "(c.number ILIKE :q OR c.title ILIKE :q OR c.description ILIKE :q OR c.found_by ILIKE :q"
            " OR EXISTS (SELECT 1 FROM units qu WHERE qu.id = c.responsible_unit_id"
            " AND (qu.name ILIKE :q OR qu.short_name ILIKE :q)))"
        )
        params["q"] = f"%{needle}%"
    return " AND ".join(clauses), params


@dataclass(frozen=True)
class CasePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def list_cases(
    session: Session, filters: CaseFilters, role: str | None, actor: str | None, page: int = 1, size: int = PAGE_SIZE
) -> CasePage:
    """One page of the cases the caller may see, newest found first (then newest registered), with the count."""
    units = unit_tree(session, filters.unit) if filters.unit is not None else None
    where, params = where_sql(filters, role, actor, units)
    size = max(1, min(size, MAX_PAGE_SIZE))
    page = max(1, page)
    total = int(session.execute(text(f"SELECT count(*) FROM cases c WHERE {where}"), params).scalar_one())
    rows = session.execute(
        text(
            "SELECT c.id, c.number, c.kind, c.title, c.status, c.severity, c.city, c.found_on, c.found_by,"
            " c.deadline, c.verdict, c.responsible_unit_id, u.name AS responsible_unit,"
            f" {OVERDUE_SQL} AS overdue,"
            " ST_Y(ST_PointOnSurface(c.geom)) AS lat, ST_X(ST_PointOnSurface(c.geom)) AS lon"
            " FROM cases c LEFT JOIN units u ON u.id = c.responsible_unit_id"
            f" WHERE {where} ORDER BY c.found_on DESC, c.id DESC LIMIT :limit OFFSET :offset"
        ),
        params | {"limit": size, "offset": (page - 1) * size},
    ).mappings()
    return CasePage([dict(r) for r in rows], total, page, size)


def map_geojson(
    session: Session,
    filters: CaseFilters,
    role: str | None,
    actor: str | None,
    limit: int = MAP_LIMIT,
    bbox: tuple[float, float, float, float] | None = None,
) -> str:
    """The filtered cases as a light FeatureCollection, as text built by PostgreSQL (decision 0044's way).

    One point per case (its place's point on surface), 6 decimals; properties only what the symbol and
    the popup need: ``n`` number, ``s`` status, ``o`` overdue (1/0), ``v`` severity.  At most ``limit``
    features (newest first); ``numberMatched`` says how many match, ``bbox`` bounds what is sent.
    """
    units = unit_tree(session, filters.unit) if filters.unit is not None else None
    where, params = where_sql(filters, role, actor, units)
    if bbox is not None:
        where += " AND c.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
        params |= dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    params["limit"] = max(0, min(limit, MAP_LIMIT))
    sql = f"""
WITH m AS (SELECT count(*) AS n FROM cases c WHERE {where}),
f AS (
    SELECT c.id, c.number, c.status, c.severity, {OVERDUE_SQL} AS overdue, ST_PointOnSurface(c.geom) AS g
    FROM cases c WHERE {where} ORDER BY c.found_on DESC, c.id DESC LIMIT :limit
)
SELECT '{{"type":"FeatureCollection","numberMatched":' || (SELECT n FROM m)
    || ',"numberReturned":' || (SELECT count(*) FROM f)
    || COALESCE(',"bbox":[' || (SELECT round(ST_XMin(e)::numeric, 6) || ',' || round(ST_YMin(e)::numeric, 6) || ','
        || round(ST_XMax(e)::numeric, 6) || ',' || round(ST_YMax(e)::numeric, 6)
        FROM (SELECT ST_Extent(g) AS e FROM f) x) || ']', '')
    || ',"features":[' || COALESCE((SELECT string_agg(
    '{{"type":"Feature","id":' || f.id || ',"geometry":' || ST_AsGeoJSON(f.g, 6)
    || ',"properties":{{"n":' || to_json(f.number)::text || ',"s":"' || f.status || '","o":'
    || CASE WHEN f.overdue THEN '1' ELSE '0' END || ',"v":"' || f.severity || '"}}}}', ',') FROM f), '') || ']}}'"""
    # one statement over every visible case: JIT's compile (about 25 ms at 100,000) buys nothing here (decision 0252)
    session.execute(text("SET LOCAL jit = off"))
    return str(session.execute(text(sql), params).scalar_one())


def filter_options(session: Session) -> dict[str, list[tuple[Any, str]]]:
    """(value, label) pairs of the filter form's selects."""
    units = session.execute(
        text(
            "SELECT u.id, u.name FROM units u WHERE u.valid_to IS NULL OR u.valid_to > CURRENT_DATE"
            " ORDER BY u.city NULLS FIRST, u.name"
        )
    ).all()
    districts = session.execute(text("SELECT name, city FROM districts ORDER BY adcode")).all()
    return {
        "kind": [(k, k) for k in CASE_KINDS],
        "status": [(s, s) for s in STATUS_CHOICES],
        "unit": [(u.id, u.name) for u in units],
        "city": [(c, c) for c in CITIES],
        "district": [(d.name, f"{d.city or ''} {d.name}".strip()) for d in districts],
        "severity": [(s, s) for s in CASE_SEVERITIES],
        "verdict": list(VERDICT_CHOICES.items()),
    }
