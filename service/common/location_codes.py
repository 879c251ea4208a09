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
