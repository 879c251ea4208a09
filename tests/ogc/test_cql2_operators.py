"""Every CQL2 operator the service claims, checked against an independent evaluation on the same rows.

For each case the collection is fetched once unfiltered through the items API; the expected ids are
computed here in Python (shapely for the spatial functions, Python dates for Allen's relations,
``Decimal`` for arithmetic, which has SQL numeric's truncating ``%`` and ``div``), and the ids the
service returns for the filter, in CQL2 text and in CQL2 JSON, must be exactly those.  A case must also
select neither nothing nor everything (unless it says why), so a predicate that is always true or
always false cannot pass by accident.

Nulls follow SQL: a predicate on a null property does not match.  In ``INTERVAL(start, end)`` a null
property bound is open, as the service documents (docs/decisions/0120-cql2-operators.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from string import Template
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

COLLECTIONS = ("projects", "green_heart", "roads", "sites")
LONG_AGO, FAR_AHEAD = date.min, date.max


@dataclass(frozen=True)
class Row:
    id: int
    props: dict[str, Any]
    geom: BaseGeometry | None

    def __getitem__(self, name: str) -> Any:
        return self.id if name == "id" else self.props.get(name)

    def day(self, name: str) -> date | None:
        value = self[name]
        return date.fromisoformat(value) if value else None

    def moment(self, name: str) -> datetime | None:
        value = self[name]
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    def units(self, name: str) -> list[str] | None:
        """An array property, served as '; '-joined text (decision 0031): '' is the empty array."""
        value = self[name]
        return None if value is None else ([] if value == "" else value.split("; "))

    def number(self, name: str) -> Decimal | None:
        value = self[name]
        return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Case:
    collection: str
    text: str
    json: dict[str, Any]
    expect: Callable[[Row, dict[str, Any]], bool]
    trivial: str = ""  # why this case may select nothing or everything


# --- CQL2 JSON builders ----------------------------------------------------------------------
def P(name: str) -> dict[str, Any]:
    return {"property": name}


def O(op: str, *args: Any) -> dict[str, Any]:  # noqa: E743
    return {"op": op, "args": list(args)}


def D(day: str) -> dict[str, Any]:
    return {"date": day}


def TS(moment: str) -> dict[str, Any]:
    return {"timestamp": moment}


def IV(start: Any, end: Any) -> dict[str, Any]:
    return {"interval": [start, end]}


def GJ(wkt: str) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shapely.from_wkt(wkt)))


# --- independent evaluation helpers ----------------------------------------------------------
def known(*values: Any) -> bool:
    return all(v is not None for v in values)


def like(value: str | None, pattern: str, *, casei: bool = False) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE if casei else 0
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def geometry_of(row: Row) -> BaseGeometry | None:
    """The row's geometry as a point set: an invalid one (overlapping parts) read as the union it describes."""
    geom = row.geom
    if geom is None or geom.is_valid:
        return geom
    return shapely.make_valid(geom, method="structure")


def spatial(predicate: str, wkt: str) -> Callable[[Row, dict[str, Any]], bool]:
    other = shapely.from_wkt(wkt)

    def check(row: Row, _: dict[str, Any]) -> bool:
        geom = geometry_of(row)
        return geom is not None and bool(getattr(shapely, predicate)(geom, other))

    return check


