"""The MapLibre style (Style Spec v8) that draws our vector tiles: every collection, projects by status.

One vector source per collection, pointing at its TileJSON; layers by geometry type (fill + outline,
line, circle; a collection of mixed geometries gets all three, each filtered on ``geometry-type``), in
the wall map's order and colours (service/maps/printable.py): areas under lines under points, projects
on top coloured by their latest status (service.common.drawing.STATUS_COLORS, the web and wall maps'
colours).  No ``glyphs`` and no ``sprite``: nothing is fetched from the internet and no text is drawn;
a click on a feature fetches its full properties from ``/collections/{id}/items/{featureId}``.
Decision 0134.
"""

from __future__ import annotations

from typing import Any

from service.common.drawing import STATUS_COLORS
from service.ogc.registry import Collection

STYLE_ID = "default"
STYLE_MEDIA_TYPE = "application/vnd.mapbox.style+json"
STYLE_SPEC = "https://maplibre.org/maplibre-style-spec/"
BACKGROUND = "#f4f3ef"
NO_REPORT = "#616161"  # a project without a progress report
# drawing order, bottom first; a collection not named here goes by its geometry type after these
ORDER = (
    "districts",
    "green_heart",
    "demo_zones",
    "qingshuitang",
    "streams",
    "roads",
    "sites",
    "sewage_plants",
    "projects",
)
# (fill, outline / line colour, fill opacity, line width): the wall map's where it has them
PAINT: dict[str, tuple[str | None, str, float, float]] = {
    "districts": ("#fafafa", "#888888", 0.6, 0.8),
    "green_heart": ("#d9f0d3", "#1b7837", 0.6, 0.8),
    "demo_zones": ("#fee8c8", "#e34a33", 0.35, 0.8),
    "qingshuitang": (None, "#8c510a", 0.0, 1.4),
    "streams": (None, "#2b8cbe", 0.0, 1.2),
    "roads": (None, "#9e9e9e", 0.0, 1.2),
    "sites": ("#c6dbef", "#4292c6", 0.5, 1.0),
    "sewage_plants": ("#6a51a3", "#ffffff", 1.0, 1.0),
}
DEFAULT_PAINT = ("#dddddd", "#666666", 0.4, 1.0)
POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")
POINTS = ("Point", "MultiPoint")


def _family(geometry_type: str) -> tuple[str, ...]:
    """The kinds of layer a collection needs: one family, or all three for ``Geometry``."""
    if geometry_type in POLYGONS:
        return ("fill",)
    if geometry_type in LINES:
        return ("line",)
    if geometry_type in POINTS:
        return ("circle",)
    return ("fill", "line", "circle")


def _rank(collection: Collection) -> tuple[int, int, str]:
    if collection.id in ORDER:
        return (0, ORDER.index(collection.id), collection.id)
    family = _family(collection.geometry_type)
    return (1, {"fill": 0, "line": 1, "circle": 2}[family[0]] if len(family) == 1 else 3, collection.id)


def status_colour() -> list[Any]:
    """A project's colour by its latest status (a ``match`` expression; grey-black without a report)."""
    pairs = [item for status, colour in STATUS_COLORS.items() for item in (status, colour)]
    return ["match", ["coalesce", ["get", "status"], ""], *pairs, NO_REPORT]


def _only(types: tuple[str, ...]) -> list[Any]:
    return ["match", ["geometry-type"], list(types), True, False]


def _layers(collection: Collection) -> list[dict[str, Any]]:
    fill, line, opacity, width = PAINT.get(collection.id, DEFAULT_PAINT)
    colour: Any = line
    if collection.id == "projects":
        fill, colour, opacity, width = "#ffffff", status_colour(), 0.45, 2.0
    families = _family(collection.geometry_type)
    mixed = len(families) > 1
    base = {"source": collection.id, "source-layer": collection.id, "metadata": {"xiangmap:collection": collection.id}}
    layers: list[dict[str, Any]] = []
    if "fill" in families:
        if fill is not None:
            fill_colour = colour if collection.id == "projects" else fill
            layers.append(
                {
                    "id": f"{collection.id}-fill",
                    "type": "fill",
                    **base,
                    "paint": {"fill-color": fill_colour, "fill-opacity": opacity},
                    **({"filter": _only(POLYGONS)} if mixed else {}),
                }
            )
        layers.append(
            {
                "id": f"{collection.id}-outline",
                "type": "line",
                **base,
                "paint": {"line-color": colour, "line-width": width},
                **({"filter": _only(POLYGONS)} if mixed else {}),
            }
        )
    if "line" in families:
        layers.append(
            {
                "id": f"{collection.id}-line",
                "type": "line",
                **base,
                "layout": {"line-cap": "round", "line-join": "round"},
                "paint": {"line-color": colour, "line-width": width + (1.0 if collection.id == "projects" else 0.0)},
                **({"filter": _only(LINES)} if mixed else {}),
            }
        )
    if "circle" in families:
        point_fill = colour if collection.id == "projects" else (fill or line)
        layers.append(
            {
                "id": f"{collection.id}-circle",
                "type": "circle",
                **base,
                "paint": {
                    "circle-color": point_fill,
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 3, 14, 7],
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1,
                },
                **({"filter": _only(POINTS)} if mixed else {}),
            }
        )
    return layers


def style(
    base: str, collections: list[Collection], tilejson_url: dict[str, str], view: tuple[float, float, int], name: str
) -> dict[str, Any]:
    """The style document: ``tilejson_url`` by collection id, ``view`` (longitude, latitude, zoom)."""
    ordered = sorted(collections, key=_rank)
    return {
        "version": 8,
        "name": name,
        "metadata": {
            "xiangmap:statuses": [[status, colour] for status, colour in STATUS_COLORS.items()],
            "xiangmap:items": f"{base}/collections/{{collectionId}}/items/{{featureId}}",
        },
        "center": [view[0], view[1]],
        "zoom": view[2],
        "sources": {c.id: {"type": "vector", "url": tilejson_url[c.id], "attribution": "xiangmap"} for c in ordered},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            *(layer for c in ordered for layer in _layers(c)),
        ],
    }
