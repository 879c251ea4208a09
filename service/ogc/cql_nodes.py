"""The CQL2 tree nodes pygeofilter's ``ast`` has no faithful class for.

Both of our parsers (cql_text, cql_json) build pygeofilter nodes for logic, comparisons and spatial
predicates, and these for the rest: pygeofilter 0.4 knows only ``+ - * /``, names the temporal operators
of an older draft (``t_begins``, and maps ``t_intersects`` to overlaps) and has no array literal.  Each is
an ``ast.Node`` so that the size and depth checks (cql.check_tree) walk them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pygeofilter import ast

ARITHMETIC_OPERATORS = ("+", "-", "*", "/", "%", "div", "^")
TEMPORAL_FUNCTIONS = (
    "t_after",
    "t_before",
    "t_contains",
    "t_disjoint",
    "t_during",
    "t_equals",
    "t_finishedby",
    "t_finishes",
    "t_intersects",
    "t_meets",
    "t_metby",
    "t_overlappedby",
    "t_overlaps",
    "t_startedby",
    "t_starts",
)
ARRAY_FUNCTIONS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")


@dataclass
class Arithmetic(ast.Node):
    """``lhs op rhs`` for one of ARITHMETIC_OPERATORS (``div``: integer division, ``^``: power)."""

    op: str
    lhs: Any
    rhs: Any

    def get_sub_nodes(self) -> list[Any]:
        return [self.lhs, self.rhs]

    def get_template(self) -> str:
        return f"{{}} {self.op} {{}}"


@dataclass
class Negate(ast.Node):
    """Unary minus on a property or function (a minus on a number literal is folded into the number)."""

    operand: Any

    def get_sub_nodes(self) -> list[Any]:
        return [self.operand]

    def get_template(self) -> str:
        return "-{}"


@dataclass
class IntervalLiteral(ast.Node):
    """``INTERVAL(start, end)``: each bound a date, a timestamp, a property, or None for ``'..'`` (open)."""

    start: Any
    end: Any

    def get_sub_nodes(self) -> list[Any]:
        return [b for b in (self.start, self.end) if b is not None]

    def get_template(self) -> str:
        return "INTERVAL({}, {})"


@dataclass
class ArrayLiteral(ast.Node):
    """``('a', 'b')`` in an array function."""

    items: list[Any]

    def get_sub_nodes(self) -> list[Any]:
        return list(self.items)

    def get_template(self) -> str:
        return "(" + ", ".join("{}" for _ in self.items) + ")"


@dataclass
class NamedRelation(ast.Node):
    """``NAME(lhs, rhs)``: a CQL2 function predicate of two arguments (the temporal and array ones)."""

    name: str
    lhs: Any
    rhs: Any

    def get_sub_nodes(self) -> list[Any]:
        return [self.lhs, self.rhs]

    def get_template(self) -> str:
        return f"{self.name}({{}}, {{}})"


@dataclass
class TemporalRelation(NamedRelation):
    """``T_xxx(lhs, rhs)``; ``name`` is one of TEMPORAL_FUNCTIONS."""


@dataclass
class ArrayRelation(NamedRelation):
    """``A_xxx(lhs, rhs)``; ``name`` is one of ARRAY_FUNCTIONS."""
