"""CQL2 text (OGC 21-065r2, Annex B BNF) to a tree of pygeofilter / cql_nodes nodes.

Our own grammar rather than pygeofilter's: pygeofilter 0.4's cql2-text grammar writes temporal
predicates infix (``a T_BEFORE b``), not as the functions CQL2 defines (``T_BEFORE(a, b)``), has no
``%``, ``div`` or ``^``, no ``'..'`` or dates inside ``INTERVAL``, no array literals, no ``A_*``
functions, no ``''`` escape in strings, and accepts attribute names of two characters or more only.

The grammar is LALR (linear time, so the size limits in cql.py bound the work) and deliberately loose
about kinds: ``a + 1`` may appear where a condition is expected and ``S_INTERSECTS(...)`` where a value
is; the SQL writer (cql.CqlToSql) checks what each operand is and answers a 400 naming it.  Function-like
literals (``DATE``, ``TIMESTAMP``, ``INTERVAL``, ``BBOX``) and the ``S_`` / ``T_`` / ``A_`` functions are
parsed as calls and turned into their nodes here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import VisitError
from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP

from service.ogc.cql_nodes import (
    ARRAY_FUNCTIONS,
    TEMPORAL_FUNCTIONS,
    Arithmetic,
    ArrayLiteral,
    ArrayRelation,
    IntervalLiteral,
    Negate,
    TemporalRelation,
)

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr _OR and_expr                      -> or_
?and_expr: not_expr
         | and_expr _AND not_expr                   -> and_
?not_expr: predicate
         | _NOT not_expr                            -> not_

?predicate: sum
          | sum "=" sum                             -> eq
          | sum "<>" sum                            -> ne
          | sum "<" sum                             -> lt
          | sum "<=" sum                            -> le
          | sum ">" sum                             -> gt
          | sum ">=" sum                            -> ge
          | sum _LIKE sum                           -> like
          | sum _NOT _LIKE sum                      -> not_like
          | sum _BETWEEN sum _AND sum               -> between
          | sum _NOT _BETWEEN sum _AND sum          -> not_between
          | sum _IN "(" items ")"                   -> in_
          | sum _NOT _IN "(" items ")"              -> not_in
          | sum _IS _NULL                           -> is_null
          | sum _IS _NOT _NULL                      -> is_not_null

?sum: product
    | sum "+" product                               -> add
    | sum "-" product                               -> sub
?product: power
        | product "*" power                         -> mul
        | product "/" power                         -> div
        | product "%" power                         -> mod
        | product _DIV power                        -> intdiv
?power: unary
      | unary "^" power                             -> pow
?unary: atom
      | "-" unary                                   -> neg

?atom: NUMBER                                       -> number
     | STRING                                       -> string
     | _TRUE                                        -> true
     | _FALSE                                       -> false
     | name                                         -> attribute
     | name "(" [items] ")"                         -> call
     | geometry
     | "(" ")"                                      -> empty_array
     | "(" or_expr ")"
     | "(" or_expr ("," or_expr)+ ")"               -> array

items: or_expr ("," or_expr)*
name: IDENT | QUOTED_IDENT

// WKT (2D, or 3D/4D whose extra ordinates are dropped by PostGIS on input)
?geometry: point | linestring | polygon | multipoint | multilinestring | multipolygon | geometrycollection
point: _POINT "(" coordinate ")"
linestring: _LINESTRING "(" coordinates ")"
polygon: _POLYGON rings
multipoint: _MULTIPOINT "(" coordinates ")"
          | _MULTIPOINT "(" "(" coordinate ")" ("," "(" coordinate ")")* ")"   -> multipoint_parenthesised
multilinestring: _MULTILINESTRING rings
multipolygon: _MULTIPOLYGON "(" rings ("," rings)* ")"
geometrycollection: _GEOMETRYCOLLECTION "(" geometry ("," geometry)* ")"
rings: "(" "(" coordinates ")" ("," "(" coordinates ")")* ")"
coordinates: coordinate ("," coordinate)*
coordinate: ordinate ordinate ordinate? ordinate?
ordinate: NUMBER | "-" NUMBER                       -> negative_ordinate

_OR: "OR"i
_AND: "AND"i
_NOT: "NOT"i
_LIKE: "LIKE"i
_BETWEEN: "BETWEEN"i
_IN: "IN"i
_IS: "IS"i
_NULL: "NULL"i
_DIV: "DIV"i
_TRUE: "TRUE"i
_FALSE: "FALSE"i
_POINT: "POINT"i
_LINESTRING: "LINESTRING"i
_POLYGON: "POLYGON"i
_MULTIPOINT: "MULTIPOINT"i
_MULTILINESTRING: "MULTILINESTRING"i
_MULTIPOLYGON: "MULTIPOLYGON"i
_GEOMETRYCOLLECTION: "GEOMETRYCOLLECTION"i

IDENT: /(?!\d)[\w:][\w:.]*/i
QUOTED_IDENT: /"[^"]+"/
STRING: /'(?:[^']|'')*'/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/

%ignore /\s+/
"""


