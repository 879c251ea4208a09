"""RFC 9457 problem+json for every error, so clients never see an HTML traceback.

Domain code raises :class:`Problem` (or a subclass) with a status and a detail that names what is
wrong and where (``parameter`` / ``pointer``); the handlers below render it.  A database that does
not answer becomes 503, never 500; a statement timeout 504, a full disk 507: each cause its own status
and message (docs/decisions/0095-honest-error-statuses.md).
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("xiangmap")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    507: "Insufficient Storage",
}


class ProblemDetail(BaseModel):
    """The RFC 9457 body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


def _problem_response_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemDetail.model_json_schema()}}}


# documented on every operation, so clients (and schemathesis) know the shape of errors
COMMON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response_doc("Bad request: the detail names the parameter and what is wrong"),
    401: _problem_response_doc("A bearer token is needed"),
    403: _problem_response_doc("The token's role may not do this"),
    404: _problem_response_doc("No such resource"),
    413: _problem_response_doc("The request body is too large"),
    503: _problem_response_doc("The database is not answering, or the service is busy (see Retry-After)"),
    504: _problem_response_doc("The database query ran longer than the statement timeout; narrow the request"),
    507: _problem_response_doc("The server or the database has no disk space left to complete the request"),
}
# added to the operations that are rate-limited (service/rate_limits.py)
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: _problem_response_doc("Too many requests from this client; wait the seconds of Retry-After"),
}


class Problem(Exception):
    """An error with an HTTP status and a detail a person can act on."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", {}) or {}


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": extra.pop("type", "about:blank"),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append(
            {"location": loc[0] if loc else None, "name": ".".join(loc[1:]) or None, "reason": err.get("msg")}
        )
    first = errors[0] if errors else {"name": None, "reason": "invalid request"}
    where = f"{first['location']} '{first['name']}'" if first.get("name") else str(first.get("location") or "request")
    return f"{where}: {first['reason']}", errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's json.loads of a body nested ~1000 deep
            from service.common.geometry_guard import GeometryLimits

            limits = GeometryLimits.from_settings()
            detail = (
                f"body: the JSON nests deeper than it can be read; GeoJSON needs at most {limits.max_json_depth} "
                f"levels (GeometryCollections nested at most {limits.max_depth} deep)"
            )
            return problem_response(400, detail, instance=request.url.path, parameter="body", fault="too_deep")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem_response(exc.status_code, detail, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem_response(400, detail, instance=request.url.path, errors=errors)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        known = _operational_problem(request, exc)
        if known is not None:
            return known
        log.warning("database unavailable: %s", exc.orig)
        return problem_response(
            503,
            "the database is not answering; try again shortly",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection free for %s", request.url.path)
        return problem_response(
            503, "the service is busy; try again shortly", instance=request.url.path, headers={"Retry-After": "2"}
        )

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return problem_response(
                503,
                "the database connection was lost; try again shortly",
                instance=request.url.path,
                headers={"Retry-After": "5"},
            )
        if isinstance(exc.orig, psycopg.errors.DataError):
            # SQLSTATE class 22: a value the client sent cannot be used (NUL byte, number out of range,
            # impossible date ...).  Values are always bound parameters, so this is the client's input.
            reason = str(exc.orig).strip().splitlines()[0]
            log.info("rejected request value on %s: %s", request.url.path, reason)
            return problem_response(400, f"a value in the request cannot be used: {reason}", instance=request.url.path)
        log.exception("database error on %s", request.url.path)
        return problem_response(500, "internal error (logged)", instance=request.url.path)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("disk full on %s: %s", request.url.path, exc)
            return problem_response(
                507,
                "the server has no disk space left to complete the request (its temporary folder is full); "
                "nothing was written; try again later or ask the operator to free space",
                instance=request.url.path,
                fault="disk_full",
            )
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, "internal error (logged)", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, "internal error (logged)", instance=request.url.path)


def _operational_problem(request: Request, exc: DBAPIError) -> JSONResponse | None:
    """The answer to a database error whose cause is known and is not "the database went away"."""
    orig = exc.orig
    path = request.url.path
    if isinstance(orig, psycopg.errors.QueryCanceled):  # SQLSTATE 57014
        if "statement timeout" in str(orig):
            from service.settings import get_settings

            seconds = get_settings().db_statement_timeout_ms / 1000
            log.warning("statement timeout on %s", path)
            return problem_response(
                504,
                f"the database query ran longer than the statement timeout of {seconds:g} s and was cancelled; "
                "nothing was changed; narrow the request (a bbox, a filter, a smaller limit or fewer ids)",
                instance=path,
                fault="statement_timeout",
            )
        log.warning("query cancelled on %s: %s", path, orig)
        return problem_response(
            503,
            "the database cancelled the query (an operator or a shutdown); nothing was changed; try again shortly",
            instance=path,
            headers={"Retry-After": "5"},
            fault="query_canceled",
        )
    if isinstance(orig, psycopg.errors.DiskFull):  # SQLSTATE 53100
        log.error("database disk full on %s: %s", path, orig)
        return problem_response(
            507,
            "the database server has no disk space left (SQLSTATE 53100 disk_full); nothing was written; "
            "try again later or ask the operator to free space",
            instance=path,
            fault="disk_full",
        )
    if isinstance(orig, psycopg.errors.TooManyConnections):  # SQLSTATE 53300
        log.warning("database refused a connection on %s: too many connections", path)
        return problem_response(
            503, "the database has no connection free; try again shortly", instance=path, headers={"Retry-After": "2"}
        )
    too_many_values = "number of parameters" in str(orig)
    if getattr(orig, "sqlstate", None) is None and not exc.connection_invalidated and too_many_values:
        # the driver refused to send a statement with more than 65,535 bound values: a bug (lists of ids
        # are bound as one array, = ANY(:ids)), not a database that went away
        log.error("too many bound parameters on %s: %s", path, orig)
        return problem_response(500, "internal error (logged)", instance=path)
    return None
