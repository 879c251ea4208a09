"""Recorded screenings flattened to report rows: one row per zone hit, or one 'outside' row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.models import Screening

COLUMNS = (
    "screening_id",
    "project_id",
    "project",
    "sited",
    "date",
    "category",
    "verdict",
    "layer",
    "zone",
    "scheme",
    "subzone",
    "overlap_m2",
    "overlap_pct",
    "distance_m",
    "zone_verdict",
    "needs_approval_by",
    "clause",
    "regulation",
    "input_hash",
)


def rows_of(screening: Screening) -> list[dict[str, Any]]:
    result = screening.result
    base = {
        **dict.fromkeys(COLUMNS),
        "screening_id": screening.id,
        "project_id": screening.project_id,
        "project": result.get("name") or (result.get("project") or {}).get("title") or result["input"]["source"],
        "sited": (result.get("project") or {}).get("sited", True),
        "date": result["date"],
        "category": result["category"]["zh"],
        "verdict": result["verdict"],
        "input_hash": result["input"]["input_hash"],
    }
    zones = [
        {
            **base,
            "layer": entry["layer"],
            "zone": z["name"],
            "scheme": z["scheme"],
            "subzone": z["subzone"],
            "overlap_m2": z["overlap_m2"],
            "overlap_pct": z["overlap_pct"],
            "distance_m": z["distance_m"],
            "zone_verdict": z["verdict"],
            "needs_approval_by": z["needs_approval_by"],
            "clause": z["clause"],
            "regulation": z["regulation"],
        }
        for entry in result["layers"]
        for z in entry["zones"]
    ]
    return zones or [{**base, "zone_verdict": "outside"}]


def report_rows(screenings: Sequence[Screening]) -> list[dict[str, Any]]:
    return [row for s in screenings for row in rows_of(s)]
