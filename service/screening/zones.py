"""The spatial work of a screening, done in PostGIS against the subdivided zone parts.

Zones are cut into parts of at most 256 vertices (``screening_zone_parts``, kept current by
triggers, see migration 0006), so each test touches a few small polygons.  Predicates run on the
EPSG:4326 geometry (GiST); areas, lengths and distances are measured on the geography type
(spheroid, metres).  Parts of one zone never overlap, so per-zone sums of per-part overlaps are
exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

DATE_FILTER = (
    "(p.valid_from IS NULL OR p.valid_from <= CAST(:on AS date)) "
    "AND (p.valid_to IS NULL OR CAST(:on AS date) <= p.valid_to)"
)


@dataclass
class ZoneMetrics:
    """One zone hit by, or within the buffer of, the input."""

    layer: str
    zone_id: int
    zone_key: str
    zone_name: str | None
    scheme: str | None
    subzone: str | None
    valid_from: date | None
    valid_to: date | None
    zone_hash: str
    hit: bool
    overlap_m2: float
    overlap_len_m: float
    overlap_points: int
    distance_m: float
    overlap_geojson: str | None = None
    shortest_line_geojson: str | None = None
    view_geojson: str | None = None


@dataclass
class InputMeasures:
    dimension: int  # 0 points, 1 lines, 2 areas
    area_m2: float
    length_m: float
    points: int

    def share(self, zone: ZoneMetrics) -> float:
        """Overlap as a percentage of the input: by area, by length, or by points."""
        if self.dimension == 2:
            whole, part = self.area_m2, zone.overlap_m2
        elif self.dimension == 1:
            whole, part = self.length_m, zone.overlap_len_m
        else:
            whole, part = float(self.points), float(zone.overlap_points)
        return round(min(100.0, 100.0 * part / whole), 4) if whole > 0 else 0.0


def margin_degrees(geom_bounds: tuple[float, float, float, float], buffer_m: float) -> float:
    """A box margin in degrees that surely covers ``buffer_m`` metres (longitude shrinks with latitude)."""
    if buffer_m <= 0:
        return 0.0
    lat = min(89.0, max(abs(geom_bounds[1]), abs(geom_bounds[3])))
    return 1.02 * buffer_m / (111_000.0 * math.cos(math.radians(lat))) + 1e-7


def measure_input(session: Session, wkb: bytes) -> InputMeasures:
    row = session.execute(
        text(
            "SELECT ST_Dimension(g), ST_Area(g::geography), ST_Length(g::geography), ST_NPoints(g) "
            "FROM (SELECT ST_GeomFromWKB(:wkb, 4326) AS g) s"
        ),
        {"wkb": wkb},
    ).one()
    return InputMeasures(int(row[0]), float(row[1] or 0), float(row[2] or 0), int(row[3] or 0))


SINGLE_SQL = f"""
WITH inp AS (
    SELECT g, g::geography AS gg FROM (SELECT ST_GeomFromWKB(:wkb, 4326) AS g) s
), cand AS (
    SELECT p.*, ST_Intersects(p.geom, inp.g) AS hit
      FROM screening_zone_parts p, inp
     WHERE p.geom && ST_Expand(inp.g, :margin) AND {DATE_FILTER}
), measured AS (
    SELECT c.layer, c.zone_id, c.zone_key, c.zone_name, c.scheme, c.subzone, c.valid_from, c.valid_to,
           c.zone_hash, c.hit,
           CASE WHEN NOT c.hit THEN NULL
                WHEN ST_Dimension(inp.g) > 0 AND ST_Covers(c.geom, inp.g) THEN inp.g
                ELSE ST_CollectionExtract(ST_Intersection(c.geom, inp.g), ST_Dimension(inp.g) + 1) END AS inter,
           CASE WHEN c.hit THEN 0 ELSE ST_Distance(c.geom::geography, inp.gg) END AS dist
      FROM cand c, inp
), zones AS (
    SELECT layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash,
           bool_or(hit) AS hit, ST_Union(inter) AS overlap, min(dist) AS distance_m
      FROM measured
     GROUP BY layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash
    HAVING min(dist) <= :buffer
)
SELECT layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash, hit, distance_m,
       ST_Area(ST_CollectionExtract(overlap, 3)::geography) AS overlap_m2,
       ST_Length(ST_CollectionExtract(overlap, 2)::geography) AS overlap_len_m,
       ST_NPoints(ST_CollectionExtract(overlap, 1)) AS overlap_points,
       ST_AsGeoJSON(overlap, 7) AS overlap_geojson
  FROM zones
 ORDER BY layer, distance_m, zone_key
