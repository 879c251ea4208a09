"""Absolute links for OGC API responses; paging links keep every parameter but ``f`` and ``offset``.

QGIS rewrites a next link that carries ``f=json`` and then loops or fails, so paging links never
carry ``f``; the JSON media type is negotiated by the Accept header instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from service.settings import get_settings

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def base_url(request: Request) -> str:
    """The public root of the service: ``public_url`` when set (behind a proxy), else the request's."""
    public = get_settings().public_url
    return (public or str(request.base_url)).rstrip("/")


def link(href: str, rel: str, media_type: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    found = {"href": href, "rel": rel, "type": media_type}
    if title:
        found["title"] = title
    found.update(extra)
    return found


def page_href(request: Request, offset: int | None) -> str:
    """The current request's URL with ``offset`` replaced and any ``f`` dropped."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in ("f", "offset")]
    if offset:
        items.append(("offset", str(offset)))
    query = urlencode(items)
    return f"{base_url(request)}{request.url.path}" + (f"?{query}" if query else "")


def with_format(request: Request, fmt: str) -> str:
    """The current URL asking for another representation (``alternate`` links only)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "f"]
    items.append(("f", fmt))
    return f"{base_url(request)}{request.url.path}?{urlencode(items)}"
