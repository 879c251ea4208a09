"""The MapLibre style (Style Spec v8) that draws our vector tiles: every collection, projects by status.

One vector source per collection, pointing at its TileJSON; layers by geometry type (fill + outline,
line, circle; a collection of mixed geometries gets all three, each filtered on the legacy ``$type``), in
the wall map's order and colours (service/maps/printable.py): areas under lines under points, projects
on top coloured by their derived status (``derived_status``, decision 0170: the status /stats and /maps
show; service.common.drawing.STATUS_COLORS, the web and wall maps'
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
    "streams": (None, "#2b8cbe", 0.0, 1.6),
    "roads": (None, "#9e9e9e", 0.0, 1.2),
    "sites": ("#c6dbef", "#4292c6", 0.5, 1.0),
    "sewage_plants": ("#6a51a3", "#ffffff", 1.0, 1.0),
}
DEFAULT_PAINT = ("#dddddd", "#666666", 0.4, 1.0)
# areas drawn as an outline only: they cover a whole city or more and would veil the map
OUTLINE_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {"sites": ("kind", ("prefecture", "region", "province"))}
# a project's location precision (IATI / AidData, service.geocoding) drawn as the web map does
# (docs/maps.md): exact solid and filled, near / estimated lightly filled and dashed, district or city hollow
EXACT = 1
HOLLOW = (3, 4)
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
    """A project's colour by its derived status (a ``match`` expression), as /maps/progress colours it."""
    # each label as a one-item list: MapLibre takes both forms, QGIS 3.22's converter only this one
    pairs = [item for status, colour in STATUS_COLORS.items() for item in ([status], colour)]
    # no ``coalesce``: ``match`` on a missing value gives the fallback already, and QGIS 3.22's style
    # converter reads a ``match`` on a plain ``get`` only
    return ["match", ["get", "derived_status"], *pairs, NO_REPORT]


def _only(types: tuple[str, ...]) -> list[Any]:
    # the legacy ``$type`` filter (Point / LineString / Polygon, multi-parts included): MapLibre and QGIS 3.22
    # both read it, where QGIS does not know the ``geometry-type`` expression
    return ["==", "$type", types[0]]


def _all(*conditions: list[Any] | None) -> dict[str, Any]:
    """A ``filter`` member for the conditions given (none: no filter)."""
    kept = [c for c in conditions if c is not None]
    if not kept:
        return {}
    return {"filter": kept[0] if len(kept) == 1 else ["all", *kept]}


def _circle(colour: Any) -> dict[str, Any]:
    return {
        "circle-color": colour,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 3, 14, 7],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
    }


def _layers(collection: Collection) -> list[dict[str, Any]]:
    """A layer collection's layers: its own colours, one layer per geometry family it holds."""
    family = collection.extra.get("derived_from", collection.id)  # projects_points is drawn as projects
    if family == "projects":
        return _project_layers(collection)
    fill, line, opacity, width = PAINT.get(family, DEFAULT_PAINT)
    families = _family(collection.geometry_type)
    mixed = len(families) > 1
    base = _base(collection)
    layers: list[dict[str, Any]] = []
    if "fill" in families:
        polygons = _only(POLYGONS) if mixed else None
        if fill is not None:
            veil = OUTLINE_ONLY.get(family)
            unveiled = ["!in", veil[0], *veil[1]] if veil else None
            paint = {"fill-color": fill, "fill-opacity": opacity}
            layers.append(
                {"id": f"{collection.id}-fill", "type": "fill", **base, "paint": paint, **_all(polygons, unveiled)}
            )
        paint = {"line-color": line, "line-width": width}
        layers.append({"id": f"{collection.id}-outline", "type": "line", **base, "paint": paint, **_all(polygons)})
    if "line" in families:
        layers.append(
            {
                "id": f"{collection.id}-line",
                "type": "line",
                **base,
                "layout": {"line-cap": "round", "line-join": "round"},
                "paint": {"line-color": line, "line-width": width},
                **_all(_only(LINES) if mixed else None),
            }
        )
    if "circle" in families:
        paint = _circle(fill or line)
        layers.append(
            {
                "id": f"{collection.id}-circle",
                "type": "circle",
                **base,
                "paint": paint,
                **_all(_only(POINTS) if mixed else None),
            }
        )
    return layers


def _project_layers(collection: Collection) -> list[dict[str, Any]]:
    """Projects by status colour, and by location precision as the web map draws them (docs/maps.md)."""
    base = _base(collection)
    colour = status_colour()
    # filters in the legacy syntax, which a filter may not mix with expressions (``$type`` above); no
    # precision means exact, as on the web map
    exact = ["any", ["==", "precision", EXACT], ["!has", "precision"]]
    not_exact = ["all", ["!=", "precision", EXACT], ["has", "precision"]]
    hollow = ["in", "precision", *HOLLOW]
    not_hollow = ["!in", "precision", *HOLLOW]
    fill_exact, fill_near = {"fill-color": colour, "fill-opacity": 0.45}, {"fill-color": colour, "fill-opacity": 0.2}
    # one layer per precision class instead of a ``case`` in the paint, which QGIS 3.22 cannot convert
    return [
        {"id": "projects-fill", "type": "fill", **base, "paint": fill_exact, **_all(_only(POLYGONS), exact)},
        {
            "id": "projects-fill-approximate",
            "type": "fill",
            **base,
            "paint": fill_near,
            **_all(_only(POLYGONS), not_exact, not_hollow),
        },
        {
            "id": "projects-outline",
            "type": "line",
            **base,
            "paint": {"line-color": colour, "line-width": 2.0},
            **_all(_only(POLYGONS), exact),
        },
        {
            "id": "projects-outline-approximate",
            "type": "line",
            **base,
            "paint": {"line-color": colour, "line-width": 1.5},
            **_all(_only(POLYGONS), not_exact, not_hollow),
        },
        {
            "id": "projects-outline-hollow",
            "type": "line",
            **base,
            "paint": {"line-color": colour, "line-width": 1.5, "line-dasharray": [1, 2]},
            **_all(_only(POLYGONS), hollow),
        },
        {
            "id": "projects-line",
            "type": "line",
            **base,
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": colour, "line-width": 3.0},
            **_all(_only(LINES), exact),
        },
        {
            "id": "projects-line-approximate",
            "type": "line",
            **base,
            "paint": {"line-color": colour, "line-width": 2.5, "line-dasharray": [2, 1.5]},
            **_all(_only(LINES), not_exact),
        },
        {"id": "projects-circle", "type": "circle", **base, "paint": _circle(colour), **_all(_only(POINTS))},
    ]


def _base(collection: Collection) -> dict[str, Any]:
    return {"source": collection.id, "source-layer": collection.id, "metadata": {"xiangmap:collection": collection.id}}


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
