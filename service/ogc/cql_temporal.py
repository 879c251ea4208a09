"""CQL2 temporal functions as SQL: Allen's interval relations over (start, end) pairs.

OGC 21-065r2 (7.11, Temporal functions) defines each T_ function on the begin and end of its two
arguments; an instant is the degenerate interval whose begin and end are the same, so
``T_BEFORE(deadline, DATE('2019-01-01'))`` is ``deadline < 2019-01-01`` and ``T_MEETS`` of two instants is
their equality.  An open bound (``'..'``) is -infinity at the start and +infinity at the end, which
PostgreSQL's date and timestamptz both have, so every relation stays one comparison chain and an open
bound compares equal only with another open bound on the same side.

The caller (cql.CqlToSql) turns each argument into a (start, end) pair of SQL expressions; this module
only knows the relations, so the table below is the whole of the semantics and is easy to check
against the standard.
"""

from __future__ import annotations

from collections.abc import Callable

Bounds = tuple[str, str]  # (start, end) SQL expressions of one argument

# the relation of interval a = [a1, a2] to b = [b1, b2], as 21-065r2 defines it
ALLEN: dict[str, Callable[[str, str, str, str], str]] = {
    "t_after": lambda a1, a2, b1, b2: f"{a1} > {b2}",
    "t_before": lambda a1, a2, b1, b2: f"{a2} < {b1}",
    "t_contains": lambda a1, a2, b1, b2: f"{a1} < {b1} AND {a2} > {b2}",
    "t_disjoint": lambda a1, a2, b1, b2: f"({a1} > {b2} OR {a2} < {b1})",
    "t_during": lambda a1, a2, b1, b2: f"{a1} > {b1} AND {a2} < {b2}",
    "t_equals": lambda a1, a2, b1, b2: f"{a1} = {b1} AND {a2} = {b2}",
    "t_finishedby": lambda a1, a2, b1, b2: f"{a1} < {b1} AND {a2} = {b2}",
    "t_finishes": lambda a1, a2, b1, b2: f"{a1} > {b1} AND {a2} = {b2}",
    "t_intersects": lambda a1, a2, b1, b2: f"{a1} <= {b2} AND {a2} >= {b1}",
    "t_meets": lambda a1, a2, b1, b2: f"{a2} = {b1}",
    "t_metby": lambda a1, a2, b1, b2: f"{a1} = {b2}",
    "t_overlappedby": lambda a1, a2, b1, b2: f"{a1} > {b1} AND {a1} < {b2} AND {a2} > {b2}",
    "t_overlaps": lambda a1, a2, b1, b2: f"{a1} < {b1} AND {a2} > {b1} AND {a2} < {b2}",
    "t_startedby": lambda a1, a2, b1, b2: f"{a1} = {b1} AND {a2} > {b2}",
    "t_starts": lambda a1, a2, b1, b2: f"{a1} = {b1} AND {a2} < {b2}",
}


def open_bound(sql_type: str, *, at_end: bool) -> str:
    """The SQL for an open (``'..'``) start or end of the given type (date or timestamptz)."""
    return f"CAST('{'infinity' if at_end else '-infinity'}' AS {sql_type})"


def relation_sql(name: str, a: Bounds, b: Bounds) -> str:
    """``name`` (one of ALLEN) of a to b, as a parenthesised SQL condition."""
    return f"({ALLEN[name](a[0], a[1], b[0], b[1])})"
