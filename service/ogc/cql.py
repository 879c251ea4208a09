"""CQL2 (text and JSON) to a SQL WHERE fragment with bound parameters, over queryables only.

cql_text and cql_json parse (into pygeofilter nodes plus cql_nodes); this module bounds the filter and
walks the tree.  Every attribute must be a queryable of the collection (or ``id``, or
``geometry``/``geom``); every literal becomes a bound parameter cast to the type of the property it
meets, so a filter can never inject SQL.  Geometry literals are read in ``filter-crs`` (default CRS84)
and transformed to storage EPSG:4326 in the database.  The operators and their semantics are listed in
docs/ogc.md (Items parameters) and tested against an independent evaluation in
tests/ogc/test_cql2_operators.py; the choices are in docs/decisions/0120-cql2-operators.md.

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

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pygeofilter import ast, values

from service.errors import Problem
from service.ogc.cql_json import parse_cql2_json
from service.ogc.cql_nodes import (
    Arithmetic,
    ArrayLiteral,
    ArrayRelation,
    IntervalLiteral,
    NamedRelation,
    Negate,
    TemporalRelation,
)
from service.ogc.cql_spatial import predicate_sql
from service.ogc.cql_temporal import Bounds, open_bound, relation_sql
from service.ogc.cql_text import CqlSyntaxError, parse_cql2_text
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
ARRAY_SQL = {"a_equals": "=", "a_contains": "@>", "a_containedby": "<@", "a_overlaps": "&&"}
NUMERIC_CASTS = ("integer", "bigint", "double precision", "numeric")
TEMPORAL_CASTS = ("date", "timestamptz", "timestamp")
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
    except CqlSyntaxError as exc:
        raise _bad(f"not valid {lang}: {exc}") from None
    except UnexpectedInput as exc:
        raise _bad(f"not valid {lang}: {_syntax_detail(exc)}") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"not valid {lang}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except Exception as exc:  # anything else a parser raises means the same: the text is not valid
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad(f"not valid {lang}: {first_line}") from exc
    check_tree(node, limits)
    return node


def _syntax_detail(exc: UnexpectedInput) -> str:
    """Lark's error as one line: what was found, where, and (for a wrong token) what could come instead."""
    where = f"line {exc.line} column {exc.column}"
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character {exc.char!r} at {where}"
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return f"the filter ends too early (after column {max(exc.column - 1, 0)}); something is missing"
    if isinstance(exc, UnexpectedToken):
        expected = sorted(str(e).strip("_").lower() for e in exc.expected if not str(e).startswith("__"))
        hint = f"; expected one of: {', '.join(expected[:12])}" if expected else ""
        return f"unexpected {str(exc.token)!r} at {where}{hint}"
    return str(exc).strip().splitlines()[0]


