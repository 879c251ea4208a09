"""The sign-in pages (/login, /logout, /me), /docs from the local Swagger UI, and Chinese error pages.

Not in the OpenAPI document: they are pages for people, not API operations.  Every route here resolves
its caller with ``authenticated`` (bearer token or session cookie, CSRF-checked on unsafe methods),
not ``current_principal``: with ``XIANGMAP_PRIVATE_READS`` the sign-in page must still open.
"""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.dependencies import app_settings, authenticated, get_session
from service.errors import Problem
from service.passwords import PasswordError
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.sessions import COOKIE as SESSION_COOKIE
from service.sessions import CSRF_REFUSED
from service.web import cookies, flash, usecases
from service.web.navigation import landing, safe_next
from service.web.pages import SignInRequired, page_user, render

router = APIRouter(
    route_class=SessionReleasingRoute, include_in_schema=False, dependencies=[Depends(authenticated)], tags=["web"]
)

SIGNIN_FAILED = "用户名或密码不对 / wrong user name or password"
VENDOR = "/static/vendor/swagger-ui-dist"


def _login_page(
    request: Request, next_path: str | None, *, username: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = cookies.signin_csrf(request)
    headers = {"WWW-Authenticate": 'Bearer realm="xiangmap"'} if status == 401 else None
    response = render(
        request,
        "web/login.html",
        {"next": next_path or "", "username": username, "error": error, "csrf_token": token},
        status=status,
        headers=headers,
    )
    cookies.keep_signin_csrf(request, response, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: str | None = Query(None, max_length=2000),
    principal: Principal = Depends(authenticated),
) -> Response:
    target = safe_next(next)
    if principal.session is not None:  # already signed in in this browser
        return RedirectResponse(target or landing(request.app), status_code=303)
    return _login_page(request, target)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=2000),
    next: str = Form("", max_length=2000),
    csrf_token: str = Form("", max_length=200),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    target = safe_next(next)
    if not cookies.signin_csrf_matches(request, csrf_token):
        return _login_page(request, target, username=username, error=CSRF_REFUSED, status=403)
    limits = getattr(request.app.state, "rate_limits", None)
    address = request.client.host if request.client else "unknown"
    wait = limits.signin_wait(address, username) if limits is not None else None
    if wait is not None:
        error = f"登录失败次数过多，请 {wait} 秒后再试 / too many failed sign-ins, wait {wait} s"
        response = _login_page(request, target, username=username, error=error, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    settings = app_settings(request)
    signed_in = usecases.sign_in(
        session,
        username,
        password,
        previous=request.cookies.get(SESSION_COOKIE),
        idle_minutes=settings.session_idle_minutes,
        max_hours=settings.session_max_hours,
    )
    if signed_in is None:
        if limits is not None:
            limits.signin_failed(address, username)
        return _login_page(request, target, username=username, error=SIGNIN_FAILED, status=401)
    response = RedirectResponse(target or landing(request.app), status_code=303)
    cookies.set_session(request, response, signed_in.cookie)
    response.delete_cookie(cookies.SIGNIN_CSRF_COOKIE, path=cookies.SIGNIN_PATH)
    return response


@router.post("/logout")
def logout(
    request: Request,
    principal: Principal = Depends(authenticated),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    actor = principal.name if principal.session is not None else None
    usecases.sign_out(session, actor, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    cookies.clear_session(request, response)
    flash.add(request, response, "已退出登录 / signed out", "success")
    return response


def _me_page(
    request: Request, principal: Principal, session: Session, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    context = {
        "unit": usecases.unit_of(session, principal.name),
        "has_password": usecases.has_password(session, principal.name),
        "min_length": app_settings(request).password_min_length,
        "error": error,
        "via_session": principal.session is not None,
    }
    return render(request, "web/me.html", context, status=status)


@router.get("/me", response_class=HTMLResponse)
def me(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _me_page(request, principal, session)


@router.post("/me/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    current_password: str = Form("", max_length=2000),
    new_password: str = Form("", max_length=2000),
    new_password_again: str = Form("", max_length=2000),
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    try:
        usecases.change_own_password(
            session,
            principal.name,
            current_password,
            new_password,
            new_password_again,
            session_id=principal.session.id if principal.session else None,
            min_length=app_settings(request).password_min_length,
        )
    except PasswordError as exc:
        session.rollback()
        return _me_page(request, principal, session, error=str(exc), status=400)
    response = RedirectResponse("/me", status_code=303)
    flash.add(request, response, "密码已修改；其他设备上的登录已退出 / password changed", "success")
    return response


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI from /static/vendor (fetched at setup), so the API page works offline."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} API 文档",
        swagger_js_url=f"{root}{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{root}{VENDOR}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )


# --- error answers for people -------------------------------------------------------------------

ERROR_TITLES = {403: "没有权限", 404: "页面不存在"}


def _navigating(request: Request) -> bool:
    """A browser opening a page (Accept starts with text/html), not a script, an API client or htmx."""
    accept = request.headers.get("accept", "")
    return accept.split(",", 1)[0].strip().startswith("text/html") and "hx-request" not in request.headers


def _to_login(request: Request, next_path: str) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(next_path, safe='/')}", status_code=303)


async def _error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    if getattr(request.state, "principal", None) is None:  # an unknown path ran no dependency: who is it?
        with contextlib.suppress(Problem):
            await authenticated(request)
    return render(
        request, "web/error.html", {"status": status, "title": ERROR_TITLES[status], "detail": detail}, status=status
    )


def install(app: FastAPI) -> None:
    """People get pages, programs keep problem+json: 403 and 404 as Chinese pages for a browser, a page
    that needs a signed-in user (or, with private reads, any page) sends the browser to /login."""
    json_problem = app.exception_handlers[Problem]
    json_http = app.exception_handlers[StarletteHTTPException]

    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        if isinstance(exc, SignInRequired):
            return _to_login(request, exc.next_path)
        if _navigating(request):
            if exc.status == 401 and request.method in ("GET", "HEAD") and request.url.path != "/login":
                query = request.url.query
                return _to_login(request, request.url.path + (f"?{query}" if query else ""))
            if exc.status in ERROR_TITLES:
                return await _error_page(request, exc.status, exc.detail)
        return await json_problem(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _navigating(request) and exc.status_code in ERROR_TITLES:
            detail = exc.detail if isinstance(exc.detail, str) and exc.detail != "Not Found" else request.url.path
            return await _error_page(request, exc.status_code, detail)
        return await json_http(request, exc)

    app.add_exception_handler(Problem, problem)
    app.add_exception_handler(StarletteHTTPException, http_error)