# Allen's relations as OGC 21-065r2 defines them, an instant being [t, t]
ALLEN: dict[str, Callable[[Any, Any, Any, Any], bool]] = {
    "t_after": lambda a1, a2, b1, b2: a1 > b2,
    "t_before": lambda a1, a2, b1, b2: a2 < b1,
    "t_contains": lambda a1, a2, b1, b2: a1 < b1 and a2 > b2,
    "t_disjoint": lambda a1, a2, b1, b2: a1 > b2 or a2 < b1,
    "t_during": lambda a1, a2, b1, b2: a1 > b1 and a2 < b2,
    "t_equals": lambda a1, a2, b1, b2: a1 == b1 and a2 == b2,
    "t_finishedby": lambda a1, a2, b1, b2: a1 < b1 and a2 == b2,
    "t_finishes": lambda a1, a2, b1, b2: a1 > b1 and a2 == b2,
    "t_intersects": lambda a1, a2, b1, b2: a1 <= b2 and a2 >= b1,
    "t_meets": lambda a1, a2, b1, b2: a2 == b1,
    "t_metby": lambda a1, a2, b1, b2: a1 == b2,
    "t_overlappedby": lambda a1, a2, b1, b2: b1 < a1 < b2 < a2,
    "t_overlaps": lambda a1, a2, b1, b2: a1 < b1 < a2 < b2,
    "t_startedby": lambda a1, a2, b1, b2: a1 == b1 and a2 > b2,
    "t_starts": lambda a1, a2, b1, b2: a1 == b1 and a2 < b2,
}


def bound(text: str, *, at_end: bool) -> date:
    return (FAR_AHEAD if at_end else LONG_AGO) if text == ".." else date.fromisoformat(text)


def temporal_instant(name: str, prop: str, start: str, end: str | None = None) -> Callable[[Row, Any], bool]:
    """``name(prop, DATE(start))`` or ``name(prop, INTERVAL(start, end))`` on a date property."""
    b1 = bound(start, at_end=False)
    b2 = b1 if end is None else bound(end, at_end=True)

    def check(row: Row, _: Any) -> bool:
        day = row.day(prop)
        return day is not None and ALLEN[name](day, day, b1, b2)

    return check


def temporal_validity(name: str, start: str, end: str | None = None) -> Callable[[Row, Any], bool]:
    """``name(INTERVAL(valid_from, valid_to), ...)``: a null valid_to is open."""
    b1 = bound(start, at_end=False)
    b2 = b1 if end is None else bound(end, at_end=True)

    def check(row: Row, _: Any) -> bool:
        a1 = row.day("valid_from") or LONG_AGO
        a2 = row.day("valid_to") or FAR_AHEAD
        return ALLEN[name](a1, a2, b1, b2)

    return check


def arith(expr: Callable[..., Decimal | None], *names: str) -> Callable[[Row, Any], bool]:
    def check(row: Row, _: Any) -> bool:
        values = [row.number(n) for n in names]
        if not known(*values):
            return False
        try:
            result = expr(*values)
        except ArithmeticError:  # division by zero on this row: NULL in SQL, so no match
            return False
        return bool(result)

    return check


def A(row: Row, name: str) -> set[str] | None:
    units = row.units(name)
    return None if units is None else set(units)


BOX = "POLYGON((112.9 27.8, 113.2 27.8, 113.2 28.0, 112.9 28.0, 112.9 27.8))"
BOX_JSON = GJ(BOX)
LINE = "LINESTRING(112.9 27.85, 113.3 27.95)"
NEIGHBOUR = "POLYGON((113.1 27.9, 113.2 27.9, 113.2 28.0, 113.1 28.0, 113.1 27.9))"  # shares an edge with p2
QINGSHUITANG = "POINT(113.08 27.87)"
ROAD_END = "POINT(113.06 27.868)"  # an end of ogc-test-road-1
P1_POINT = "POINT(113.075 27.868)"  # ogc-test-p1

