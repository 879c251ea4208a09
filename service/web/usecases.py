"""Sign-in use cases: signing in and out of a browser, and a user changing their own password.

Each takes the caller's Session and owns its transaction (decision 0100).  A sign-in ends the session
the browser came with (session fixation: the id a visitor had before is never the one they are signed
in with), starts a new one and writes its audit entry in the same commit; failed attempts write nothing
(the route counts them for the rate limit, service/rate_limits.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import sessions
from service.accounts import usecases as accounts
from service.common import audit
from service.models import User
from service.passwords import PasswordError, hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class SignedIn:
    cookie: str  # the new session's id, for the cookie only (its hash is what is stored)
    expires_at: datetime


def sign_in(
    session: Session, name: str, password: str, *, previous: str | None, idle_minutes: int, max_hours: int
) -> SignedIn | None:
    """A new browser session when ``password`` is the user's; None for a wrong password, an unknown or revoked
    user, or one without a password (one answer for all, and as slow, so names cannot be probed)."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    stored = user.password_hash if user is not None and user.revoked_at is None else None
    if not verify_password(password, stored) or user is None or stored is None:
        return None
    sessions.end(session, previous)
    sessions.purge_ended(session)
    raw, row = sessions.start(session, user.id, idle_minutes, max_hours)
    if needs_rehash(stored):  # parameters raised since this hash was made
        user.password_hash = hash_password(password)
    audit.record(session, user.name, "session.start", "user", user.name, after={"session": row.id})
    session.commit()
    return SignedIn(raw, min(row.expires_at, row.idle_expires_at))


def sign_out(session: Session, actor: str | None, raw: str | None) -> bool:
    """End the browser's session (if it has a live one), audited; the cookie is cleared by the route either way."""
    ended = sessions.end(session, raw)
    if ended and actor:
        audit.record(session, actor, "session.end", "user", actor)
    session.commit()
    return ended


def change_own_password(
    session: Session, name: str, current: str, new: str, repeated: str, *, session_id: int | None, min_length: int
) -> None:
    """The signed-in user's new password; their other sessions end, this one stays.

    Raises PasswordError (the message is shown on the page) when the current password is wrong, the two
    new ones differ, or the new one is too weak.
    """
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not verify_password(current, user.password_hash):
        raise PasswordError("当前密码不对 / the current password is wrong")
    if new != repeated:
        raise PasswordError("两次输入的新密码不一致 / the two new passwords differ")
    if new == current:
        raise PasswordError("新密码与当前密码相同 / the new password is the current one")
    accounts.set_password(session, name, name, new, min_length=min_length, keep_session=session_id)


def unit_of(session: Session, name: str) -> str | None:
    """The user's unit name, once users have one (``users.unit_id``, another branch); None until then."""
    user = session.scalar(select(User).where(User.name == name))
    unit = getattr(user, "unit", None) if user is not None else None
    label = getattr(unit, "name", None)
    return str(label) if label else None


def has_password(session: Session, name: str) -> bool:
    user = session.scalar(select(User).where(User.name == name))
    return user is not None and user.password_hash is not None