class CqlToSql:
    """Walks a parsed filter and returns SQL over alias ``t``."""

    def __init__(self, collection: Collection, params: SqlParams, filter_crs: CrsInfo) -> None:
        self.collection = collection
        self.params = params
        self.filter_crs = filter_crs

    # --- conditions --------------------------------------------------------------------------
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
            for operand in (node.lhs, node.low, node.high):
                self._expect(operand, ("number", "text", "time"), "BETWEEN")
            lhs = self.expression(node.lhs, field)
            sql = f"{lhs} BETWEEN {self.expression(node.low, field)} AND {self.expression(node.high, field)}"
            return f"(NOT {sql})" if node.not_ else f"({sql})"
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            field = self._field_of(node.lhs)
            options = ", ".join(self.expression(v, field) for v in node.sub_nodes)
            sql = f"{self.expression(node.lhs, field)} IN ({options})"
            return f"(NOT {sql})" if node.not_ else f"({sql})"
        if isinstance(node, ast.IsNull):
            operand = node.lhs
            is_geometry = isinstance(operand, ast.Attribute) and operand.name in GEOMETRY_NAMES
            sql = "t.geom" if is_geometry else self.expression(operand, None)
            return f"({sql} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.SpatialComparisonPredicate):
            return predicate_sql(node.op.name, self.geometry(node.lhs), self.geometry(node.rhs))
        if isinstance(node, TemporalRelation):
            where = node.name.upper()
            return relation_sql(node.name, self._bounds(node.lhs, where), self._bounds(node.rhs, where))
        if isinstance(node, ArrayRelation):
            where = node.name.upper()
            return f"({self._array(node.lhs, where)} {ARRAY_SQL[node.name]} {self._array(node.rhs, where)})"
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, ast.Attribute):
            field = self._field_of(node)
            if field is not None and field.pg_type == "bool":
                return field.sql
            raise _bad(f"{node.name!r} is not a boolean property, so it cannot stand alone as a condition")
        raise _bad(f"{_describe(node)} is not a condition; compare it with something (=, <, LIKE ...)")

    # --- pieces ------------------------------------------------------------------------------
    def _field(self, name: str) -> Field:
        if name == "id":
            return Field("id", self.collection.id_type)
        return self.collection.field(name, "filter")

    def _field_of(self, node: Any) -> Field | None:
        if isinstance(node, ast.Attribute):
            if node.name in GEOMETRY_NAMES:
                raise _bad(f"{node.name!r} is a geometry; compare it with S_INTERSECTS and friends")
            return self._field(node.name)
        if isinstance(node, ast.Function) and node.arguments:
            return self._field_of(node.arguments[0])
        return None

    def _expect(self, node: Any, kinds: tuple[str, ...], where: str) -> None:
        kind = _kind(node, self)
        if kind is not None and kind not in kinds:
            raise _bad(f"{where}: {_describe(node)} is a {kind}; {where} takes a {' or '.join(kinds)}")

    def _comparison(self, node: ast.Comparison) -> str:
        field = self._field_of(node.lhs) or self._field_of(node.rhs)
        left, right = _kind(node.lhs, self), _kind(node.rhs, self)
        if left and right and left != right and not _coercible(node.lhs, node.rhs, left, right):
            raise _bad(f"cannot compare a {left} with a {right}")
        if "number" in (left, right) and _is_computed(node.lhs, node.rhs):
            field = None  # a literal meeting arithmetic is a number, whatever property is inside the arithmetic
        return f"({self.expression(node.lhs, field)} {COMPARISON_SQL[node.op]} {self.expression(node.rhs, field)})"

    def _like(self, node: ast.Like) -> str:
        self._expect(node.lhs, ("text",), "LIKE")
        pattern = node.pattern
        if not _is_text_pattern(pattern):
            raise _bad("LIKE takes a quoted pattern, optionally in CASEI(...) / ACCENTI(...)")
        sql = f"CAST({self.expression(node.lhs, None)} AS text) LIKE {self.expression(pattern, None)}"
        return f"(NOT {sql})" if node.not_ else f"({sql})"

    def expression(self, node: Any, field: Field | None) -> str:
        """A scalar: attribute, literal (bound, cast to ``field``'s type), function or arithmetic."""
        if isinstance(node, ast.Attribute):
            found = self._field_of(node)
            assert found is not None
            return found.sql
        if isinstance(node, ast.Function):
            return self._function(node, field)
        if isinstance(node, Arithmetic):
            return self._arithmetic(node)
        if isinstance(node, Negate):
            return f"(- {self._number(node.operand, '-')})"
        if isinstance(node, bool):
            return self.params.add(node, "boolean")
        if isinstance(node, int | float):
            if field is not None and field.cast == "text":
                return self.params.add(str(node), "text")  # name = 1 compares with the text '1'
            cast = field.cast if field is not None and field.cast in NUMERIC_CASTS else "double precision"
            if isinstance(node, float) and cast in ("integer", "bigint"):
                cast = "double precision"  # year = 2018.5 is false, not 2018 = 2018 after rounding
            return self.params.add(node, cast)
        if isinstance(node, str):
            cast = field.cast if field is not None else "text"
            return self.params.add(node, cast)
        if isinstance(node, datetime):
            return self.params.add(node, "timestamptz")
        if isinstance(node, date):
            return self.params.add(node, "date")
        raise _bad(f"{_describe(node)} cannot be used as a value here")

    def _function(self, node: ast.Function, field: Field | None) -> str:
        name = node.name.lower()
        if name in ("lower", "casei", "upper") and len(node.arguments) == 1:
            self._expect(node.arguments[0], ("text",), name.upper())
            inner = self.expression(node.arguments[0], field)
            return f"{'upper' if name == 'upper' else 'lower'}(CAST({inner} AS text))"
        if name == "accenti":
            raise _bad("ACCENTI (accent-insensitive comparison) is not supported; CASEI is")
        raise _bad(f"function {node.name!r} is not supported (CASEI, LOWER, UPPER are)")

    def _number(self, node: Any, where: str) -> str:
        """An arithmetic operand as numeric SQL: exact for integers and decimals alike."""
        self._expect(node, ("number",), f"arithmetic {where!r}")
        if isinstance(node, int | float) and not isinstance(node, bool):
            return self.params.add(node, "numeric")
        return f"CAST({self.expression(node, None)} AS numeric)"

    def _arithmetic(self, node: Arithmetic) -> str:
        """``+ - * / % div ^`` in numeric.  A divisor of zero is a 400 when it is a literal and NULL (the
        row does not match) when a property is zero on some row; so is a power without a real value."""
        if node.op in ("/", "%", "div") and isinstance(node.rhs, int | float) and node.rhs == 0:
            raise _bad(f"division by zero ({node.op!r} with a literal 0)")
        lhs, rhs = self._number(node.lhs, node.op), self._number(node.rhs, node.op)
        if node.op in ("+", "-", "*"):
            return f"({lhs} {node.op} {rhs})"
        if node.op == "/":
            return f"({lhs} / NULLIF({rhs}, 0))"
        if node.op == "%":
            return f"mod({lhs}, NULLIF({rhs}, 0))"
        if node.op == "div":
            return f"div({lhs}, NULLIF({rhs}, 0))"
        return (
            f"(CASE WHEN ({lhs} = 0 AND {rhs} < 0) OR ({lhs} < 0 AND {rhs} <> trunc({rhs})) THEN NULL "
            f"ELSE power({lhs}, {rhs}) END)"
        )

    def geometry(self, node: Any) -> str:
        if isinstance(node, ast.Attribute):
            if node.name not in GEOMETRY_NAMES:
                raise _bad(f"{node.name!r} is not a geometry; the geometry queryable is 'geometry'")
            return "t.geom"
        if isinstance(node, values.Geometry | values.Envelope):
            geojson = json.dumps(node.__geo_interface__)
            return input_geometry_sql(f"ST_GeomFromGeoJSON({self.params.add(geojson, 'text')})", self.filter_crs)
        raise _bad(f"{_describe(node)} is not a geometry")

    def _instant(self, node: Any, where: str) -> tuple[str, str]:
        """One instant (property or literal) as (SQL, its type)."""
        if isinstance(node, ast.Attribute):
            field = self._field_of(node)
            if field is None or not field.is_temporal:
                raise _bad(f"{where}: {node.name!r} is not a date or timestamp property")
            return field.sql, field.cast
        if isinstance(node, datetime):
            return self.params.add(node, "timestamptz"), "timestamptz"
        if isinstance(node, date):
            return self.params.add(node, "date"), "date"
        raise _bad(
            f"{where}: {_describe(node)} is not a time; use a date or timestamp property, DATE('...'), "
            "TIMESTAMP('...') or INTERVAL(..., ...)"
        )

    def _bounds(self, node: Any, where: str) -> Bounds:
        """A temporal argument as (start, end): an instant is both.  In INTERVAL(...), '..' is open, and so is a
        property bound that is null on a row (an end not yet known: valid_to of a zone still in force)."""
        if not isinstance(node, IntervalLiteral):
            sql, _ = self._instant(node, where)
            return sql, sql
        known = [self._instant(b, where) if b is not None else None for b in (node.start, node.end)]
        sql_type = next((t for k in known if k for t in [k[1]]), "timestamptz")
        bounds: list[str] = []
        for at_end, (bound, found) in enumerate(zip((node.start, node.end), known, strict=True)):
            if found is None:
                bounds.append(open_bound(sql_type, at_end=bool(at_end)))
            elif isinstance(bound, ast.Attribute):
                bounds.append(f"COALESCE({found[0]}, {open_bound(found[1], at_end=bool(at_end))})")
            else:
                bounds.append(found[0])
        return bounds[0], bounds[1]

    def _array(self, node: Any, where: str) -> str:
        """An array argument: an array property (its text[] column, not the joined text) or a literal."""
        if isinstance(node, ast.Attribute):
            field = self._field_of(node)
            if field is None or not field.is_array:
                raise _bad(f"{where}: {node.name!r} is not an array property")
            return f't."{field.name}"'
        items = node.items if isinstance(node, ArrayLiteral) else [node]  # ('x') parses as a bracketed 'x'
        if not all(isinstance(item, str) for item in items):
            raise _bad(f"{where}: the array properties hold text, so an array literal holds quoted strings only")
        return self.params.add(list(items), "text[]")


