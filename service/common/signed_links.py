"""Signed, expiring links: a path anyone may open until it expires, without a bearer token.

Browsers cannot send an Authorization header from a link, so an inspector who wants to open (or
mail) a screening map gets a link carrying ``expires`` and an HMAC-SHA256 ``sig`` over the path and
the expiry.  The key is ``XIANGMAP_SECRET_KEY`` when set (several servers behind one proxy), else a
random key the service generates once and keeps in ``app_secrets``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from sqlalchemy import Engine, text

from service.settings import get_settings

KEY_NAME = "link-signing"
DEFAULT_TTL_S = 7 * 24 * 3600


@lru_cache(maxsize=4)
def _key(engine: Engine) -> bytes:
    configured = get_settings().secret_key
    if configured:
        return configured.encode()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO app_secrets (name, value) VALUES (:n, :v) ON CONFLICT (name) DO NOTHING"),
            {"n": KEY_NAME, "v": secrets.token_hex(32)},
        )
        value = conn.execute(text("SELECT value FROM app_secrets WHERE name = :n"), {"n": KEY_NAME}).scalar_one()
    return str(value).encode()


def derived_key(engine: Engine, purpose: str) -> bytes:
    """A key for another use of the same secret (e.g. the web pages' flash cookie): one secret to keep, and
    a value signed for one purpose is never valid for another."""
    return hmac.new(_key(engine), f"xiangmap:{purpose}".encode(), hashlib.sha256).digest()


def _signature(key: bytes, path: str, expires: int) -> str:
    return hmac.new(key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def sign(engine: Engine, path: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> str:
    """``path?expires=…&sig=…``, valid for ``ttl_s`` seconds."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    return f"{path}?expires={expires}&sig={_signature(_key(engine), path, expires)}"


def verify(engine: Engine, path: str, expires: int | None, sig: str | None, now: float | None = None) -> bool:
    """True when ``sig`` signs ``path`` and ``expires`` and the link has not expired."""
    if expires is None or not sig:
        return False
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_signature(_key(engine), path, expires), sig)


def verify_query(engine: Engine, path: str, query: list[tuple[str, str]], now: float | None = None) -> bool:
    """True when a request for ``path`` with exactly these query parameters is a valid signed link.

    Only ``expires`` and ``sig`` may be present, each once: the signature covers the path and the expiry,
    so a parameter it does not cover could change what the link opens.  ``XIANGMAP_PRIVATE_READS``
    lets such a request in without a token (service.dependencies); the route checks the link again.
    """
    if len(query) != 2 or {name for name, _ in query} != {"expires", "sig"}:
        return False
    values = dict(query)
    if not (values["expires"].isascii() and values["expires"].isdigit()) or len(values["expires"]) > 18:
        return False
    return verify(engine, path, int(values["expires"]), values["sig"], now=now)
