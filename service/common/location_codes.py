"""The IATI / AidData codes of a location on each layer: shared by automatic geocoding and a person's placement.

Both ways of placing a project store a ``project_locations`` row whose codes depend only on the layer it
lies on, so the table lives here rather than in either area (docs/decisions/0021).
"""

from __future__ import annotations

# layer -> (AidData precision, IATI exactness, IATI location class); see docs/decisions/0021
LAYER_CODES: dict[str, tuple[int, int, int]] = {
    "roads": (1, 1, 3),
    "streams": (1, 1, 4),
    "sewage_plants": (1, 1, 3),
    "sites": (1, 1, 3),
    "qingshuitang": (2, 2, 2),
    "demo_zones": (2, 2, 2),
    "green_heart": (2, 2, 4),
    "districts": (3, 2, 1),
    "cities": (3, 2, 1),
}


def published_codes(geometry_type: str) -> tuple[int, int, int]:
    """Codes of a feature of a layer GIS staff published (issue 20): a point or a line is exact (1), an
    area is a zone (2), the class a feature (3) or, for an area, a zone (2); decision 0021's reading."""
    if geometry_type.lower() in ("multipolygon", "polygon"):
        return (2, 2, 2)
    return (1, 1, 3)


# how a task's location reads in the ledger and the map popups (issue 19): a task placed at its lead unit's
# seat (8) names no place: it is city-wide work of that unit, not a point at the government building
PLACE_LABELS: dict[int, str] = {
    1: "具体地点",
    2: "片区（近似）",
    3: "区县范围",
    4: "省或区域范围",
    5: "沿河流（近似）",
    6: "全国范围",
    8: "未指明地点（牵头单位全市工作）",
}
STATUS_LABELS = {"review": "待核定", "unresolved": "未定位", "pending": "待定位"}


def place_label(precision: int | None, location_status: str | None) -> str:
    """The task's location in words: how exactly it is placed, and whether a person must still look."""
    if location_status in ("unresolved", "pending") or precision is None:
        return STATUS_LABELS.get(location_status or "pending", "未定位")
    label = PLACE_LABELS.get(precision, f"精度 {precision}")
    return f"{label}（{STATUS_LABELS['review']}）" if location_status == "review" else label
