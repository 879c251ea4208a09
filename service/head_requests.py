"""HEAD wherever GET works (issue 14 item 11): same status and headers, no body.

FastAPI routes answer only the methods they are declared with, so ``HEAD /collections`` was a 405 while
GDAL's /vsicurl/, link checkers and caches ask HEAD first.  Declaring HEAD on every route would also put
a HEAD operation per path in /openapi.json; instead this middleware answers a HEAD that no route takes by
running the GET (same status and headers: Content-Length, ETag, Content-Type, Content-Crs) and dropping
the body.  A HEAD some route or mount takes itself (the downloads, whose FileResponse then sends no
body; static files) is left to it.  A path without GET still gives 405, as the GET does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Outermost of the app's own middleware, so that what GET's answer gets (security headers, CORS,
    compression) is what HEAD's gets."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        if not self._taken_as_head(scope):
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, _without_body(send))

    def _taken_as_head(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes())


def _without_body(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only
