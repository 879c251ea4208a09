"""Password hashes for browser sign-in: scrypt from the standard library (decision 0162).

A bearer token carries 256 random bits, so a fast hash suffices for it (service/security.py); a
password a person chose does not, so it gets a memory-hard KDF with a per-user salt.  The parameters
are stored with each hash (``scrypt$n=…,r=…,p=…$salt$hash``) so they can be raised later without
breaking the hashes already stored; :func:`needs_rehash` says when a stored one is weaker than today's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
MAX_LENGTH = 1024  # characters: a longer "password" is a way to burn CPU, not a secret a person types


@dataclass(frozen=True)
class ScryptParams:
    n: int = 2**15  # 32 MiB of memory per hash (128 * r * n bytes), about 0.1 s here
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return 2 * 128 * self.r * self.n * self.p


CURRENT = ScryptParams()
_DKLEN = 32


class PasswordError(ValueError):
    """A new password that may not be used; the message says why, in Chinese and English."""


def check_new_password(password: str, min_length: int) -> None:
    """Refuse what is too short, too long, or only white space, before anything is hashed."""
    if len(password) < min_length:
        raise PasswordError(f"密码至少 {min_length} 个字符 / the password needs at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"密码最多 {MAX_LENGTH} 个字符 / at most {MAX_LENGTH} characters")
    if not password.strip():
        raise PasswordError("密码不能只有空格 / the password cannot be only white space")


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=params.n, r=params.r, p=params.p, maxmem=params.maxmem, dklen=_DKLEN
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, params: ScryptParams = CURRENT) -> str:
    """``scrypt$n=32768,r=8,p=1$<salt>$<hash>`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, params)
    return f"{SCHEME}$n={params.n},r={params.r},p={params.p}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    try:
        scheme, raw_params, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return None
        values = dict(part.split("=", 1) for part in raw_params.split(","))
        params = ScryptParams(n=int(values["n"]), r=int(values["r"]), p=int(values["p"]))
        return params, _unb64(salt), _unb64(digest)
    except (ValueError, KeyError):
        return None


# derived when the user is unknown or has no password, so that answer takes as long as a wrong password
_DUMMY_SALT = secrets.token_bytes(16)


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; constant-time compare, and as slow for a missing hash."""
    parsed = _parse(stored) if stored else None
    if parsed is None or len(password) > MAX_LENGTH:
        _derive(password[:MAX_LENGTH], _DUMMY_SALT, CURRENT)
        return False
    params, salt, digest = parsed
    return hmac.compare_digest(_derive(password, salt, params), digest)


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than :data:`CURRENT` (rehash at next sign-in)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != CURRENT
