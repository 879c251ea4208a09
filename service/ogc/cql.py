"""CQL2 (text and JSON) to a SQL WHERE fragment with bound parameters, over queryables only.

pygeofilter parses; this module walks its AST.  Every attribute must be a queryable of the
collection (or ``geometry``/``geom``); every literal becomes a bound parameter cast to the type of
the property it meets, so a filter can never inject SQL.  Geometry literals are read in
``filter-crs`` (default CRS84) and transformed to storage EPSG:4326 in the database.

A filter is bounded before, during and after parsing (docs/decisions/0094-rate-limits.md): at most
``XIANGMAP_FILTER_MAX_CHARS`` characters and brackets nested no deeper than its tree may be; a parser
that still runs out of stack is a 400; the tree may have at most ``XIANGMAP_FILTER_MAX_NODES`` nodes and
``XIANGMAP_FILTER_MAX_DEPTH`` levels (a chain of the same AND / OR is one level: it is walked as a list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from service.errors import Problem
from service.ogc.crs import CrsInfo, input_geometry_sql
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams
from service.settings import get_settings

GEOMETRY_NAMES = ("geometry", "geom")
COMPARISON_SQL = {
    ast.ComparisonOp.EQ: "=",
    ast.ComparisonOp.NE: "<>",
    ast.ComparisonOp.LT: "<",
    ast.ComparisonOp.LE: "<=",
    ast.ComparisonOp.GT: ">",
    ast.ComparisonOp.GE: ">=",
}
SPATIAL_SQL = {
    "INTERSECTS": "ST_Intersects",
    "DISJOINT": "ST_Disjoint",
    "CONTAINS": "ST_Contains",
    "WITHIN": "ST_Within",
    "TOUCHES": "ST_Touches",
    "CROSSES": "ST_Crosses",
    "OVERLAPS": "ST_Overlaps",
    "EQUALS": "ST_Equals",
}
ARITHMETIC_SQL = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
FILTER_LANGS = ("cql2-text", "cql2-json")


def _bad(detail: str) -> Problem:
    return Problem(400, f"filter: {detail}", parameter="filter")


@dataclass(frozen=True)
class FilterLimits:
    max_chars: int
    max_nodes: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> FilterLimits:
        settings = get_settings()
        return cls(settings.filter_max_chars, settings.filter_max_nodes, settings.filter_max_depth)

    @property
    def max_brackets(self) -> int:
        # cql2-json spends two brackets per level ({"op": .., "args": [..]}) and a multipolygon four more
        return 2 * self.max_depth + 6


def _bracket_depth(text: str, stop_above: int) -> int:
    """How deep ( [ { nest outside quoted strings (stops counting once above ``stop_above``)."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        elif ch in ")]}":
            depth -= 1
    return deepest


def _check_size(filter_text: str, limits: FilterLimits) -> None:
    """Before parsing: the length, and nesting no parser should have to recurse through."""
    if len(filter_text) > limits.max_chars:
        raise _bad(
            f"{len(filter_text)} characters, at most {limits.max_chars}; "
            "filter on fewer values (IN (...) for a list) or on a bbox"
        )
    nesting = _bracket_depth(filter_text, limits.max_brackets)
    if nesting > limits.max_brackets:
        raise _bad(
            f"brackets nested more than {limits.max_brackets} deep; a filter may nest at most {limits.max_depth} levels"
        )


def _sub_nodes(node: Any) -> list[Any]:
    if isinstance(node, ast.Node):
        return list(node.get_sub_nodes())
    if isinstance(node, list | tuple):
        return list(node)
    return []


def check_tree(node: Any, limits: FilterLimits) -> None:
    """After parsing, without recursion: at most ``max_nodes`` nodes and ``max_depth`` levels, where a chain
    of the same AND (or OR) counts as one level, as the SQL writer joins it as one list."""
    count = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        count += 1
        if count > limits.max_nodes:
            raise _bad(f"more than the {limits.max_nodes} terms (conditions, properties, values) a filter may have")
        if depth > limits.max_depth:
            raise _bad(f"nested deeper than the {limits.max_depth} levels a filter may have")
        for sub in _sub_nodes(current):
            same_chain = isinstance(current, ast.Combination) and type(sub) is type(current)
            stack.append((sub, depth if same_chain else depth + 1))


def parse_filter(filter_text: str, filter_lang: str | None, limits: FilterLimits | None = None) -> ast.AstType:
    """Parse ``filter`` in ``filter-lang`` (default cql2-text; JSON is detected too), within the limits."""
    limits = limits or FilterLimits.from_settings()
    lang = (filter_lang or "").strip().lower() or ("cql2-json" if filter_text.lstrip().startswith("{") else "cql2-text")
    if lang not in FILTER_LANGS:
        raise Problem(
            400, f"filter-lang: {filter_lang!r} is not supported; use cql2-text or cql2-json", parameter="filter-lang"
        )
    _check_size(filter_text, limits)
    try:
        node = parse_cql2_json(json.loads(filter_text)) if lang == "cql2-json" else parse_cql2_text(filter_text)
    except Problem:
        raise
    except RecursionError:
        raise _bad(f"nested too deeply to parse; a filter may nest at most {limits.max_depth} levels") from None
    except Exception as exc:  # lark / json / pygeofilter errors all mean the same: the text is not valid
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad(f"not valid {lang}: {first_line}") from exc
    check_tree(node, limits)
    return node


