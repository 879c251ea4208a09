"""Built responses (tiles, feature pages, map data) kept in memory per worker, keyed by request and data version.

A tile or a page of features costs PostGIS milliseconds and Python a few more; the same ones are
asked for again and again as people pan the same district.  An entry is only ever served for the
data version it was built at, so an edit is visible on the very next request, from every worker.
Entries carry a weak ETag, so browsers and QGIS revalidate with ``If-None-Match`` and get a 304.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from cachetools import LRUCache
from starlette.requests import Request
from starlette.responses import Response

from service.settings import get_settings

ENTRY_OVERHEAD = 256  # bytes counted per entry on top of its body
GZIP_ABOVE = 2048


@dataclass(frozen=True)
class Built:
    """What a route builds on a miss: the body, its media type and any extra headers.

    With ``compress`` a gzipped copy is kept too and sent to clients that accept it (the map's
    GeoJSON: 100 000 projects are ~14 MB, ~1.9 MB gzipped).
    """

    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    compress: bool = False
    gzipped: bytes | None = None

    def prepared(self) -> Built:
        if self.compress and self.gzipped is None and len(self.body) > GZIP_ABOVE:
            return replace(self, gzipped=gzip.compress(self.body, compresslevel=1))
        return self

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + ENTRY_OVERHEAD


class ResponseCache:
    """An LRU of built responses bounded in bytes; entries of other data versions are dropped wholesale."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: LRUCache[Hashable, tuple[Built, str]] = LRUCache(
            maxsize=max(max_bytes, 1), getsizeof=lambda entry: entry[0].size
        )
        self._version = ""
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def respond(self, request: Request, version: str, key: Hashable, build: Callable[[], Built]) -> Response:
        """The cached response for ``key`` at ``version``, building (and keeping) it on a miss."""
        full_key = (version, key)
        with self._lock:
            if version != self._version:  # the data changed: nothing kept can be served again
                self._entries.clear()
                self._version = version
            found = self._entries.get(full_key)
            if found is not None:
                self.hits += 1
        if found is None:
            self.misses += 1
            built = build().prepared()
            etag = 'W/"' + hashlib.blake2b(repr(full_key).encode(), digest_size=12).hexdigest() + '"'
            found = (built, etag)
            if self.max_bytes > 0 and built.size <= self.max_bytes // 4:
                with self._lock:
                    if version == self._version:
                        self._entries[full_key] = found
        built, etag = found
        headers = {**built.headers, "ETag": etag}
        if built.compress:
            headers["Vary"] = "Accept-Encoding"
        if etag in _if_none_match(request):
            return Response(status_code=304, headers=headers)
        if built.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            return Response(built.gzipped, media_type=built.media_type, headers=headers | {"Content-Encoding": "gzip"})
        return Response(built.body, media_type=built.media_type, headers=headers)


def _if_none_match(request: Request) -> set[str]:
    value = request.headers.get("if-none-match", "")
    return {tag.strip() for tag in value.split(",") if tag.strip()}


@lru_cache
def response_cache() -> ResponseCache:
    """The process's cache, sized by ``XIANGMAP_RESPONSE_CACHE_MB`` (0 turns it off)."""
    return ResponseCache(get_settings().response_cache_mb * 1024 * 1024)
