"""One text → the POST /geocode answer or the review queue's reasons, with the matcher cached until a layer changes."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from service.geocoding.gazetteer import load_gazetteer, signature
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import Resolution, geometry_geojson

_lock = threading.Lock()
_cached: tuple[str, Matcher] | None = None


def get_matcher(session: Session) -> tuple[str, Matcher]:
    """The matcher for the layers as they are now (rebuilt only when the gazetteer signature moves)."""
    global _cached
    current = signature(session)
    with _lock:
        if _cached is None or _cached[0] != current:
            _cached = (current, Matcher(load_gazetteer(session)))
        return _cached


def resolution_payload(session: Session, result: Resolution) -> dict[str, Any]:
    return {
        "precision": result.precision,
        "status": result.status,
        "geometry": geometry_geojson(session, [x.place for x in result.locations], result.within),
        "within": [p.name for p in result.within],
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
                **({"admin_code": x.place.key, "note": x.note} if x.place.is_division else {}),
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


def review_reasons(result: Resolution) -> dict[str, Any]:
    """Why a person must place a project: the names with several candidates, unknown place-like words, nothing."""
    return {
        "ambiguous": [
            {"text": m.surface, "span": [m.start, m.end], "candidates": [c.place.key for c in m.candidates]}
            for m in result.ambiguous
        ],
        "unresolved": result.unresolved,
        "nothing_found": not result.locations,
    }
