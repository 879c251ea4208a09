"""Bearer tokens and roles.

Tokens are random, shown once, and stored as SHA-256 hashes (they carry 256 bits of entropy, so a
slow password hash buys nothing).  Roles are ordered only where one role includes another: admin
may do everything; a coordinator (the 两型办) does what an editor does, on every unit's tasks
(service/units); editor and inspector are separate.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.database import read_one
from service.models import User
from service.models.audit import ROLES
from service.sessions import SessionInfo

ANONYMOUS = "anonymous"
INCLUDED_ROLES = {"coordinator": ("editor",)}  # a role that may also do what the listed roles do


@dataclass(frozen=True)
class Principal:
    name: str
    role: str | None  # None for anonymous
    # set when the browser session cookie authenticated the request (not a bearer token): then every
    # unsafe request must carry the session's CSRF token (service.dependencies)
    session: SessionInfo | None = None

    def has(self, *roles: str) -> bool:
        if self.role is None:
            return False
        return self.role == "admin" or self.role in roles or any(r in roles for r in INCLUDED_ROLES.get(self.role, ()))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_state(session: Session, name: str) -> dict[str, object] | None:
    """What the audit log records of a user (never the token hash)."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        return None
    return {
        "name": user.name,
        "role": user.role,
        "revoked": user.revoked_at is not None,
        "expires_at": user.expires_at.isoformat() if user.expires_at else None,
    }


def create_user(session: Session, name: str, role: str, days: int | None = 365) -> str:
    """Create (or re-key) a user and return the new token; only its hash is stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    token = "xm_" + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role, token_hash=hash_token(token), expires_at=expires)
        session.add(user)
    else:
        user.role, user.token_hash, user.expires_at, user.revoked_at = role, hash_token(token), expires, None
    session.flush()
    return token


def revoke_user(session: Session, name: str) -> bool:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        return False
    user.revoked_at = datetime.now(UTC)
    return True


def store_password_hash(session: Session, name: str, password_hash: str) -> User | None:
    """Give a user a new password hash (made by service.passwords); None when there is no such user."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        return None
    user.password_hash = password_hash
    user.password_changed_at = datetime.now(UTC)
    session.flush()
    return user


TOKEN_SQL = "SELECT name, role, revoked_at, expires_at FROM users WHERE token_hash = %(hash)s"


def principal_for_token(token: str, engine: Engine | None = None) -> Principal | None:
    """The holder of ``token`` if it is known, not revoked and not expired (one indexed lookup per request)."""
    found = read_one(TOKEN_SQL, {"hash": hash_token(token)}, engine=engine)
    if found is None:
        return None
    name, role, revoked_at, expires_at = found
    if revoked_at is not None:
        return None
    if expires_at is not None and expires_at <= datetime.now(UTC):
        return None
    return Principal(name, role)
