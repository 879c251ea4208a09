"""One text → the POST /geocode answer, with the matcher cached until a layer changes."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection

from service.geocoding.gazetteer import load_gazetteer, signature
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import Resolution, geometry_geojson, resolve

_lock = threading.Lock()
_cached: tuple[str, Matcher] | None = None


def get_matcher(conn: Connection) -> tuple[str, Matcher]:
    """The matcher for the layers as they are now (rebuilt only when the gazetteer signature moves)."""
    global _cached
    current = signature(conn)
    with _lock:
        if _cached is None or _cached[0] != current:
            _cached = (current, Matcher(load_gazetteer(conn)))
        return _cached


def resolution_payload(conn: Connection, result: Resolution) -> dict[str, Any]:
    return {
        "precision": result.precision,
        "status": result.status,
        "geometry": geometry_geojson(conn, [x.place for x in result.locations]),
        "matches": [
            {
                "name": x.place.name,
                "layer": x.place.layer,
                "feature_id": x.place.key,
                "precision": x.precision,
                "exactness": x.place.exactness,
                "location_class": x.place.location_class,
                "method": x.method,
                "span": list(x.span) if x.span else None,
                "text": x.matched_text,
                "confidence": round(x.confidence, 2),
            }
            for x in result.locations
        ],
        "ambiguous": [
            {
                "text": m.surface,
                "span": [m.start, m.end],
                "candidates": [
                    {"name": c.place.name, "layer": c.place.layer, "feature_id": c.place.key, "city": c.place.city}
                    for c in m.candidates
                ],
            }
            for m in result.ambiguous
        ],
        "unresolved": result.unresolved,
    }


def geocode_text(conn: Connection, text: str, city: str | None, lead_unit: str | None = None) -> dict[str, Any]:
    _, matcher = get_matcher(conn)
    if city and not city.endswith(("市", "县", "区", "省")):
        city += "市"  # 株洲 → 株洲市, as the districts layer writes cities
    result = resolve(matcher, text, city=city, lead_units=[lead_unit] if lead_unit else [])
    return resolution_payload(conn, result)
