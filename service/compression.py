"""gzip for the text and tile answers a web map asks for, when the client accepts it (decision 0133).

A page of district polygons is ~465 KB of GeoJSON and ~100 KB gzipped; tiles, HTML, CSV and the vendored
JavaScript shrink alike.  Ours rather than Starlette's GZipMiddleware because of what must *not* be
compressed or must change with it:

- a Range request, a 206, or a downloadable file served with ``Accept-Ranges: bytes`` (GDAL's /vsicurl/
  reads byte ranges of the file as stored; a gzipped body would make those offsets meaningless);
- an answer already encoded (the response cache keeps gzipped copies of tiles, pages and map data and
  sends them as they are), a 304, anything but 200 (a HEAD gets the GET's headers);
- media types not listed here (images, zips, GeoPackage, FlatGeobuf: compressed already or binary).

- an answer with a *strong* ETag (the projects API's): that tag is what ``If-Match`` compares
  (decision 0081, weak tags never match), so it can be neither kept on other bytes nor weakened.  Files
  under ``weak_etag_paths`` (/static), whose tags nobody sends in ``If-Match``, are the exception.

A compressed answer's ETag is weak (``W/``; the response cache's already are), as nginx does: the gzip
bytes differ from the identity bytes, ``If-None-Match`` compares weakly, so a 304 still follows.  Every
compressible answer says ``Vary: Accept-Encoding``, so no cache hands gzip to a client that did not ask.
"""

from __future__ import annotations

import zlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/geo+json-seq",
        "application/schema+json",
        "application/problem+json",
        "application/vnd.oai.openapi+json",
        "application/vnd.mapbox.style+json",
        "application/vnd.mapbox-vector-tile",
        "application/vnd.google-earth.kml+xml",
        "application/xml",
        "image/svg+xml",
        "text/html",
        "text/csv",
        "text/css",
        "text/plain",
        "text/javascript",
        "application/javascript",
    }
)
MINIMUM_SIZE = 1024  # below this the gzip header and the CPU are not worth it
LEVEL = 5
WEAK_ETAG_PATHS = ("/static/",)  # strong ETags here may become weak: files, never conditions of a write


def accepts_gzip(accept_encoding: str) -> bool:
    """``gzip`` (or ``*``) listed without ``q=0``."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def compressible(headers: dict[bytes, bytes]) -> bool:
    media_type = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1").lower()
    return media_type in COMPRESSIBLE


def _vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"accept-encoding" in value.lower() or value.strip() == b"*":
                return headers
            return [*headers[:i], (name, value + b", Accept-Encoding"), *headers[i + 1 :]]
    return [*headers, (b"vary", b"Accept-Encoding")]


def _gzip_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The identity answer's headers for its gzip form: a weak tag, no length or ranges, the encoding said."""
    kept = [
        (k, _weak(v) if k.lower() == b"etag" else v)
        for k, v in headers
        if k.lower() not in (b"content-length", b"accept-ranges")
    ]
    return [*kept, (b"content-encoding", b"gzip")]


def _weak(etag: bytes) -> bytes:
    return etag if etag.startswith(b"W/") else b"W/" + etag


class GzipMiddleware:
    """Compresses eligible answers, whole ones in one go and streamed ones chunk by chunk."""

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = MINIMUM_SIZE,
        level: int = LEVEL,
        weak_etag_paths: tuple[str, ...] = WEAK_ETAG_PATHS,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level
        self.weak_etag_paths = weak_etag_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope.get("method") == "HEAD"  # the same headers as the GET (a HEAD a route takes itself)
        request = {k.lower(): v for k, v in scope.get("headers", [])}
        wanted = accepts_gzip(request.get(b"accept-encoding", b"").decode("latin-1")) and b"range" not in request
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        may_weaken = path.startswith(self.weak_etag_paths)
        held: Message | None = None  # the response start, held until the first body chunk says how big it is
        compressor: zlib._Compress | None = None
        passing = False

        async def gzip_send(message: Message) -> None:
            nonlocal held, compressor, passing
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower(): v for k, v in headers}
                if message.get("status") != 200 or not compressible(present) or b"content-encoding" in present:
                    passing = True
                    await send(message)
                    return
                if b"content-range" in present or (
                    present.get(b"accept-ranges", b"").lower() == b"bytes" and b"content-disposition" in present
                ):
                    passing = True  # a file read by byte ranges (downloads): offsets of the stored bytes
                    await send(message)
                    return
                etag = present.get(b"etag", b"W/")
                if not etag.startswith(b"W/") and not may_weaken:
                    passing = True  # a strong tag If-Match compares: these bytes are the ones it names
                    await send(message)
                    return
                message["headers"] = headers = _vary(headers)
                length = present.get(b"content-length")
                if not wanted or (length is not None and length.isdigit() and int(length) < self.minimum_size):
                    passing = True
                    await send(message)
                    return
                held = message
                return
            if message["type"] != "http.response.body" or passing:
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            if held is not None:
                start, held = held, None
                if head and not more and not body:
                    # a file's HEAD has no body to measure: say gzip as the GET will, and no length (it streams)
                    await send({**start, "headers": _gzip_headers(start["headers"])})
                    await send(message)
                    return
                if not more and len(body) < self.minimum_size:  # small after all (no Content-Length was given)
                    passing = True
                    await send(start)
                    await send(message)
                    return
                compressor = zlib.compressobj(self.level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip wrapper
                headers = _gzip_headers(start["headers"])
                if not more:
                    data = compressor.compress(body) + compressor.flush()
                    headers.append((b"content-length", str(len(data)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": data})
                    return
                await send({**start, "headers": headers})
            assert compressor is not None
            data = compressor.compress(body)
            if not more:
                data += compressor.flush()
            await send({"type": "http.response.body", "body": data, "more_body": more})

        await self.app(scope, receive, gzip_send)
