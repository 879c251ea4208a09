"""Accounts use cases: users, their tokens and passwords (``xiangmap users``), and reading the audit log (GET /audit).

Each takes the caller's Session and owns its transaction (decision 0100): a user created or revoked
gets its audit entry in the same commit, whoever calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import sessions
from service.common import audit
from service.models import AuditEntry, User
from service.passwords import check_new_password, hash_password
from service.security import create_user, revoke_user, store_password_hash, user_state


def audit_entries(
    session: Session, *, limit: int, offset: int, entity: str | None = None, entity_id: str | None = None
) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally for one entity type and id; JSON-ready."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return [_entry(row) for row in session.scalars(stmt).all()]


def _entry(row: AuditEntry) -> dict[str, Any]:
    at: datetime = row.at
    return {
        "id": row.id,
        "at": at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
    }


def add_user(session: Session, actor: str, name: str, role: str, days: int | None) -> str:
    """Create a user (or give an existing one a new token), audited; the token, shown once.

    Raises ValueError for an unknown role, with nothing written.
    """
    before = user_state(session, name)
    token = create_user(session, name, role, days)
    audit.record(session, actor, "user.add", "user", name, before=before, after=user_state(session, name))
    session.commit()
    return token


def revoke(session: Session, actor: str, name: str) -> bool:
    """Revoke a user's token, audited; False (nothing written) when there is no such user."""
    before = user_state(session, name)
    if not revoke_user(session, name):
        return False
    session.flush()
    user = session.scalar(select(User).where(User.name == name))
    if user is not None:  # a revoked user is signed out of every browser as well (decision 0161)
        sessions.end_all_of(session, user.id)
    audit.record(session, actor, "user.revoke", "user", name, before=before, after=user_state(session, name))
    session.commit()
    return True


@dataclass(frozen=True)
class UserLine:
    name: str
    role: str
    revoked_at: datetime | None
    expires_at: datetime | None


def list_users(session: Session) -> list[UserLine]:
    """Every user by name, with role and token dates (never the token hash)."""
    return [
        UserLine(user.name, user.role, user.revoked_at, user.expires_at)
        for user in session.scalars(select(User).order_by(User.name))
    ]


def set_password(
    session: Session, actor: str, name: str, password: str, *, min_length: int, keep_session: int | None = None
) -> bool:
    """Give a user a new password (scrypt, service/passwords.py), audited; every other browser session of
    theirs ends, since whoever knew the old password may be signed in with it.

    False (nothing written) when there is no such user; raises PasswordError for a password too weak.
    """
    check_new_password(password, min_length)
    before = user_state(session, name)
    user = store_password_hash(session, name, hash_password(password))
    if user is None:
        return False
    ended = sessions.end_all_of(session, user.id, keep=keep_session)
    after = {**(user_state(session, name) or {}), "password_changed_at": _iso(user.password_changed_at)}
    audit.record(session, actor, "user.password", "user", name, before=before, after={**after, "sessions_ended": ended})
    session.commit()
    return True


def create_admin(session: Session, actor: str, name: str, password: str, *, min_length: int) -> str:
    """The first admin (or another one): a new user with role admin, a password and a token, audited together.

    Raises ValueError when the name is taken (give that user a password with ``set-password``) and
    PasswordError for a password too weak; nothing is written then.
    """
    check_new_password(password, min_length)
    if user_state(session, name) is not None:
        raise ValueError(f"user {name!r} exists; use `xiangmap users set-password {name}`")
    token = create_user(session, name, "admin", None)
    user = store_password_hash(session, name, hash_password(password))
    assert user is not None
    after = {**(user_state(session, name) or {}), "password_changed_at": _iso(user.password_changed_at)}
    audit.record(session, actor, "user.create_admin", "user", name, before=None, after=after)
    session.commit()
    return token


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