class CqlToSql:
    """Walks a pygeofilter AST and returns SQL over alias ``t``."""

    def __init__(self, collection: Collection, params: SqlParams, filter_crs: CrsInfo) -> None:
        self.collection = collection
        self.params = params
        self.filter_crs = filter_crs

    # --- entry -------------------------------------------------------------------------------
    def condition(self, node: Any) -> str:
        if isinstance(node, ast.And | ast.Or):
            # a chain of the same operator (a OR b OR c parses as ((a OR b) OR c)) as one list: no recursion
            # along it, so a long list of terms cannot exhaust the stack (check_tree counts it as one level)
            kind, operands, pending = type(node), [], [node]
            while pending:
                current = pending.pop()
                if type(current) is kind:
                    pending.extend((current.rhs, current.lhs))
                else:
                    operands.append(current)
            word = " AND " if kind is ast.And else " OR "
            return "(" + word.join(self.condition(operand) for operand in operands) + ")"
        if isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.sub_node)})"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if isinstance(node, ast.Comparison):
            return self._comparison(node)
        if isinstance(node, ast.Between):
            field = self._field_of(node.lhs)
            lhs = self.expression(node.lhs, field)
            sql = f"{lhs} BETWEEN {self.expression(node.low, field)} AND {self.expression(node.high, field)}"
            return f"(NOT {sql})" if node.not_ else f"({sql})"
        if isinstance(node, ast.Like):
            field = self._field_of(node.lhs)
            operator = "ILIKE" if node.nocase else "LIKE"
            sql = f"CAST({self.expression(node.lhs, field)} AS text) {operator} {self.params.add(node.pattern, 'text')}"
            return f"(NOT {sql})" if node.not_ else f"({sql})"
        if isinstance(node, ast.In):
            field = self._field_of(node.lhs)
            options = ", ".join(self.expression(v, field) for v in node.sub_nodes)
            sql = f"{self.expression(node.lhs, field)} IN ({options})"
            return f"(NOT {sql})" if node.not_ else f"({sql})"
        if isinstance(node, ast.IsNull):
            return f"({self.expression(node.lhs, None)} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.SpatialComparisonPredicate):
            function = SPATIAL_SQL[node.op.name]
            return f"{function}({self.geometry(node.lhs)}, {self.geometry(node.rhs)})"
        if isinstance(node, ast.BBox):
            envelope = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            return f"ST_Intersects({self.geometry(node.lhs)}, {self.geometry(envelope)})"
        if isinstance(node, ast.TemporalPredicate):
            return self._temporal(node)
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, ast.Attribute):
            field = self._field_of(node)
            if field is not None and field.pg_type == "bool":
                return field.sql
        raise _bad(f"{type(node).__name__} is not supported here")

    # --- pieces ------------------------------------------------------------------------------
    def _field_of(self, node: Any) -> Field | None:
        if isinstance(node, ast.Attribute):
            if node.name in GEOMETRY_NAMES:
                raise _bad(f"{node.name!r} is a geometry; compare it with S_INTERSECTS and friends")
            return self.collection.field(node.name, "filter")
        if isinstance(node, ast.Function) and node.arguments:
            return self._field_of(node.arguments[0])
        return None

    def _comparison(self, node: ast.Comparison) -> str:
        field = self._field_of(node.lhs) or self._field_of(node.rhs)
        left, right = _kind(node.lhs, self), _kind(node.rhs, self)
        if left and right and left != right and not _coercible(node.lhs, node.rhs, left, right):
            raise _bad(f"cannot compare a {left} with a {right}")
        return f"({self.expression(node.lhs, field)} {COMPARISON_SQL[node.op]} {self.expression(node.rhs, field)})"

    def expression(self, node: Any, field: Field | None) -> str:
        """A scalar: attribute, literal (bound, cast to ``field``'s type), function or arithmetic."""
        if isinstance(node, ast.Attribute):
            found = self._field_of(node)
            assert found is not None
            return found.sql
        if isinstance(node, ast.Function):
            name = node.name.lower()
            if name in ("lower", "casei") and len(node.arguments) == 1:
                return f"lower(CAST({self.expression(node.arguments[0], field)} AS text))"
            if name in ("upper",) and len(node.arguments) == 1:
                return f"upper(CAST({self.expression(node.arguments[0], field)} AS text))"
            if name == "accenti" and len(node.arguments) == 1:
                return self.expression(node.arguments[0], field)
            raise _bad(f"function {node.name!r} is not supported (casei, accenti, lower, upper are)")
        if isinstance(node, ast.Arithmetic):
            operator = ARITHMETIC_SQL[type(node)]
            return f"({self.expression(node.lhs, field)} {operator} {self.expression(node.rhs, field)})"
        if isinstance(node, bool):
            return self.params.add(node, "boolean")
        if isinstance(node, int | float):
            if field is not None and field.cast == "text":
                return self.params.add(str(node), "text")  # name = 1 compares with the text '1'
            cast = field.cast if field is not None else "double precision"
            return self.params.add(node, cast)
        if isinstance(node, str):
            cast = field.cast if field is not None else "text"
            return self.params.add(node, cast)
        if isinstance(node, datetime):
            return self.params.add(node, "timestamptz")
        if isinstance(node, date):
            return self.params.add(node, "date")
        raise _bad(f"{type(node).__name__} cannot be used as a value here")

    def geometry(self, node: Any) -> str:
        if isinstance(node, ast.Attribute):
            if node.name not in GEOMETRY_NAMES:
                raise _bad(f"{node.name!r} is not a geometry; the geometry queryable is 'geometry'")
            return "t.geom"
        if isinstance(node, ast.Function) and node.name.lower() == "bbox" and len(node.arguments) in (4, 6):
            numbers = [float(a) for a in node.arguments if isinstance(a, int | float)]
            if len(numbers) != len(node.arguments):
                raise _bad("BBOX(...) takes numbers only")
            x1, y1, x2, y2 = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
            node = values.Envelope(x1, x2, y1, y2)
        if isinstance(node, values.Geometry | values.Envelope):
            geojson = json.dumps(node.__geo_interface__)
            return input_geometry_sql(f"ST_GeomFromGeoJSON({self.params.add(geojson, 'text')})", self.filter_crs)
        raise _bad(f"{type(node).__name__} is not a geometry")

    def _temporal(self, node: ast.TemporalPredicate) -> str:
        field = self._field_of(node.lhs)
        if field is None or not field.is_temporal:
            raise _bad("temporal predicates need a date or timestamp property on the left")
        lhs = field.sql
        rhs = node.rhs
        name = node.op.name
        if isinstance(rhs, values.Interval):
            start = self.expression(rhs.start, field) if rhs.start is not None else None
            end = self.expression(rhs.end, field) if rhs.end is not None else None
            parts = [p for p in ((f"{lhs} >= {start}" if start else None), (f"{lhs} <= {end}" if end else None)) if p]
            inside = " AND ".join(parts) or "TRUE"
            if name in ("DURING", "TOVERLAPS", "OVERLAPPEDBY", "TCONTAINS"):
                return f"({inside})"
            if name == "DISJOINT":
                return f"(NOT ({inside}))"
            if name == "BEFORE" and start:
                return f"({lhs} < {start})"
            if name == "AFTER" and end:
                return f"({lhs} > {end})"
            raise _bad(f"T_{name} with an interval is not supported")
        value = self.expression(rhs, field)
        simple = {"BEFORE": "<", "AFTER": ">", "TEQUALS": "=", "DISJOINT": "<>"}
        if name in simple:
            return f"({lhs} {simple[name]} {value})"
        raise _bad(f"T_{name} with an instant is not supported")