CASES: list[Case] = [
    # --- basic CQL2: comparisons, logic, IS NULL, property-property -----------------------
    Case("projects", "status = '推进中'", O("=", P("status"), "推进中"), lambda r, c: r["status"] == "推进中"),
    Case(
        "projects",
        "status <> '已完成'",
        O("<>", P("status"), "已完成"),
        lambda r, c: r["status"] not in (None, "已完成"),
    ),
    Case("projects", "percent < 60", O("<", P("percent"), 60), lambda r, c: known(r["percent"]) and r["percent"] < 60),
    Case(
        "projects", "percent <= 60", O("<=", P("percent"), 60), lambda r, c: known(r["percent"]) and r["percent"] <= 60
    ),
    Case("projects", "percent > 60", O(">", P("percent"), 60), lambda r, c: known(r["percent"]) and r["percent"] > 60),
    Case(
        "projects", "percent >= 60", O(">=", P("percent"), 60), lambda r, c: known(r["percent"]) and r["percent"] >= 60
    ),
    Case("projects", "year = 2010", O("=", P("year"), 2010), lambda r, c: r["year"] == 2010),
    Case("projects", "id < 40", O("<", P("id"), 40), lambda r, c: r.id < 40),
    Case("projects", "id = $some_id", O("=", P("id"), "$some_id"), lambda r, c: r.id == c["some_id"]),
    Case(
        "projects",
        "status = '推进中' AND percent >= 50 OR category = '两型改革'",
        O("or", O("and", O("=", P("status"), "推进中"), O(">=", P("percent"), 50)), O("=", P("category"), "两型改革")),
        lambda r, c: (
            (r["status"] == "推进中" and known(r["percent"]) and r["percent"] >= 50) or r["category"] == "两型改革"
        ),
    ),
    Case(
        "projects",
        "NOT (year = 2010) AND NOT status IS NULL",
        O("and", O("not", O("=", P("year"), 2010)), O("not", O("isNull", P("status")))),
        lambda r, c: r["year"] != 2010 and r["status"] is not None,
    ),
    Case(
        "projects",
        "TRUE AND NOT FALSE AND percent > 60",
        O("and", True, O("not", False), O(">", P("percent"), 60)),
        lambda r, c: known(r["percent"]) and r["percent"] > 60,
    ),
    Case("projects", "status IS NULL", O("isNull", P("status")), lambda r, c: r["status"] is None),
    Case("projects", "deadline IS NOT NULL", O("not", O("isNull", P("deadline"))), lambda r, c: known(r["deadline"])),
    Case("projects", "geometry IS NULL", O("isNull", P("geometry")), lambda r, c: r.geom is None),
    Case(
        "projects",
        "percent > precision",
        O(">", P("percent"), P("precision")),
        lambda r, c: known(r["percent"], r["precision"]) and r["percent"] > r["precision"],
    ),
    # property-property: a literal on the left, properties on both sides of a spatial / temporal function
    Case("projects", "60 < percent", O("<", 60, P("percent")), lambda r, c: known(r["percent"]) and r["percent"] > 60),
    Case(
        "projects",
        f"S_CONTAINS({BOX}, geometry)",
        O("s_contains", BOX_JSON, P("geometry")),
        spatial("within", BOX),
    ),
    Case(
        "projects",
        "T_BEFORE(DATE('2018-09-01'), period)",
        O("t_before", D("2018-09-01"), P("period")),
        lambda r, c: known(r.day("period")) and date(2018, 9, 1) < r.day("period"),
    ),
    Case(
        "projects",
        "T_BEFORE(deadline, period)",
        O("t_before", P("deadline"), P("period")),
        lambda r, c: known(r.day("deadline"), r.day("period")) and r.day("deadline") < r.day("period"),
    ),
    Case("roads", "accuracy_m >= 3000", O(">=", P("accuracy_m"), 3000), lambda r, c: (r["accuracy_m"] or 0) >= 3000),
    # --- advanced comparison: LIKE, BETWEEN, IN ------------------------------------------
    Case(
        "projects",
        "lead_units LIKE '市%'",
        O("like", P("lead_units"), "市%"),
        lambda r, c: like(r["lead_units"], "市%"),
    ),
    Case("projects", "title LIKE '%改革%'", O("like", P("title"), "%改革%"), lambda r, c: like(r["title"], "%改革%")),
    Case(
        "projects",
        "title NOT LIKE '%改革%'",
        O("not", O("like", P("title"), "%改革%")),
        lambda r, c: r["title"] is not None and not like(r["title"], "%改革%"),
    ),
    Case("projects", "number LIKE '3._'", O("like", P("number"), "3._"), lambda r, c: like(r["number"], "3._")),
    Case(
        "projects",
        "percent BETWEEN 30 AND 90",
        O("between", P("percent"), 30, 90),
        lambda r, c: known(r["percent"]) and 30 <= r["percent"] <= 90,
    ),
    Case(
        "projects",
        "percent NOT BETWEEN 30 AND 90",
        O("not", O("between", P("percent"), 30, 90)),
        lambda r, c: known(r["percent"]) and not 30 <= r["percent"] <= 90,
    ),
    Case(
        "projects",
        "status IN ('推进中', '滞后')",
        O("in", P("status"), ["推进中", "滞后"]),
        lambda r, c: r["status"] in ("推进中", "滞后"),
    ),
    Case(
        "projects",
        "category NOT IN ('两型改革', '碧水蓝天')",
        O("not", O("in", P("category"), ["两型改革", "碧水蓝天"])),
        lambda r, c: r["category"] is not None and r["category"] not in ("两型改革", "碧水蓝天"),
    ),
    Case(
        "projects",
        "id IN ($some_id, 1, 2)",
        O("in", P("id"), ["$some_id", 1, 2]),
        lambda r, c: r.id in (c["some_id"], 1, 2),
    ),
    # --- case-insensitive comparison -----------------------------------------------------
    Case(
        "projects",
        "CASEI(key) LIKE CASEI('OGC-TEST-P%')",
        O("like", O("casei", P("key")), O("casei", "OGC-TEST-P%")),
        lambda r, c: like(r["key"], "ogc-test-p%", casei=True),
    ),
    Case(
        "roads",
        "CASEI(road_class) = casei('URBAN')",
        O("=", O("casei", P("road_class")), O("casei", "URBAN")),
        lambda r, c: (r["road_class"] or "").lower() == "urban",
    ),
    # --- spatial functions ---------------------------------------------------------------
    Case(
        "projects",
        f"S_INTERSECTS(geometry, {BOX})",
        O("s_intersects", P("geometry"), BOX_JSON),
        spatial("intersects", BOX),
    ),
    Case(
        "projects",
        "S_INTERSECTS(geometry, BBOX(112.5, 27.5, 113.1, 27.95))",
        O("s_intersects", P("geometry"), {"bbox": [112.5, 27.5, 113.1, 27.95]}),
        spatial("intersects", "POLYGON((112.5 27.5, 113.1 27.5, 113.1 27.95, 112.5 27.95, 112.5 27.5))"),
    ),
    Case(
        "projects", f"S_DISJOINT(geometry, {BOX})", O("s_disjoint", P("geometry"), BOX_JSON), spatial("disjoint", BOX)
    ),
    Case("projects", f"S_WITHIN(geometry, {BOX})", O("s_within", P("geometry"), BOX_JSON), spatial("within", BOX)),
    Case(
        "projects",
        f"S_CONTAINS(geometry, {QINGSHUITANG})",
        O("s_contains", P("geometry"), GJ(QINGSHUITANG)),
        spatial("contains", QINGSHUITANG),
    ),
    Case("projects", f"S_CROSSES(geometry, {LINE})", O("s_crosses", P("geometry"), GJ(LINE)), spatial("crosses", LINE)),
    Case(
        "projects", f"S_OVERLAPS(geometry, {BOX})", O("s_overlaps", P("geometry"), BOX_JSON), spatial("overlaps", BOX)
    ),
    Case(
        "projects",
        f"S_TOUCHES(geometry, {NEIGHBOUR})",
        O("s_touches", P("geometry"), GJ(NEIGHBOUR)),
        spatial("touches", NEIGHBOUR),
    ),
    Case(
        "projects",
        f"S_EQUALS(geometry, {P1_POINT})",
        O("s_equals", P("geometry"), GJ(P1_POINT)),
        spatial("equals", P1_POINT),
    ),
    Case(
        "roads",
        f"S_TOUCHES(geometry, {ROAD_END})",
        O("s_touches", P("geometry"), GJ(ROAD_END)),
        spatial("touches", ROAD_END),
    ),
    Case("roads", f"S_CROSSES(geometry, {BOX})", O("s_crosses", P("geometry"), BOX_JSON), spatial("crosses", BOX)),
    Case("sites", f"S_WITHIN(geometry, {BOX})", O("s_within", P("geometry"), BOX_JSON), spatial("within", BOX)),
    Case("sites", f"S_DISJOINT(geom, {BOX})", O("s_disjoint", P("geom"), BOX_JSON), spatial("disjoint", BOX)),
    # --- temporal functions: instants (period) ---------------------------------------------
    Case(
        "projects",
        "T_BEFORE(period, DATE('2018-09-01'))",
        O("t_before", P("period"), D("2018-09-01")),
        temporal_instant("t_before", "period", "2018-09-01"),
    ),
    Case(
        "projects",
        "T_AFTER(period, DATE('2018-09-01'))",
        O("t_after", P("period"), D("2018-09-01")),
        temporal_instant("t_after", "period", "2018-09-01"),
    ),
    Case(
        "projects",
        "T_EQUALS(period, DATE('2018-12-01'))",
        O("t_equals", P("period"), D("2018-12-01")),
        temporal_instant("t_equals", "period", "2018-12-01"),
    ),
    Case(
        "projects",
        "T_DISJOINT(period, DATE('2018-12-01'))",
        O("t_disjoint", P("period"), D("2018-12-01")),
        temporal_instant("t_disjoint", "period", "2018-12-01"),
    ),
    Case(
        "projects",
        "T_INTERSECTS(period, INTERVAL('2018-08-01', '2018-10-01'))",
        O("t_intersects", P("period"), IV("2018-08-01", "2018-10-01")),
        temporal_instant("t_intersects", "period", "2018-08-01", "2018-10-01"),
    ),
    Case(
        "projects",
        "T_DURING(period, INTERVAL('2018-08-01', '2018-11-01'))",
        O("t_during", P("period"), IV("2018-08-01", "2018-11-01")),
        temporal_instant("t_during", "period", "2018-08-01", "2018-11-01"),
    ),
    Case(
        "projects",
        "T_STARTS(period, INTERVAL('2018-10-01', '2018-12-01'))",
        O("t_starts", P("period"), IV("2018-10-01", "2018-12-01")),
        temporal_instant("t_starts", "period", "2018-10-01", "2018-12-01"),
    ),
    Case(
        "projects",
        "T_FINISHES(period, INTERVAL('2018-10-01', '2018-12-01'))",
        O("t_finishes", P("period"), IV("2018-10-01", "2018-12-01")),
        temporal_instant("t_finishes", "period", "2018-10-01", "2018-12-01"),
    ),
    Case(
        "projects",
        "T_MEETS(period, INTERVAL('2018-12-01', '..'))",
        O("t_meets", P("period"), IV("2018-12-01", "..")),
        temporal_instant("t_meets", "period", "2018-12-01", ".."),
    ),
    Case(
        "projects",
        "T_METBY(period, INTERVAL('..', '2018-09-01'))",
        O("t_metby", P("period"), IV("..", "2018-09-01")),
        temporal_instant("t_metby", "period", "..", "2018-09-01"),
    ),
    Case(
        "projects",
        "T_AFTER(updated_at, TIMESTAMP('$updated_mid'))",
        O("t_after", P("updated_at"), TS("$updated_mid")),
        lambda r, c: r.moment("updated_at") > c["updated_mid_dt"],
    ),
    Case(
        "projects",
        "T_BEFORE(updated_at, TIMESTAMP('$updated_mid'))",
        O("t_before", P("updated_at"), TS("$updated_mid")),
        lambda r, c: r.moment("updated_at") < c["updated_mid_dt"],
    ),
    # --- temporal functions: intervals (green heart validity; a null valid_to is open) ------
    *(
        Case(
            "green_heart",
            f"{name.upper()}(INTERVAL(valid_from, valid_to), "
            + (f"DATE('{start}')" if end is None else f"INTERVAL('{start}', '{end}')")
            + ")",
            O(name, IV(P("valid_from"), P("valid_to")), D(start) if end is None else IV(start, end)),
            temporal_validity(name, start, end),
        )
        for name, start, end in (
            ("t_after", "2020-01-01", None),
            ("t_before", "2024-09-01", None),
            ("t_contains", "2015-01-01", "2016-01-01"),
            ("t_disjoint", "2024-08-31", None),
            ("t_during", "2010-01-01", "2025-01-01"),
            ("t_equals", "2024-09-01", ".."),
            ("t_finishedby", "2020-01-01", "2024-08-31"),
            ("t_finishes", "2000-01-01", ".."),
            ("t_intersects", "2024-08-31", None),
            ("t_meets", "2024-08-31", ".."),
            ("t_metby", "2020-01-01", "2024-09-01"),
            ("t_overlappedby", "2020-01-01", "2025-01-01"),
            ("t_overlaps", "2020-01-01", "2030-01-01"),
            ("t_startedby", "2024-09-01", "2030-01-01"),
            ("t_starts", "2013-03-01", "2030-01-01"),
        )
    ),
    # --- arithmetic ----------------------------------------------------------------------
    Case(
        "projects", "percent * 2 > 150", O(">", O("*", P("percent"), 2), 150), arith(lambda p: p * 2 > 150, "percent")
    ),
    Case(
        "projects", "percent / 4 >= 20", O(">=", O("/", P("percent"), 4), 20), arith(lambda p: p / 4 >= 20, "percent")
    ),
    Case(
        "projects", "percent % 40 = 20", O("=", O("%", P("percent"), 40), 20), arith(lambda p: p % 40 == 20, "percent")
    ),
    Case("projects", "year div 4 = 502", O("=", O("div", P("year"), 4), 502), arith(lambda y: y // 4 == 502, "year")),
    Case(
        "projects", "precision ^ 2 > 10", O(">", O("^", P("precision"), 2), 10), arith(lambda p: p**2 > 10, "precision")
    ),
    Case(
        "projects",
        "investment_wan - 1000 > 0",
        O(">", O("-", P("investment_wan"), 1000), 0),
        arith(lambda i: i - 1000 > 0, "investment_wan"),
    ),
    Case(
        "projects",
        "percent + 10 * 2 >= 100",
        O(">=", O("+", P("percent"), O("*", 10, 2)), 100),
        arith(lambda p: p + 20 >= 100, "percent"),
    ),
    Case(
        "projects",
        "(percent + 10) * 2 >= 100",
        O(">=", O("*", O("+", P("percent"), 10), 2), 100),
        arith(lambda p: (p + 10) * 2 >= 100, "percent"),
    ),
    Case("projects", "-percent < -50", O("<", O("-", 0, P("percent")), -50), arith(lambda p: -p < -50, "percent")),
    Case(
        "projects",
        "percent / (precision - 1) > 10",
        O(">", O("/", P("percent"), O("-", P("precision"), 1)), 10),
        arith(lambda p, q: p / (q - 1) > 10, "percent", "precision"),
    ),
    Case(
        "projects",
        "-7 % precision = -1",
        O("=", O("%", -7, P("precision")), -1),
        arith(lambda q: Decimal(-7) % q == -1, "precision"),
    ),
    # --- array functions (over the text[] columns, served as '; '-joined text) --------------
    Case(
        "projects",
        "A_CONTAINS(lead_units, ('市发改委'))",
        O("a_contains", P("lead_units"), ["市发改委"]),
        lambda r, c: A(r, "lead_units") is not None and A(r, "lead_units") >= {"市发改委"},
    ),
    Case(
        "projects",
        "A_CONTAINEDBY(responsible_units, ('市环保局', '各县市区人民政府'))",
        O("a_containedby", P("responsible_units"), ["市环保局", "各县市区人民政府"]),
        lambda r, c: (
            A(r, "responsible_units") is not None and A(r, "responsible_units") <= {"市环保局", "各县市区人民政府"}
        ),
    ),
    Case(
        "projects",
        "A_OVERLAPS(responsible_units, ('市环保局', '市发改委'))",
        O("a_overlaps", P("responsible_units"), ["市环保局", "市发改委"]),
        lambda r, c: bool((A(r, "responsible_units") or set()) & {"市环保局", "市发改委"}),
    ),
    Case(
        "projects",
        "A_OVERLAPS(lead_units, responsible_units)",
        O("a_overlaps", P("lead_units"), P("responsible_units")),
        lambda r, c: bool((A(r, "lead_units") or set()) & (A(r, "responsible_units") or set())),
        trivial="no project names one unit both as lead and as responsible",
    ),
    Case(
        "projects",
        "A_CONTAINEDBY(responsible_units, lead_units)",
        O("a_containedby", P("responsible_units"), P("lead_units")),
        lambda r, c: (
            known(A(r, "responsible_units"), A(r, "lead_units")) and A(r, "responsible_units") <= A(r, "lead_units")
        ),
    ),
    Case(
        "roads",
        "A_CONTAINS(aliases, ('株冶大道'))",
        O("a_contains", P("aliases"), ["株冶大道"]),
        lambda r, c: "株冶大道" in (A(r, "aliases") or set()),
    ),
    Case(
        "projects",
        "A_EQUALS(responsible_units, ())",
        O("a_equals", P("responsible_units"), []),
        lambda r, c: r.units("responsible_units") == [],
    ),
    Case(
        "projects",
        "A_EQUALS(lead_units, ('市发改委'))",
        O("a_equals", P("lead_units"), ["市发改委"]),
        lambda r, c: r.units("lead_units") == ["市发改委"],
    ),
]


def _features(client: TestClient, collection: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/collections/{collection}/items", params={"limit": 10000, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberReturned"] == len(body["features"]) < 10000
    return body["features"]


@pytest.fixture(scope="module")
def rows(client: TestClient, ogc_rows: dict[str, Any]) -> dict[str, list[Row]]:
    """Every row of each collection, unfiltered, as the items API serves it."""
    return {
        name: [
            Row(f["id"], f["properties"], shape(f["geometry"]) if f["geometry"] else None)
            for f in _features(client, name)
        ]
        for name in COLLECTIONS
    }


@pytest.fixture(scope="module")
def context(rows: dict[str, list[Row]], ogc_rows: dict[str, Any]) -> dict[str, Any]:
    """Values the cases need from the data: an id, and an instant between the earliest and latest update."""
    moments = sorted({r.moment("updated_at") for r in rows["projects"]} - {None})
    assert len(moments) >= 2, "the test rows are written after the bundled projects"
    middle = moments[0] + (moments[-1] - moments[0]) / 2
    middle = middle.astimezone(UTC).replace(microsecond=0)
    return {
        "some_id": ogc_rows["ogc-test-p2"],
        "updated_mid": middle.isoformat().replace("+00:00", "Z"),
        "updated_mid_dt": middle,
    }


def _fill(text: str, context: dict[str, Any]) -> str:
    return Template(text).substitute({k: v for k, v in context.items() if isinstance(v, str | int)})


def _fill_json(document: dict[str, Any], context: dict[str, Any]) -> str:
    # "$some_id" stands for a number: unquote it
    filled = _fill(json.dumps(document, ensure_ascii=False), context)
    return re.sub(r'"(-?\d+)"', lambda m: m.group(1), filled) if "$some_id" in json.dumps(document) else filled


@pytest.mark.parametrize("encoding", ["cql2-text", "cql2-json"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.collection}: {c.text}" for c in CASES])
def test_operator_matches_independent_evaluation(
    client: TestClient, rows: dict[str, list[Row]], context: dict[str, Any], case: Case, encoding: str
) -> None:
    table = rows[case.collection]
    expected = {r.id for r in table if case.expect(r, context)}
    if not case.trivial:
        assert 0 < len(expected) < len(table), f"the case selects {len(expected)} of {len(table)} rows"
    text = _fill(case.text, context) if encoding == "cql2-text" else _fill_json(case.json, context)
    got = {f["id"] for f in _features(client, case.collection, filter=text, **{"filter-lang": encoding})}
    assert got == expected, f"extra {sorted(got - expected)}, missing {sorted(expected - got)}"


def test_every_operator_is_covered() -> None:
    """The table above names every operator of the classes /conformance claims, in both encodings."""
    from service.ogc.cql_nodes import ARITHMETIC_OPERATORS, ARRAY_FUNCTIONS, TEMPORAL_FUNCTIONS

    ops: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "op" in node:
                ops.add(node["op"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for case in CASES:
        collect(case.json)
    spatial_ops = {
        f"s_{n}" for n in ("intersects", "disjoint", "within", "contains", "crosses", "overlaps", "touches", "equals")
    }
    basic = {"=", "<>", "<", "<=", ">", ">=", "and", "or", "not", "isNull", "like", "between", "in", "casei"}
    wanted = basic | spatial_ops | set(TEMPORAL_FUNCTIONS) | set(ARRAY_FUNCTIONS) | set(ARITHMETIC_OPERATORS)
    assert wanted - ops == set()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("percent / 0 > 1", "division by zero"),
        ("year div 0 = 1", "division by zero"),
        ("T_BEFORE(title, DATE('2018-01-01'))", "not a date or timestamp property"),
        ("T_BEFORE(period, DATE('2018-13-01'))", "not an RFC 3339 date"),
        ("A_CONTAINS(title, ('x'))", "not an array property"),
        ("A_CONTAINS(lead_units, (1, 2))", "quoted strings only"),
        ("S_CROSSES(geometry, BBOX(113.2, 27.8, 112.9, 28.0))", "west must not exceed east"),
        ("percent + 'x' > 1", "takes a number"),
        ("ACCENTI(title) = 'x'", "ACCENTI"),
        ("percent > ", "ends too early"),
        ("percent >> 1", "line 1 column"),
        ("id = 'x'", "a value in the request"),
    ],
)
def test_malformed_filters_are_a_400_saying_what_and_where(client: TestClient, bad: str, says: str) -> None:
    response = client.get("/collections/projects/items", params={"filter": bad})
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"], response.json()["detail"]


def test_a_json_error_names_its_path(client: TestClient) -> None:
    document = O("and", O("=", P("status"), "推进中"), O("t_before", P("period"), {"date": "2018-02-30"}))
    response = client.get("/collections/projects/items", params={"filter": json.dumps(document)})
    assert response.status_code == 400
    assert "$.args[1].args[1].date" in response.json()["detail"]


def test_a_zero_divisor_on_some_rows_excludes_those_rows_only(client: TestClient, rows: dict[str, list[Row]]) -> None:
    """``x / (precision - 1)`` is NULL where precision is 1: those rows do not match, the others still answer."""
    got = _features(client, "projects", filter="percent / (precision - 1) >= 0")
    assert {f["properties"]["precision"] for f in got} and 1 not in {f["properties"]["precision"] for f in got}


def test_conformance_claims_exactly_the_tested_cql2_classes(client: TestClient) -> None:
    prefix = "http://www.opengis.net/spec/cql2/1.0/conf/"
    claimed = {c.removeprefix(prefix) for c in client.get("/conformance").json()["conformsTo"] if c.startswith(prefix)}
    assert claimed == {
        "cql2-text",
        "cql2-json",
        "basic-cql2",
        "advanced-comparison-operators",
        "case-insensitive-comparison",
        "basic-spatial-functions",
        "basic-spatial-functions-plus",
        "spatial-functions",
        "temporal-functions",
        "array-functions",
        "property-property",
        "arithmetic",
    }  # not accent-insensitive-comparison (ACCENTI is a 400), not functions (no custom functions)
