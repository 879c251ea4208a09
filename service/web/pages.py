"""Render a page in the base layout: the page kit of every server-rendered page (docs/web.md).

``render(request, "ledger/list.html", {...})`` gives the template, besides the route's context:
``user`` (name, role, unit when the user model has one; None when signed out), ``csrf_token`` and
``csrf_input`` (the hidden form field, for every form that posts), ``flashes`` (messages queued by
:mod:`service.web.flash` before a redirect), ``nav`` (the top bar's links) and ``static()``.

Every page answer is ``Cache-Control: no-store`` (it shows who is signed in and carries their CSRF
token: no browser history, shared computer or proxy may keep it) and carries the strict page policy
``WEB_CSP`` (no inline script or style: htmx and the page's CSS are files under /static).

Routes that need a signed-in user declare ``Depends(page_user)``: without one the browser is sent to
/login with ``next`` set to the page it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from service.dependencies import authenticated
from service.errors import Problem
from service.response_policy import NO_STORE, WEB_CSP
from service.security import Principal
from service.sessions import CSRF_FIELD
from service.web import flash
from service.web.navigation import nav_items
from service.web.templating import environment

PAGE_HEADERS = {"Cache-Control": NO_STORE.decode(), "Content-Security-Policy": WEB_CSP.decode()}


class SignInRequired(Problem):
    """Raised by :func:`page_user`; answered with a redirect to /login (service/web/routes.py)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(401, "请先登录 / sign in first")
        self.next_path = next_path


@dataclass(frozen=True)
class PageUser:
    """Who the top bar shows."""

    name: str
    role: str | None
    unit: str | None  # the user's unit once users have one (another branch); None until then


def page_user_of(principal: Principal | None) -> PageUser | None:
    if principal is None or principal.role is None:
        return None
    unit = getattr(principal, "unit", None)  # tolerated: Principal may carry the unit name later
    unit_name = getattr(unit, "name", unit)
    return PageUser(principal.name, principal.role, str(unit_name) if unit_name else None)


async def page_user(request: Request, principal: Principal = Depends(authenticated)) -> Principal:
    """Dependency of the pages that need a signed-in user (a browser session or a bearer token)."""
    if principal.role is None:
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return principal


def csrf_token_of(request: Request) -> str:
    """The token every form of this page carries: the session's, or "" when nobody is signed in."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.session.csrf_token if principal is not None and principal.session is not None else ""


def static(path: str) -> str:
    return f"/static/{path.lstrip('/')}"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page as an HTML answer, with no-store, the strict CSP, and the flash messages it shows cleared."""
    values: dict[str, Any] = dict(context or {})
    token = str(values.pop("csrf_token", "") or csrf_token_of(request))
    principal: Principal | None = getattr(request.state, "principal", None)
    values.setdefault("user", page_user_of(principal))
    values.setdefault("session_expires_at", principal.session.expires_at if principal and principal.session else None)
    values["csrf_token"] = token
    values["csrf_input"] = Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')
    values["flashes"] = flash.pending(request)
    values["nav"] = nav_items(request.app, request.url.path, principal.role if principal else None)
    values["static"] = static
    values["root"] = request.scope.get("root_path", "").rstrip("/")
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    flash.clear(request, response)
    return response