def _is_text_pattern(node: Any) -> bool:
    if isinstance(node, str):
        return True
    return (
        isinstance(node, ast.Function)
        and node.name in ("casei", "lower", "upper", "accenti")
        and len(node.arguments) == 1
        and _is_text_pattern(node.arguments[0])
    )


def _is_computed(*nodes: Any) -> bool:
    return any(isinstance(n, Arithmetic | Negate) for n in nodes)


def _describe(node: Any) -> str:
    """A node as the client wrote it, roughly, for an error message."""
    if isinstance(node, ast.Attribute):
        return f"property {node.name!r}"
    if isinstance(node, bool):
        return f"the boolean {str(node).upper()}"
    if isinstance(node, int | float):
        return f"the number {node}"
    if isinstance(node, str):
        return f"the text {node!r}"
    if isinstance(node, datetime | date):
        return f"the time {node.isoformat()}"
    if isinstance(node, values.Geometry | values.Envelope):
        return "a geometry"
    if isinstance(node, IntervalLiteral):
        return "an INTERVAL"
    if isinstance(node, ArrayLiteral):
        return "an array"
    if isinstance(node, ast.Function):
        return f"{node.name.upper()}(...)"
    if isinstance(node, Arithmetic | Negate):
        return "an arithmetic expression"
    if isinstance(node, ast.SpatialComparisonPredicate | NamedRelation):
        return "a spatial, temporal or array function"
    return type(node).__name__


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
    """What an operand is, where that is known without the database: number, text, time, boolean, ...

    A literal takes the type of the property it meets, so only attribute-vs-attribute and
    literal-vs-literal mismatches can be told here; those would otherwise fail inside PostgreSQL.
    """
    if isinstance(node, ast.Attribute):
        if node.name in GEOMETRY_NAMES:
            return "geometry"
        field = walker._field_of(node)
        if field is None:
            return None
        if field.cast in NUMERIC_CASTS:
            return "number"
        if field.cast == "boolean":
            return "boolean"
        return "time" if field.cast in TEMPORAL_CASTS else "text"
    if isinstance(node, bool):
        return "boolean"
    if isinstance(node, int | float | Arithmetic | Negate):
        return "number"
    if isinstance(node, str):
        return "text"
    if isinstance(node, date | IntervalLiteral):
        return "time"
    if isinstance(node, ast.Function) and node.name in ("casei", "lower", "upper", "accenti"):
        return "text"
    if isinstance(node, values.Geometry | values.Envelope):
        return "geometry"
    if isinstance(node, ArrayLiteral):
        return "array"
    if isinstance(node, ast.Predicate | ast.Condition | NamedRelation):
        return "condition"
    return None


def filter_sql(collection: Collection, params: SqlParams, node: ast.AstType, filter_crs: CrsInfo) -> str:
    """The WHERE fragment for a ``filter`` parsed (and checked) by :func:`parse_filter`."""
    return CqlToSql(collection, params, filter_crs).condition(node)
