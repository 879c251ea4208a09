"""CQL2 JSON (OGC 21-065r2, Annex B JSON schema) to the same tree as cql_text builds.

Our own walker rather than pygeofilter's ``cql2_json`` parser, which in 0.4 builds a ``{"bbox": [w, s,
e, n]}`` literal as ``Envelope(w, s, e, n)`` although Envelope's fields are (x1, x2, y1, y2), so the box
spans longitude w..s and latitude e..n (https://github.com/geopython/pygeofilter/issues/163; on the
projects that matched 46 rows instead of 116); it also knows only the temporal operator names of an older
draft (no ``t_starts``, ``t_finishes``, ``t_disjoint``; ``t_intersects`` as overlaps), no ``%``, ``div``,
``^`` or ``accenti``, reads ``between`` in the old ``[value, [low, high]]`` form only and cannot take a
``casei(...)`` pattern in ``like``.  Every error names the JSON path of the node (``$.args[1].args[0]``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP

from service.ogc.cql_nodes import (
    ARITHMETIC_OPERATORS,
    ARRAY_FUNCTIONS,
    TEMPORAL_FUNCTIONS,
    Arithmetic,
    ArrayLiteral,
    ArrayRelation,
    IntervalLiteral,
    TemporalRelation,
)
from service.ogc.cql_text import CqlSyntaxError, envelope, interval_bound, parse_instant

COMPARISONS: dict[str, type[ast.Comparison]] = {
    "=": ast.Equal,
    "<>": ast.NotEqual,
    "<": ast.LessThan,
    "<=": ast.LessEqual,
    ">": ast.GreaterThan,
    ">=": ast.GreaterEqual,
}
GEOJSON_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")


def _args(node: dict[str, Any], path: str, count: int | None) -> list[Any]:
    args = node.get("args")
    if not isinstance(args, list):
        raise CqlSyntaxError(f'{path}: {node.get("op")!r} needs an "args" array')
    if count is not None and len(args) != count:
        raise CqlSyntaxError(f"{path}: {node['op']!r} takes {count} arguments, got {len(args)}")
    return args


def _geometry(node: dict[str, Any], path: str) -> values.Geometry:
    kind = node.get("type")
    if kind == "GeometryCollection":
        parts = node.get("geometries")
        if not isinstance(parts, list):
            raise CqlSyntaxError(f'{path}: a GeometryCollection needs a "geometries" array')
        for i, part in enumerate(parts):
            _geometry(part if isinstance(part, dict) else {}, f"{path}.geometries[{i}]")
        return values.Geometry(node)
    if kind not in GEOJSON_TYPES or not isinstance(node.get("coordinates"), list):
        raise CqlSyntaxError(f"{path}: not a GeoJSON geometry (type {kind!r})")
    return values.Geometry(node)


def walk(node: Any, path: str = "$") -> Any:
    """One JSON value to its tree node; ``path`` is where it sits, for the error message."""
    if isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return ArrayLiteral([walk(item, f"{path}[{i}]") for i, item in enumerate(node)])
    if not isinstance(node, dict):
        raise CqlSyntaxError(f"{path}: null is not a CQL2 value")
    if "op" in node:
        return _operation(node, path)
    if "property" in node:
        if not isinstance(node["property"], str):
            raise CqlSyntaxError(f"{path}: a property name must be a string")
        return ast.Attribute(node["property"])
    if "date" in node or "timestamp" in node:
        key = "date" if "date" in node else "timestamp"
        if not isinstance(node[key], str):
            raise CqlSyntaxError(f"{path}: {key} must be a string")
        instant = parse_instant(node[key], f"{path}.{key}")
        if (key == "date") != (type(instant) is date):
            raise CqlSyntaxError(f"{path}: {node[key]!r} is not a {key}")
        return instant
    if "interval" in node:
        bounds = node["interval"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise CqlSyntaxError(f"{path}.interval: an interval is an array of two bounds")
        walked = [b if isinstance(b, str) else walk(b, f"{path}.interval[{i}]") for i, b in enumerate(bounds)]
        return IntervalLiteral(*(interval_bound(b, f"{path}.interval[{i}]") for i, b in enumerate(walked)))
    if "bbox" in node:
        if not isinstance(node["bbox"], list):
            raise CqlSyntaxError(f"{path}.bbox: a bbox is an array of numbers")
        return envelope(node["bbox"], f"{path}.bbox")
    if "type" in node:
        return _geometry(node, path)
    raise CqlSyntaxError(f"{path}: not a CQL2 JSON expression (keys {sorted(node)})")


def _operation(node: dict[str, Any], path: str) -> Any:
    op = node["op"]
    if not isinstance(op, str):
        raise CqlSyntaxError(f"{path}.op: must be a string")
    name = op.lower() if op.lower() != "isnull" else "isNull"
    if name in ("and", "or"):
        args = [walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, None))]
        if len(args) < 2:
            raise CqlSyntaxError(f"{path}: {op!r} takes at least two arguments")
        combined = args[0]
        for arg in args[1:]:
            combined = (ast.And if name == "and" else ast.Or)(combined, arg)
        return combined
    if name == "not":
        return ast.Not(walk(_args(node, path, 1)[0], f"{path}.args[0]"))
    if name == "isNull":
        return ast.IsNull(walk(_args(node, path, 1)[0], f"{path}.args[0]"), False)
    if name in COMPARISONS:
        lhs, rhs = (walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, 2)))
        return COMPARISONS[name](lhs, rhs)
    if name == "like":
        lhs, pattern = (walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, 2)))
        return ast.Like(lhs, pattern, False, "%", "_", "\\", False)
    if name == "between":
        args = _args(node, path, None)
        if len(args) == 2 and isinstance(args[1], list) and len(args[1]) == 2:  # the older [value, [low, high]]
            args = [args[0], *args[1]]
        if len(args) != 3:
            raise CqlSyntaxError(f"{path}: 'between' takes three arguments: value, low, high")
        lhs, low, high = (walk(a, f"{path}.args[{i}]") for i, a in enumerate(args))
        return ast.Between(lhs, low, high, False)
    if name == "in":
        args = _args(node, path, 2)
        if not isinstance(args[1], list):
            raise CqlSyntaxError(f"{path}.args[1]: 'in' takes a value and an array of values")
        options = [walk(a, f"{path}.args[1][{i}]") for i, a in enumerate(args[1])]
        return ast.In(walk(args[0], f"{path}.args[0]"), options, False)
    if name in ARITHMETIC_OPERATORS:
        lhs, rhs = (walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, 2)))
        return Arithmetic(name, lhs, rhs)
    if name in SPATIAL_PREDICATES_MAP or name in TEMPORAL_FUNCTIONS or name in ARRAY_FUNCTIONS:
        lhs, rhs = (walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, 2)))
        if name in SPATIAL_PREDICATES_MAP:
            return SPATIAL_PREDICATES_MAP[name](lhs, rhs)
        if name in TEMPORAL_FUNCTIONS:
            return TemporalRelation(name, lhs, rhs)
        return ArrayRelation(name, lhs, rhs)
    # any other name is a function call (casei, accenti, or one the SQL writer refuses by name)
    args = [walk(a, f"{path}.args[{i}]") for i, a in enumerate(_args(node, path, None))]
    return ast.Function(name, args)


def parse_cql2_json(document: Any) -> Any:
    """The tree of a parsed CQL2 JSON document."""
    return walk(document)