"""

NEAREST_LINE_SQL = """
SELECT ST_AsGeoJSON(ST_ShortestLine(p.geom, g), 7)
  FROM screening_zone_parts p, (SELECT ST_GeomFromWKB(:wkb, 4326) AS g) s
 WHERE p.layer = :layer AND p.zone_id = :zone_id AND p.geom && ST_Expand(g, :margin)
 ORDER BY ST_Distance(p.geom::geography, g::geography)
 LIMIT 1
"""

VIEW_RADIUS_M = 25_000.0
VIEW_SQL = """
WITH env AS (SELECT ST_Expand(ST_Envelope(ST_GeomFromWKB(:wkb, 4326)), :view_margin) AS e)
SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Intersection(ST_Union(p.geom), env.e), 0.00003), 6)
  FROM screening_zone_parts p, env
 WHERE p.layer = :layer AND p.zone_id = :zone_id AND p.geom && env.e
 GROUP BY env.e
"""


def _zone_from_row(row: Any) -> ZoneMetrics:
    m = row if isinstance(row, dict) else row._mapping
    return ZoneMetrics(
        layer=m["layer"],
        zone_id=int(m["zone_id"]),
        zone_key=m["zone_key"],
        zone_name=m["zone_name"],
        scheme=m["scheme"],
        subzone=m["subzone"],
        valid_from=m["valid_from"],
        valid_to=m["valid_to"],
        zone_hash=m["zone_hash"],
        hit=bool(m["hit"]),
        overlap_m2=float(m["overlap_m2"] or 0.0),
        overlap_len_m=float(m["overlap_len_m"] or 0.0),
        overlap_points=int(m["overlap_points"] or 0),
        distance_m=float(m["distance_m"] or 0.0),
        overlap_geojson=m.get("overlap_geojson"),
    )


LIVE_PARTS = "screening_zone_parts"


def zones_near(
    session: Session,
    wkb: bytes,
    bounds: tuple[float, float, float, float],
    on: date,
    buffer_m: float,
    *,
    parts: str = LIVE_PARTS,
    params: dict[str, object] | None = None,
) -> list[ZoneMetrics]:
    """Every zone in force at ``on`` that the input touches or comes within ``buffer_m`` metres of.

    ``parts``: where the zone parts come from, the live table unless a replay names archived versions
    (service.screening.replay); ``params`` are the parameters its SQL needs.
    """
    rows = session.execute(
        text(SINGLE_SQL.replace("FROM screening_zone_parts p, inp", f"FROM {parts} p, inp")),
        {"wkb": wkb, "margin": margin_degrees(bounds, buffer_m), "on": on, "buffer": float(buffer_m), **(params or {})},
    ).all()
    return [_zone_from_row(r) for r in rows]


def add_views(
    session: Session, wkb: bytes, bounds: tuple[float, float, float, float], zones: list[ZoneMetrics], buffer_m: float
) -> None:
    """What the map needs to be redrawn later: the zone around the site and the shortest line to it."""
    minx, miny, maxx, maxy = bounds
    diagonal_m = math.hypot((maxx - minx) * 98_000, (maxy - miny) * 111_000)
    # the zones as far as a reader can pan the map (VIEW_RADIUS_M around the site, service.screening.web_map):
    # cut any closer and the shared map showed the Green Heart ending in a straight edge 800 m away (issue 18)
    view_m = max(VIEW_RADIUS_M, 1.5 * buffer_m, 0.5 * diagonal_m)
    view_margin = margin_degrees(bounds, view_m)
    for zone in zones:
        params = {"wkb": wkb, "layer": zone.layer, "zone_id": zone.zone_id}
        zone.view_geojson = session.execute(text(VIEW_SQL), {**params, "view_margin": view_margin}).scalar()
        if not zone.hit:
            zone.shortest_line_geojson = session.execute(
                text(NEAREST_LINE_SQL), {**params, "margin": margin_degrees(bounds, buffer_m)}
            ).scalar()


# Pairs are found on the raw columns (so either GiST index can drive the join); the site is made
# valid only for the GEOS work that follows (stored project shapes are not always valid).  Each
# pair is measured down to numbers before grouping (MATERIALIZED), so no geometry is ever sorted;
# zone metadata is attached afterwards from the small zone list.
BATCH_PAIRS = f"""
WITH pairs AS (
    SELECT s.id AS subject, p.layer, p.zone_id, p.geom AS part, ST_Dimension(s.geom) AS dim,
           CASE WHEN ST_IsValid(s.geom) THEN s.geom ELSE ST_MakeValid(s.geom) END AS g
      FROM (SELECT id, geom FROM {{source}}) s
      JOIN screening_zone_parts p ON {{{{join}}}}
     WHERE {DATE_FILTER}
)"""
# the part of the site inside a part: the site itself when it is a point or lies wholly inside
OVERLAP = """CASE WHEN GeometryType(g) = 'POINT' OR (dim > 0 AND ST_Covers(part, g)) THEN g
                ELSE ST_Intersection(part, g) END"""
MEASURES = """CASE WHEN dim = 2 THEN ST_Area(inter::geography) ELSE 0 END AS area,
           CASE WHEN dim = 1 THEN ST_Length(inter::geography) ELSE 0 END AS len,
           CASE WHEN dim = 0 THEN ST_NPoints(inter) ELSE 0 END AS pts"""
TOTALS = "sum(area) AS overlap_m2, sum(len) AS overlap_len_m, sum(pts) AS overlap_points"

# hits only (no buffer): nothing but the overlap is measured
BATCH_HITS_SQL = (
    BATCH_PAIRS.replace("{{join}}", "p.geom && s.geom")
    + f""", measured AS MATERIALIZED (
    SELECT subject, layer, zone_id, {MEASURES}
      FROM (SELECT subject, layer, zone_id, dim, {OVERLAP} AS inter FROM pairs WHERE ST_Intersects(part, g)) x
)
SELECT subject, layer, zone_id, true AS hit, 0.0 AS distance_m, {TOTALS}
  FROM measured
 GROUP BY subject, layer, zone_id
