"""ASGI middleware: security headers on every response, and request-size limits enforced while reading.

The Content-Security-Policy and the Cache-Control (``no-store`` where private, ``no-cache`` with an ETag) are
decided in service/response_policy.py.

The size check is done on the byte stream, not only on Content-Length, so a chunked upload that lies
about its size is cut off at the limit with a 413 instead of being buffered into memory.
"""

from __future__ import annotations

import json

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import read_routing
from service.response_policy import PAGE_CSP, cache_control, csp_for, is_private

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
    (b"content-security-policy", PAGE_CSP),
]


class SecurityHeadersMiddleware:
    """The CSP and security headers on every answer, and its Cache-Control (service.response_policy).

    ``public_reads``: the deployment serves reads without a token (``XIANGMAP_PRIVATE_READS`` off), so
    a token-less read with an ETag may be kept by shared caches.
    """

    def __init__(self, app: ASGIApp, public_reads: bool = True) -> None:
        self.app = app
        self.public_reads = public_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        private = is_private(path, scope.get("query_string", b""))
        shared = self.public_reads and not any(k.lower() == b"authorization" for k, _ in scope.get("headers", []))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower(): v for k, v in headers}
                # private: whatever the route said (e.g. no-cache), no cache keeps this answer
                policy = cache_control(
                    private=private,
                    shared=shared,
                    has_etag=b"etag" in present,
                    current=present.get(b"cache-control"),
                )
                if policy is not None and policy != present.get(b"cache-control"):
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", policy))
                    present[b"cache-control"] = policy
                csp = (b"content-security-policy", csp_for(path, present.get(b"content-type", b"")))
                extra = [csp, *(h for h in SECURITY_HEADERS if h[0] != csp[0])]
                message["headers"] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


def _problem_413(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"request body exceeds the limit of {limit // (1024 * 1024)} MB",
        }
    ).encode()


class BodyLimitMiddleware:
    """413 when a body exceeds the limit: uploads (multipart) get ``upload_limit``, everything else ``body_limit``."""

    # where GIS staff send whole layers (issue 20): the layer limit, XIANGMAP_MAX_LAYER_UPLOAD_MB
    LAYER_UPLOAD_PATHS = ("/layers/uploads", "/gis/layers/")

    def __init__(self, app: ASGIApp, body_limit: int, upload_limit: int, layer_upload_limit: int | None = None) -> None:
        self.app = app
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.layer_upload_limit = layer_upload_limit or upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.upload_limit if content_type.startswith("multipart/") else self.body_limit
        if content_type.startswith("multipart/") and scope.get("path", "").startswith(self.LAYER_UPLOAD_PATHS):
            limit = max(limit, self.layer_upload_limit)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send, limit)

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        body = _problem_413(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ReadYourWritesMiddleware:
    """With hot standbys (issue 21): reads after a client's own write reach data at least as new as it.

    The client's last write comes in as the ``xm_seen`` cookie (browsers) or the ``X-Data-Version`` header (API
    clients echo what they were given); :mod:`service.read_routing` then uses only a standby that has replayed
    it.  A successful write answers with the primary's data version in both, read after the commit.  Only
    installed when ``XIANGMAP_REPLICA_URLS`` is set: without standbys there is nothing to route.
    """

    COOKIE_MAX_AGE = 600  # longer than any standby may lag before it is dropped (replica_max_lag_s)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        cookie = _cookie(headers.get(b"cookie", b"").decode("latin-1"), read_routing.SEEN_COOKIE)
        header = headers.get(read_routing.SEEN_HEADER.lower().encode(), b"").decode("latin-1") or None
        token = read_routing.READ_FLOOR.set(read_routing.floor_from(cookie, header))
        writes = scope.get("method") in UNSAFE_METHODS

        async def send_seen(message: Message) -> None:
            if writes and message["type"] == "http.response.start" and message["status"] < 400:
                seen = await to_thread.run_sync(read_routing.seen_after_write)
                if seen is not None:
                    value = str(seen).encode()
                    cookie_value = (
                        f"{read_routing.SEEN_COOKIE}={seen}; Path=/; Max-Age={self.COOKIE_MAX_AGE}; "
                        "HttpOnly; SameSite=Lax"
                    ).encode()
                    message = {
                        **message,
                        "headers": [
                            *message.get("headers", []),
                            (read_routing.SEEN_HEADER.lower().encode(), value),
                            (b"set-cookie", cookie_value),
                        ],
                    }
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            read_routing.READ_FLOOR.reset(token)


def _cookie(raw: str, name: str) -> str | None:
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
