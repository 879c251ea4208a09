"""FastAPI dependencies: a database session per request, the caller (bearer token or browser session), and role checks.

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
from service.sessions import COOKIE as SESSION_COOKIE
from service.sessions import CSRF_FIELD, CSRF_HEADER, CSRF_REFUSED, UNSAFE_METHODS, csrf_matches, session_for_cookie
from service.settings import Settings, get_settings


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


async def authenticated(request: Request) -> Principal:
    """The caller: a bearer token's holder, else a browser session's user, else anonymous.

    A bearer token is checked as before and wins over a cookie: an API client's header is no ambient
    credential, so its requests need no CSRF token.  A session cookie is one (the browser sends it on
    its own), so an unsafe request it authenticates must carry the session's CSRF token, in the
    ``X-CSRF-Token`` header or the form's ``csrf_token`` field; otherwise 403 (decision 0163).  An
    unknown or ended session cookie counts as no cookie.  No private-reads check here: the sign-in
    pages use this directly, everything else through :func:`current_principal`.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    if header:
        principal = await _bearer(header)
    else:
        principal = await _browser_session(request)
        unsafe = principal.session is not None and request.method in UNSAFE_METHODS
        if unsafe and not csrf_matches(principal.session, await _submitted_csrf(request)):  # type: ignore[arg-type]
            raise Problem(403, CSRF_REFUSED, fault="csrf")
    request.state.principal = principal
    return principal


async def _bearer(header: str) -> Principal:
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
    return found


async def _browser_session(request: Request) -> Principal:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return Principal(ANONYMOUS, None)
    found = await run_in_threadpool(session_for_cookie, raw, app_settings(request).session_idle_minutes)
    if found is None:
        return Principal(ANONYMOUS, None)
    info, name, role = found
    return Principal(name, role, session=info)


async def _submitted_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the header, else the form field (the form is parsed once and kept)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def current_principal(request: Request) -> Principal:
    """The caller (:func:`authenticated`); with private reads, anonymous callers need a signed link."""
    principal = await authenticated(request)
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


def app_settings(request: Request) -> Settings:
    """The settings of the app serving the request (``create_app(settings)``), else the process's."""
    return getattr(request.app.state, "settings", None) or get_settings()


def _private_reads(request: Request) -> bool:
    return bool(app_settings(request).private_reads)


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
