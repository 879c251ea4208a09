"""Browser sessions: the cookie, its row in ``web_sessions``, and the CSRF token that goes with it.

Infrastructure like service/security.py (the bearer tokens): ``current_principal`` reads a session on
every request a browser makes, so the lookup is one read on a connection of its own
(``service.database.read_one``), and ``last_seen_at`` is written at most once a minute.  Sign-in and
sign-out write through the caller's Session, inside the use case's transaction (service/web/usecases.py).

The cookie holds 256 random bits; only their SHA-256 is stored (like tokens, decision 0005).  A session
ends at the first of: its absolute expiry (``XIANGMAP_SESSION_MAX_HOURS`` after sign-in), its idle
expiry (``XIANGMAP_SESSION_IDLE_MINUTES`` after the last request), sign-out, the user's revocation, a
password change.  All times are the database's clock (decision 0161).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from service.database import read_one
from service.models import WebSession

COOKIE = "xiangmap_session"
CSRF_FIELD = "csrf_token"  # the hidden field of every form (service/templates/web/_forms.html)
CSRF_HEADER = "X-CSRF-Token"  # what htmx and scripts send (hx-headers on <body>)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOUCH_EVERY_S = 60  # last_seen_at (and the idle expiry) move at most this often: not a write per request
CSRF_REFUSED = "表单已过期，请刷新后重试 / CSRF token missing or wrong"


@dataclass(frozen=True)
class SessionInfo:
    """What a request knows about the browser session that authenticated it."""

    id: int
    user_id: int
    csrf_token: str
    expires_at: datetime  # the earlier of the absolute and the idle expiry, as of this request


def hash_session_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


LOOKUP_SQL = (
    "SELECT s.id, s.user_id, s.csrf_token, least(s.expires_at, s.idle_expires_at), u.name, u.role,"
    " s.last_seen_at < now() - make_interval(secs => %(touch)s)"
    " FROM web_sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.id_hash = %(hash)s AND s.expires_at > now() AND s.idle_expires_at > now() AND u.revoked_at IS NULL"
)
TOUCH_SQL = (
    "UPDATE web_sessions SET last_seen_at = now(),"
    " idle_expires_at = least(expires_at, now() + make_interval(mins => %(idle)s))"
    " WHERE id = %(id)s RETURNING least(expires_at, idle_expires_at)"
)


def session_for_cookie(raw: str, idle_minutes: int) -> tuple[SessionInfo, str, str] | None:
    """The live session of this cookie value with its user's name and role, or None (unknown, ended, revoked).

    Blocking (one or two statements): call it on a worker thread.
    """
    if not raw or len(raw) > 128:
        return None
    found = read_one(LOOKUP_SQL, {"hash": hash_session_id(raw), "touch": TOUCH_EVERY_S})
    if found is None:
        return None
    session_id, user_id, csrf_token, expires_at, name, role, stale = found
    if stale:
        touched = read_one(TOUCH_SQL, {"id": session_id, "idle": idle_minutes})
        if touched is not None:
            expires_at = touched[0]
    return SessionInfo(session_id, user_id, csrf_token, expires_at), name, role


def csrf_matches(info: SessionInfo, submitted: str | None) -> bool:
    """Constant-time comparison of the submitted token with the session's."""
    return bool(submitted) and hmac.compare_digest(info.csrf_token.encode(), str(submitted).encode())


def start(session: Session, user_id: int, idle_minutes: int, max_hours: int) -> tuple[str, WebSession]:
    """A new session row for ``user_id`` (in the caller's transaction); the raw cookie value, shown once."""
    raw = secrets.token_urlsafe(32)
    absolute = func.now() + timedelta(hours=max_hours)
    row = WebSession(
        id_hash=hash_session_id(raw),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=absolute,
        idle_expires_at=func.least(absolute, func.now() + timedelta(minutes=idle_minutes)),
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return raw, row


def end(session: Session, raw: str | None) -> bool:
    """Delete the session of this cookie value, if any (sign-out, and the old one at sign-in)."""
    if not raw:
        return False
    return session.execute(delete(WebSession).where(WebSession.id_hash == hash_session_id(raw))).rowcount > 0


def end_all_of(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """Delete every session of a user (password changed, user revoked), but ``keep`` if given."""
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    return session.execute(stmt).rowcount


def purge_ended(session: Session) -> int:
    """Delete the rows of sessions past either expiry (run at each sign-in: the table stays small)."""
    now = func.now()
    return session.execute(
        delete(WebSession).where(or_(WebSession.expires_at <= now, WebSession.idle_expires_at <= now))
    ).rowcount


def live_sessions(session: Session, user_id: int) -> int:
    """How many sessions of this user are live (for /me and the tests)."""
    now = func.now()
    return (
        session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.user_id == user_id, WebSession.expires_at > now, WebSession.idle_expires_at > now)
        )
        or 0
    )
