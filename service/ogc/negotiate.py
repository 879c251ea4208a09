"""JSON or HTML: ``f=json|html`` wins, else the Accept header (browsers get HTML, GIS clients JSON)."""

from __future__ import annotations

from service.errors import Problem

FORMATS = ("json", "html", "geojson")


def wants_html(fmt: str | None, accept: str) -> bool:
    """``fmt`` is the ``f`` query parameter (None when absent), ``accept`` the Accept header ("" when absent)."""
    if fmt is not None:
        if fmt.lower() not in FORMATS:
            raise Problem(400, f"f: {fmt!r} is not a format here; use json or html", parameter="f")
        return fmt.lower() == "html"
    accept = accept.lower()
    if "text/html" not in accept:
        return False
    html_at = accept.find("text/html")
    json_at = accept.find("json")
    return json_at == -1 or html_at < json_at
