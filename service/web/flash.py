"""Flash messages: a line shown once on the next page ("已退出", "密码已修改"), after a redirect.

Carried in a short-lived cookie, not in the session row, because the message after sign-out has no
session left to live in.  The cookie is HMAC-signed with a key derived from the link-signing secret
(service.common.signed_links), so a cookie set by anyone else (another site on a sibling host name) is
dropped instead of shown; the text is escaped like everything else when it is rendered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from service.common.signed_links import derived_key
from service.database import get_engine
from service.web.cookies import over_tls

COOKIE = "xiangmap_flash"
Level = Literal["info", "success", "error"]
MAX_MESSAGES = 5


def _key() -> bytes:
    return derived_key(get_engine(), "flash-messages")


def _sign(payload: bytes) -> str:
    return hmac.new(_key(), payload, hashlib.sha256).hexdigest()


def add(request: Request, response: Response, text: str, level: Level = "info") -> None:
    """Queue ``text`` for the next page this browser renders (after the redirect in ``response``)."""
    messages = [*_read(request), {"level": level, "text": text}][-MAX_MESSAGES:]
    payload = base64.urlsafe_b64encode(json.dumps(messages, ensure_ascii=False).encode()).decode()
    response.set_cookie(
        COOKIE,
        f"{payload}.{_sign(payload.encode())}",
        max_age=300,
        path="/",
        httponly=True,
        samesite="lax",
        secure=over_tls(request),
    )
    request.state.flash_queued = True


def _read(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(COOKIE, "")
    payload, _, signature = raw.rpartition(".")
    if not payload or not hmac.compare_digest(_sign(payload.encode()), signature):
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return []
    return [
        {"level": str(m.get("level", "info")), "text": str(m.get("text", ""))} for m in messages if isinstance(m, dict)
    ][:MAX_MESSAGES]


def pending(request: Request) -> list[dict[str, str]]:
    """The messages queued for this page (none when the cookie is missing or not signed by us)."""
    return _read(request) if COOKIE in request.cookies else []


def clear(request: Request, response: Response) -> None:
    """Remove the shown messages from the browser (unless this response queues new ones)."""
    if COOKIE in request.cookies and not getattr(request.state, "flash_queued", False):
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
