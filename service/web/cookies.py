"""The cookies of browser sign-in: the session cookie and the sign-in form's CSRF cookie (decision 0160).

``xiangmap_session``: HttpOnly (no script reads it), SameSite=Lax (not sent on another site's POST,
still sent when a planner follows a link from a mail or the intranet portal), Path=/, Secure whenever
the request came over TLS (directly, or through a proxy uvicorn trusts: ``X-Forwarded-Proto``) or the
service's public URL is https, and Max-Age the absolute session lifetime, so a phone's browser keeps it
across restarts while the server still ends it at the idle expiry.

``xiangmap_signin_csrf``: the sign-in form has no session yet, so its CSRF token is a double-submit
cookie (Path=/login, SameSite=Strict, an hour): the form's hidden field must equal it.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from service.dependencies import app_settings
from service.sessions import COOKIE as SESSION_COOKIE

SIGNIN_CSRF_COOKIE = "xiangmap_signin_csrf"
SIGNIN_PATH = "/login"


def over_tls(request: Request) -> bool:
    """True when the browser reached us over https (directly, via a trusted proxy, or per public_url)."""
    if request.url.scheme == "https":
        return True
    public = app_settings(request).public_url or ""
    return public.lower().startswith("https://")


def set_session(request: Request, response: Response, raw: str) -> None:
    max_age = app_settings(request).session_max_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=max_age, path="/", httponly=True, samesite="lax", secure=over_tls(request)
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=over_tls(request))


def signin_csrf(request: Request) -> str:
    """The sign-in form's token: the browser's current one, or a new one to be set by :func:`keep_signin_csrf`."""
    current = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    return current if 20 <= len(current) <= 100 else secrets.token_urlsafe(32)


def keep_signin_csrf(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(SIGNIN_CSRF_COOKIE) != token:
        response.set_cookie(
            SIGNIN_CSRF_COOKIE,
            token,
            max_age=3600,
            path=SIGNIN_PATH,
            httponly=True,
            samesite="strict",
            secure=over_tls(request),
        )


def signin_csrf_matches(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    return bool(expected and submitted) and hmac.compare_digest(expected.encode(), str(submitted).encode())
