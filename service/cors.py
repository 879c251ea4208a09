"""CORS: public reads open to every origin, everything else only to the configured ones (decision 0130).

A MapLibre, OpenLayers or Leaflet page on another origin fetches the style, the TileJSON, the tiles, the
items and the vendored MapLibre modules with ``fetch``/XHR, which the browser only hands over with
``Access-Control-Allow-Origin``.  So, out of the box:

- GET and HEAD of a public read (the OGC API documents, items, tiles, styles, TileJSON, downloads,
  /static) answer ``Access-Control-Allow-Origin: *``, with or without an ``Origin`` header (a constant
  value: a shared cache can keep one copy for every origin), and never ``Allow-Credentials``;
- their preflight (OPTIONS with ``Access-Control-Request-Method: GET|HEAD`` and only the headers a map
  client sends) gets a 204 here, before any route;
- ``Authorization`` is never allowed from ``*``: a page that sends a token must be a configured origin.

With ``XIANGMAP_PRIVATE_READS`` reads need a token, and none of this applies: only the origins in
``XIANGMAP_CORS_ORIGINS`` get CORS (Starlette's CORSMiddleware, which also serves them for writes, as
before).  Writes, the audit log, screenings, accounts and anything opened by a signed link never get ``*``.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.response_policy import is_private
from service.settings import Settings

# what a cross-origin script may read besides the CORS-safelisted response headers
EXPOSED = ("ETag", "Content-Crs", "Link", "Location", "Content-Disposition", "Content-Range", "Accept-Ranges")
# request headers a map client sends to a public read; Authorization is deliberately not among them
PUBLIC_REQUEST_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "content-language",
        "content-type",
        "cache-control",
        "pragma",
        "if-none-match",
        "if-modified-since",
        "range",
        "x-requested-with",
    }
)
READ_METHODS = frozenset({"GET", "HEAD"})
MAX_AGE = "86400"
_READ_PATH = re.compile(
    r"^/(?:|conformance|openapi\.json|collections(?:/.*)?|tileMatrixSets(?:/.*)?|styles(?:/.*)?|static/.*)$"
)


def is_public_read(path: str, query_string: bytes) -> bool:
    """The paths a map client on another origin may read: the OGC API, its tiles and styles, /static."""
    return _READ_PATH.match(path) is not None and not is_private(path, query_string)


class PublicReadCorsMiddleware:
    """``Access-Control-Allow-Origin: *`` on public reads; other requests go on untouched.

    ``configured``: the operator's ``cors_origins``; a request from one of them is left to Starlette's
    CORSMiddleware inside this one, which echoes the origin and allows more.
    """

    def __init__(self, app: ASGIApp, configured: list[str]) -> None:
        self.app = app
        self.configured = frozenset(configured)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin = headers.get("origin")
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if (origin is not None and (origin in self.configured or "*" in self.configured)) or not is_public_read(
            path, scope.get("query_string", b"")
        ):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            await self._preflight(headers, send)
            return
        if method not in READ_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if not h[0].lower().startswith(b"access-control-")]
                message["headers"] = [
                    *kept,
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", ", ".join(EXPOSED).encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(headers: dict[str, str], send: Send) -> None:
        method = headers["access-control-request-method"].strip().upper()
        asked = {h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()}
        refused = asked - PUBLIC_REQUEST_HEADERS
        if method not in READ_METHODS or refused:
            why = f"method {method}" if method not in READ_METHODS else f"headers {', '.join(sorted(refused))}"
            body = f"CORS preflight refused: {why} not allowed from any origin on a public read".encode()
            start = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": start})
            await send({"type": "http.response.body", "body": body})
            return
        reply = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
            (b"access-control-max-age", MAX_AGE.encode()),
            (b"content-length", b"0"),
        ]
        if asked:
            reply.append((b"access-control-allow-headers", ", ".join(sorted(asked)).encode()))
        await send({"type": "http.response.start", "status": 204, "headers": reply})
        await send({"type": "http.response.body", "body": b""})


def install(app: FastAPI, settings: Settings) -> None:
    """Both layers: the configured origins (everything, as before) inside, public reads outside."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=list(EXPOSED),
        )
    if not settings.private_reads:
        app.add_middleware(PublicReadCorsMiddleware, configured=list(settings.cors_origins))