"""
)

# with a buffer: zones within it too, with their distance
BATCH_BUFFER_SQL = (
    BATCH_PAIRS.replace("{{join}}", "ST_DWithin(p.geom, s.geom, :margin)")
    + f""", tested AS (
    SELECT pairs.*, ST_Intersects(part, g) AS hit FROM pairs
), measured AS MATERIALIZED (
    SELECT subject, layer, zone_id, hit, {MEASURES},
           CASE WHEN hit THEN 0 ELSE ST_Distance(part::geography, g::geography) END AS dist
      FROM (SELECT tested.*, CASE WHEN hit THEN {OVERLAP} END AS inter FROM tested) x
)
SELECT subject, layer, zone_id, bool_or(hit) AS hit, min(dist) AS distance_m, {TOTALS}
  FROM measured
 GROUP BY subject, layer, zone_id
HAVING min(dist) <= :buffer
"""
)

ZONE_LIST_SQL = """
SELECT DISTINCT layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash
  FROM screening_zone_parts
"""


def batch_zones(session: Session, source_sql: str, on: date, buffer_m: float, params: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Zone metrics for many geometries at once: ``source_sql`` yields ``id, geom`` (EPSG:4326).

    Returns ``{subject id: [ZoneMetrics, ...]}``; the same answers as :func:`zones_near` per subject.
    JIT compilation is switched off for the transaction: on these queries it costs more than it saves.
    """
    session.execute(text("SET LOCAL jit = off"))
    template = BATCH_BUFFER_SQL if buffer_m > 0 else BATCH_HITS_SQL
    margin = margin_degrees((0.0, 30.0, 0.0, 35.0), buffer_m)  # Hunan lies below 30°N
    rows = session.execute(
        text(template.format(source=source_sql)),
        {"margin": margin, "on": on, "buffer": float(buffer_m), **(params or {})},
    ).all()
    zones = {(z["layer"], z["zone_id"]): dict(z) for z in session.execute(text(ZONE_LIST_SQL)).mappings()}
    found: dict[int, list[ZoneMetrics]] = {}
    for r in rows:
        m = r._mapping
        meta = zones[(m["layer"], m["zone_id"])]
        found.setdefault(int(m["subject"]), []).append(_zone_from_row({**meta, **m}))
    return found


def protected_layers(session: Session) -> list[dict[str, Any]]:
    """Every layer marked protected in the catalogue and in service (not retired), in a stable order."""
    rows = session.execute(
        text(
            "SELECT id, title_zh, title_en, origin, version FROM layer_catalogue "
            "WHERE protected AND status = 'active' ORDER BY id"
        )
    ).mappings()
    return [dict(r) for r in rows]
