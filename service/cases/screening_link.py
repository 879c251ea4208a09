"""A case's screening: on registration and when its place changes, the place is screened against the
protected zones at the date the case was found, through the screening area's use case
(``service.screening.usecases.record_screening``, called by the case use cases: recorded with the case's
number and title as its name, in the caller's transaction).

The case keeps the screening record's id and a summary (``cases.screening``) so the list, the map and the
notices need no join into screening results: the zones and sub-zones the place lies in, the overlap in m²
and as a share of the place, the distance to the nearest zone, and the overall verdict.
"""

from __future__ import annotations

from typing import Any


def summarise(answer: dict[str, Any]) -> dict[str, Any]:
    """What a case keeps of a screening answer."""
    zones = []
    overlap_m2 = 0.0
    share = 0.0
    nearest: float | None = None
    for layer in answer.get("layers", []):
        layer_m2 = layer_pct = 0.0
        for z in layer["zones"]:
            nearest = z["distance_m"] if nearest is None else min(nearest, z["distance_m"])
            if not z["inside"]:
                continue
            layer_m2 += z["overlap_m2"]
            layer_pct += z["overlap_pct"]
            zones.append(
                {
                    "layer": layer["layer"],
                    "layer_title": layer["title_zh"],
                    "zone": z["name"],
                    "scheme": z["scheme"],
                    "subzone": z["subzone"],
                    "overlap_m2": z["overlap_m2"],
                    "overlap_pct": z["overlap_pct"],
                    "verdict": z["verdict"],
                    "clause": z.get("clause"),
                }
            )
        overlap_m2, share = max(overlap_m2, layer_m2), max(share, min(100.0, layer_pct))
    return {
        "screening_id": answer.get("id"),
        "date": answer["date"],
        "verdict": answer["verdict"],
        "flagged": answer.get("flagged", False),
        "zones": zones,
        "subzones": sorted({z["subzone"] for z in zones if z["subzone"]}),
        "overlap_m2": round(overlap_m2, 2),
        "overlap_pct": round(share, 2),
        "nearest_distance_m": nearest,
        "area_m2": answer["input"]["area_m2"],
        "links": answer.get("links", {}),
    }