class CqlSyntaxError(ValueError):
    """A filter that is not valid CQL2: the message says what and where."""


def parse_instant(text: str, where: str) -> date | datetime:
    """``YYYY-MM-DD`` as a date, an RFC 3339 timestamp as an aware datetime (UTC when no offset is given)."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise CqlSyntaxError(f"{where}: {text!r} is not an RFC 3339 date or timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def interval_bound(value: Any, where: str) -> Any:
    """An INTERVAL bound: ``'..'`` (open: None), a date / timestamp string, a property or a function."""
    if isinstance(value, str):
        return None if value == ".." else parse_instant(value, where)
    if isinstance(value, date | ast.Attribute | ast.Function):
        return value
    raise CqlSyntaxError(f"{where}: a bound must be a date or timestamp string, '..', or a property")


def envelope(numbers: list[Any], where: str) -> values.Envelope:
    """``BBOX(west, south, east, north)`` (or with min/max heights, which are dropped)."""
    if len(numbers) not in (4, 6) or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise CqlSyntaxError(f"{where} takes 4 or 6 numbers: west, south, [min height,] east, north[, max height]")
    west, south, east, north = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
    if west > east or south > north:
        raise CqlSyntaxError(f"{where}: west must not exceed east, nor south north")
    return values.Envelope(float(west), float(east), float(south), float(north))


def build_call(name: str, args: list[Any], where: str) -> Any:
    """A function-like construct, by name: a literal, a predicate or a plain function (checked later)."""
    lower = name.lower()
    if lower in ("date", "timestamp"):
        if len(args) != 1 or not isinstance(args[0], str):
            raise CqlSyntaxError(f"{where}: {name.upper()}(...) takes one quoted string")
        instant = parse_instant(args[0], where)
        if lower == "date" and type(instant) is not date:
            raise CqlSyntaxError(f"{where}: DATE(...) takes a date YYYY-MM-DD; use TIMESTAMP(...) for a time")
        if lower == "timestamp" and type(instant) is date:
            raise CqlSyntaxError(f"{where}: TIMESTAMP(...) takes a date and time, e.g. '2018-06-01T00:00:00Z'")
        return instant
    if lower == "interval":
        if len(args) != 2:
            raise CqlSyntaxError(f"{where}: INTERVAL(...) takes two bounds")
        return IntervalLiteral(interval_bound(args[0], where), interval_bound(args[1], where))
    if lower == "bbox":
        return envelope(args, where)
    if lower in SPATIAL_PREDICATES_MAP or lower in TEMPORAL_FUNCTIONS or lower in ARRAY_FUNCTIONS:
        if len(args) != 2:
            raise CqlSyntaxError(f"{where}: {name.upper()} takes two arguments")
        if lower in SPATIAL_PREDICATES_MAP:
            return SPATIAL_PREDICATES_MAP[lower](args[0], args[1])
        if lower in TEMPORAL_FUNCTIONS:
            return TemporalRelation(lower, args[0], args[1])
        return ArrayRelation(lower, args[0], args[1])
    return ast.Function(lower, args)


def _where(token: Any) -> str:
    line, column = getattr(token, "line", None), getattr(token, "column", None)
    return f"at line {line} column {column}" if line is not None else "here"


@v_args(inline=True)
class _ToNodes(Transformer):  # type: ignore[type-arg]
    def or_(self, lhs: Any, rhs: Any) -> ast.Or:
        return ast.Or(lhs, rhs)

    def and_(self, lhs: Any, rhs: Any) -> ast.And:
        return ast.And(lhs, rhs)

    def not_(self, node: Any) -> ast.Not:
        return ast.Not(node)

    def eq(self, lhs: Any, rhs: Any) -> ast.Equal:
        return ast.Equal(lhs, rhs)

    def ne(self, lhs: Any, rhs: Any) -> ast.NotEqual:
        return ast.NotEqual(lhs, rhs)

    def lt(self, lhs: Any, rhs: Any) -> ast.LessThan:
        return ast.LessThan(lhs, rhs)

    def le(self, lhs: Any, rhs: Any) -> ast.LessEqual:
        return ast.LessEqual(lhs, rhs)

    def gt(self, lhs: Any, rhs: Any) -> ast.GreaterThan:
        return ast.GreaterThan(lhs, rhs)

    def ge(self, lhs: Any, rhs: Any) -> ast.GreaterEqual:
        return ast.GreaterEqual(lhs, rhs)

    def add(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("+", lhs, rhs)

    def sub(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("-", lhs, rhs)

    def mul(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("*", lhs, rhs)

    def div(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("/", lhs, rhs)

    def mod(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("%", lhs, rhs)

    def intdiv(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("div", lhs, rhs)

    def pow(self, lhs: Any, rhs: Any) -> Arithmetic:
        return Arithmetic("^", lhs, rhs)

    def like(self, lhs: Any, pattern: Any) -> ast.Like:
        return ast.Like(lhs, pattern, False, "%", "_", "\\", False)

    def not_like(self, lhs: Any, pattern: Any) -> ast.Like:
        return ast.Like(lhs, pattern, False, "%", "_", "\\", True)

    def between(self, lhs: Any, low: Any, high: Any) -> ast.Between:
        return ast.Between(lhs, low, high, False)

    def not_between(self, lhs: Any, low: Any, high: Any) -> ast.Between:
        return ast.Between(lhs, low, high, True)

    def in_(self, lhs: Any, options: list[Any]) -> ast.In:
        return ast.In(lhs, options, False)

    def not_in(self, lhs: Any, options: list[Any]) -> ast.In:
        return ast.In(lhs, options, True)

    def is_null(self, lhs: Any) -> ast.IsNull:
        return ast.IsNull(lhs, False)

    def is_not_null(self, lhs: Any) -> ast.IsNull:
        return ast.IsNull(lhs, True)

    def neg(self, operand: Any) -> Any:
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand
        return Negate(operand)

    def number(self, token: Token) -> int | float:
        text = str(token)
        return int(text) if text.isdigit() else float(text)

    def string(self, token: Token) -> str:
        return str(token)[1:-1].replace("''", "'")

    def true(self) -> bool:
        return True

    def false(self) -> bool:
        return False

    def name(self, token: Token) -> Token:
        return token

    def attribute(self, token: Token) -> ast.Attribute:
        text = str(token)
        return ast.Attribute(text[1:-1] if text.startswith('"') else text)

    def call(self, token: Token, args: list[Any] | None) -> Any:
        return build_call(str(token).strip('"'), args or [], f"{str(token).upper()}(...) {_where(token)}")

    def items(self, *nodes: Any) -> list[Any]:
        return list(nodes)

    def empty_array(self) -> ArrayLiteral:
        return ArrayLiteral([])

    def array(self, *nodes: Any) -> ArrayLiteral:
        return ArrayLiteral(list(nodes))

    # WKT -> GeoJSON
    def ordinate(self, token: Token) -> float:
        return float(token)

    def negative_ordinate(self, token: Token) -> float:
        return -float(token)

    def coordinate(self, *ordinates: float) -> list[float]:
        return list(ordinates)

    def coordinates(self, *coordinates: list[float]) -> list[list[float]]:
        return list(coordinates)

    def rings(self, *rings: list[list[float]]) -> list[list[list[float]]]:
        return list(rings)

    def point(self, coordinate: list[float]) -> values.Geometry:
        return values.Geometry({"type": "Point", "coordinates": coordinate})

    def linestring(self, coordinates: list[list[float]]) -> values.Geometry:
        return values.Geometry({"type": "LineString", "coordinates": coordinates})

    def polygon(self, rings: list[Any]) -> values.Geometry:
        return values.Geometry({"type": "Polygon", "coordinates": rings})

    def multipoint(self, coordinates: list[list[float]]) -> values.Geometry:
        return values.Geometry({"type": "MultiPoint", "coordinates": coordinates})

    def multipoint_parenthesised(self, *coordinates: list[float]) -> values.Geometry:
        return values.Geometry({"type": "MultiPoint", "coordinates": list(coordinates)})

    def multilinestring(self, rings: list[Any]) -> values.Geometry:
        return values.Geometry({"type": "MultiLineString", "coordinates": rings})

    def multipolygon(self, *polygons: list[Any]) -> values.Geometry:
        return values.Geometry({"type": "MultiPolygon", "coordinates": list(polygons)})

    def geometrycollection(self, *geometries: values.Geometry) -> values.Geometry:
        return values.Geometry({"type": "GeometryCollection", "geometries": [g.geometry for g in geometries]})


# the transformer runs inside the LALR parser as each rule is reduced: no recursion over the tree, so a
# thousand OR terms (left-deep) cannot exhaust the stack before cql.check_tree counts them
_parser = Lark(GRAMMAR, parser="lalr", maybe_placeholders=True, transformer=_ToNodes())


def parse_cql2_text(text: str) -> Any:
    """The tree of a CQL2 text filter; lark's own errors (with line and column) for bad syntax,
    CqlSyntaxError for a bad literal."""
    try:
        return _parser.parse(text)
    except VisitError as exc:
        if isinstance(exc.orig_exc, CqlSyntaxError):
            raise exc.orig_exc from None
        raise