NUMERIC_CASTS = ("integer", "bigint", "double precision", "numeric")
TIME_OR_BOOL = {"boolean": "boolean", "date": "time", "timestamptz": "time", "timestamp": "time"}


def _coercible(lhs: Any, rhs: Any, left: str, right: str) -> bool:
    """A text literal is parsed into the type of the property it meets ('2018-06-01' for a date; a bad
    value is a 400 from the database), and a number literal meeting a text property is compared as text."""
    pairs = ((lhs, rhs, right), (rhs, lhs, left))
    return any(
        isinstance(attr, ast.Attribute)
        and ((isinstance(lit, str)) or (isinstance(lit, int | float) and kind == "text"))
        for lit, attr, kind in ((a, b, k) for a, b, k in pairs)
    )


def _kind(node: Any, walker: CqlToSql) -> str | None:
    """What a comparison operand is, where that is known without the database: number, text, time, boolean.

    A literal takes the type of the property it meets, so only attribute-vs-attribute and
    literal-vs-literal mismatches can be told here; those would otherwise fail inside PostgreSQL.
    """
    if isinstance(node, ast.Attribute):
        field = walker._field_of(node)
        if field is None:
            return None
        if field.cast in NUMERIC_CASTS:
            return "number"
        return {"boolean": "boolean", "date": "time", "timestamptz": "time", "timestamp": "time"}.get(
            field.cast, "text"
        )
    if isinstance(node, bool):
        return "boolean"
    if isinstance(node, int | float):
        return "number"
    if isinstance(node, str):
        return "text"
    if isinstance(node, date):
        return "time"
    return None


def filter_sql(collection: Collection, params: SqlParams, node: ast.AstType, filter_crs: CrsInfo) -> str:
    """The WHERE fragment for a ``filter`` parsed (and checked) by :func:`parse_filter`."""
    return CqlToSql(collection, params, filter_crs).condition(node)
