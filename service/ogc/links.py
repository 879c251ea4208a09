"""Absolute links for OGC API responses; paging links keep every parameter but ``f`` and ``offset``.

QGIS rewrites a next link that carries ``f=json`` and then loops or fails, so paging links never
carry ``f``; the JSON media type is negotiated by the Accept header instead.

Everything here takes plain values (the request's base URL and path, its query string as (name, value)
pairs in order), not a Starlette Request: the routes take those from the request, and the documents can
be built, and tested, without HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from service.settings import get_settings

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

# A query string as (name, value) pairs in their order, repeats kept (Starlette's ``multi_items()``).
QueryItems = Sequence[tuple[str, str]]


def base_url(request_base_url: str) -> str:
    """The public root of the service: ``public_url`` when set (behind a proxy), else the request's."""
    public = get_settings().public_url
    return (public or request_base_url).rstrip("/")


def link(href: str, rel: str, media_type: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    found = {"href": href, "rel": rel, "type": media_type}
    if title:
        found["title"] = title
    found.update(extra)
    return found


def page_href(base: str, path: str, query: QueryItems, offset: int | None) -> str:
    """The current request's URL (``base`` from base_url, then ``path``) with ``offset`` replaced and any
    ``f`` dropped."""
    items = [(k, v) for k, v in query if k not in ("f", "offset")]
    if offset:
        items.append(("offset", str(offset)))
    encoded = urlencode(items)
    return f"{base}{path}" + (f"?{encoded}" if encoded else "")


def with_format(base: str, path: str, query: QueryItems, fmt: str) -> str:
    """The current URL asking for another representation (``alternate`` links only)."""
    items = [(k, v) for k, v in query if k != "f"]
    items.append(("f", fmt))
    return f"{base}{path}?{urlencode(items)}"
