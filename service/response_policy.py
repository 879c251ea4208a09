"""Per-response header policy: the Content-Security-Policy, and ``Cache-Control: no-store`` where an answer is private.

Applied to every response by ``service.middleware.SecurityHeadersMiddleware`` (errors included).

CSP.  Folium writes its map set-up as inline ``<script>`` and ``<style>`` blocks whose content is the
page's own data, built per page (and cached per data version, decision 0083), so neither nonces nor
hashes can tell those from an injected inline script; scripts and styles are therefore limited to
xiangmap's own origin plus inline.  What the policy does stop: any script, style, frame or plugin from
another origin, a ``<base>`` or form pointing elsewhere, requests to other hosts (connect-src), and
framing by another site.  Images may come from the basemap tile hosts of service/maps/pages.py.
``/docs`` (Swagger UI, served from /static/vendor like Leaflet) gets the same policy: no other host.
The web pages (service/web) set the stricter ``WEB_CSP`` themselves: scripts and styles from files only.
A PDF gets only ``frame-ancestors``:
Chrome shows a PDF through a plugin that ``object-src 'none'`` on the PDF itself would block.

no-store.  The audit log, screening records, reports and answers (which carry a signed share link)
and the shared screening maps are never to be kept by a browser or proxy, nor is any answer to a
signed link.  Public tiles, pages and map data keep their ETag / 304 revalidation (no-cache).

Revalidation (decision 0132).  An answer with an ``ETag`` and no Cache-Control of its own is ``public,
no-cache`` on a deployment whose reads are public: any cache may keep it and must ask again every time
(a 304 while the data version holds), so an edit still shows on the very next request.  With a token in
the request, or on a deployment with private reads, it is ``private, no-cache``: ``public`` there would
let a shared cache hand an answer that needed a token to anyone.
"""

from __future__ import annotations

import re

# OpenStreetMap (folium's "OpenStreetMap" tiles) and Tianditu t0-t7 (service.common.web_maps.TIANDITU)
TILE_HOSTS = ("https://tile.openstreetmap.org", "https://*.tile.openstreetmap.org", "https://*.tianditu.gov.cn")


def _policy(*, scripts: str = "", styles: str = "", images: str = "") -> bytes:
    directives = (
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline'{scripts}",
        f"style-src 'self' 'unsafe-inline'{styles}",
        f"img-src 'self' data: blob: {' '.join(TILE_HOSTS)}{images}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
    return "; ".join(directives).encode()


PAGE_CSP = _policy()
# /docs: Swagger UI from /static/vendor/swagger-ui-dist (fetched at setup); its start-up is FastAPI's inline script
DOCS_CSP = PAGE_CSP
# the server-rendered pages of service/web (sign-in, and the pages built on it): no inline script or style
# at all, so an injected <script> does not run even where escaping failed
WEB_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
).encode()
PDF_CSP = b"frame-ancestors 'self'"

NO_STORE = b"no-store"
PUBLIC_REVALIDATE = b"public, no-cache"
PRIVATE_REVALIDATE = b"private, no-cache"
_PRIVATE_PATH = re.compile(r"^/(?:audit|screening|screenings)(?:/|$)|^/maps/screening/|^/projects/[^/]+/screening$")
_SIGNED_QUERY = re.compile(rb"(?:^|&)sig=")


def csp_for(path: str, content_type: bytes) -> bytes:
    if content_type.startswith(b"application/pdf"):
        return PDF_CSP
    if path == "/docs" or path.startswith("/docs/"):
        return DOCS_CSP
    return PAGE_CSP


def is_private(path: str, query_string: bytes) -> bool:
    """True for the answers no cache may keep: audit, screenings, shared maps, anything opened by a signed link."""
    return _PRIVATE_PATH.match(path) is not None or _SIGNED_QUERY.search(query_string) is not None


def cache_control(*, private: bool, shared: bool, has_etag: bool, current: bytes | None) -> bytes | None:
    """The Cache-Control an answer goes out with.

    ``private``: the answer is one of ``is_private``'s (always no-store, whatever the route said);
    ``shared``: reads are public and the request carried no token, so shared caches may keep it;
    ``current``: what the route set (kept); ``has_etag``: the answer can be revalidated.
    """
    if private:
        return NO_STORE
    if current is not None or not has_etag:
        return current
    return PUBLIC_REVALIDATE if shared else PRIVATE_REVALIDATE
