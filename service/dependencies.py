"""FastAPI dependencies: a database session per request, the caller, and role checks.

They are ``async`` on purpose: FastAPI runs a plain ``def`` dependency on the thread pool, and each
such hop cost more than the work of an anonymous caller or a role check.  The one blocking step,
the token lookup, is sent to the thread pool explicitly (docs/decisions/0084-threads-and-pool.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.common.signed_links import verify_query
from service.database import get_engine, new_session
from service.errors import Problem
from service.security import ANONYMOUS, Principal, principal_for_token
from service.settings import get_settings


async def get_session() -> AsyncIterator[Session]:
    """One session per request; routers commit explicitly, anything uncommitted is rolled back.

    A connection must never be held while the request waits for one of the endpoints' threads: with
    the threads all waiting for a pooled connection and the connections all held by requests waiting
    for a thread, everything stood still until the pool timeout (80 concurrent requests, 4 threads;
    tests/trust/test_pool_under_load.py).  So a plain-``def`` endpoint's session is closed in its own
    thread by ``service.routing.SessionReleasingRoute``; what is left here, for ``async`` endpoints,
    closes on the event loop's executor, never on the endpoints' threads.  Routes declare it with
    ``scope="function"`` so that happens before the response is sent.  Making the session does no I/O.
    """
    session = new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            await asyncio.get_running_loop().run_in_executor(None, session.close)
        else:
            session.close()


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    if not header:
        principal = Principal(ANONYMOUS, None)
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401,
                "Authorization header must be 'Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="xiangmap"'},
            )
        # on a connection of its own, returned to the pool at once: a connection held for the whole
        # request while the endpoint checks out another one starves the pool under load
        found = await run_in_threadpool(principal_for_token, token.strip())
        if found is None:
            raise Problem(
                401,
                "token unknown, revoked or expired",
                headers={"WWW-Authenticate": 'Bearer realm="xiangmap", error="invalid_token"'},
            )
        principal = found
    if _private_reads(request) and principal.role is None and not await _signed_link(request):
        raise Problem(
            401,
            "this xiangmap requires a token to read",
            headers={"WWW-Authenticate": 'Bearer realm="xiangmap"'},
        )
    return principal


# declared in the OpenAPI document as the ``bearer`` scheme, on the operations that need a token, so that
# Swagger UI (/docs) can send one; parsing and checking the header stays in current_principal
BEARER = HTTPBearer(
    scheme_name="bearer",
    description="a token made with `xiangmap users add NAME --role ROLE`; roles: viewer, editor, inspector, admin",
    auto_error=False,
)


def _private_reads(request: Request) -> bool:
    """The setting of the app serving the request (``create_app(settings)``), else the process's."""
    settings = getattr(request.app.state, "settings", None) or get_settings()
    return bool(settings.private_reads)


async def _signed_link(request: Request) -> bool:
    """A signed, unexpired link (``links.map_shared``) is its own authorisation, private reads or not."""
    query = request.query_params.multi_items()
    if not query:
        return False
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return await run_in_threadpool(verify_query, get_engine(), path, query)


def require_role(*roles: str) -> Callable[..., Principal]:
    """Dependency factory: 401 without a token, 403 with a role not in ``roles`` (admin always passes)."""

    async def check(
        principal: Principal = Depends(current_principal),
        _declared: HTTPAuthorizationCredentials | None = Security(BEARER),
    ) -> Principal:
        if principal.role is None:
            raise Problem(
                401,
                f"this action needs a token with role {' or '.join(roles)}",
                headers={"WWW-Authenticate": 'Bearer realm="xiangmap"'},
            )
        if not principal.has(*roles):
            raise Problem(403, f"role '{principal.role}' may not do this; needs {' or '.join(roles)}")
        return principal

    return check
