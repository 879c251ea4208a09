"""The route class of every router: a plain-``def`` endpoint's database session is closed in the
endpoint's own thread, as soon as it returns.

FastAPI ends even ``scope="function"`` dependencies only after it has serialised the response, and
for a plain-``def`` endpoint that serialisation waits for one of the thread pool's threads.  A
session still holding its pooled connection while it waits is how the service once stood still:
every thread waiting for a connection, every connection held by a request waiting for a thread,
until the pool timeout (80 concurrent requests, 4 threads; tests/trust/test_pool_under_load.py).
Closing the session where the endpoint ran means a connection is only ever held by a running thread.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def releasing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, closing every Session it was given when it returns or raises (same thread)."""

    if getattr(endpoint, "releases_sessions", False):  # already wrapped (a router included in another)
        return endpoint

    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    call.releases_sessions = True  # type: ignore[attr-defined]
    return call


class SessionReleasingRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = releasing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)
