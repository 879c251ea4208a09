"""CQL2 spatial functions as SQL that answers for every stored geometry, never an error.

Two things made ``S_DISJOINT``, ``S_CROSSES``, ``S_OVERLAPS`` and ``S_TOUCHES`` answer 500 on the projects
(issue 14): a stored MultiPolygon whose parts overlap (invalid, so GEOS stops with "TopologyException:
side location conflict"), and the planner evaluating the predicate before anything else could exclude
it.  An invalid geometry is therefore read as the point set it describes: ``ST_MakeValid(g,
'method=structure')`` unions overlapping parts, which is what the DE-9IM predicates are defined on
(docs/decisions/0120-cql2-operators.md).  Valid geometries, the vast majority, are used as they are.
GeometryCollections are passed to GEOS as they are: PostGIS 3.3 with GEOS 3.11 evaluates the
predicates on them (checked against shapely in tests/ogc/test_cql2_operators.py).

Every predicate but disjoint implies that the bounding boxes meet, so ``&&`` is added in front: the GiST
index narrows the rows before the exact (and now validity-checked) predicate runs.
"""

from __future__ import annotations

PREDICATES = {
    "INTERSECTS": "ST_Intersects",
    "CONTAINS": "ST_Contains",
    "WITHIN": "ST_Within",
    "TOUCHES": "ST_Touches",
    "CROSSES": "ST_Crosses",
    "OVERLAPS": "ST_Overlaps",
    "EQUALS": "ST_Equals",
}


def valid_sql(geometry: str) -> str:
    """``geometry`` as a valid geometry of the same point set (unchanged when it is valid already)."""
    return (
        f"CASE WHEN (ST_IsValidDetail({geometry})).valid THEN {geometry} "
        f"ELSE ST_MakeValid({geometry}, 'method=structure') END"
    )


def predicate_sql(op: str, lhs: str, rhs: str) -> str:
    """``op`` (a pygeofilter SpatialComparisonOp name: INTERSECTS, DISJOINT ...) of two geometry expressions."""
    if op == "DISJOINT":
        return f"(NOT ST_Intersects({valid_sql(lhs)}, {valid_sql(rhs)}))"
    return f"({lhs} && {rhs} AND {PREDICATES[op]}({valid_sql(lhs)}, {valid_sql(rhs)}))"
