"""Tokens: hashed, revocable, expiring; 401 without, 403 with the wrong role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from service.database import session_scope
from service.security import create_user, revoke_user


def test_revoked_and_expired_tokens_are_refused(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        revoked = create_user(session, "trust-revoked", "admin")
        expired = create_user(session, "trust-expired", "admin")
    headers = {"Authorization": f"Bearer {revoked}"}
    assert client.get("/audit", headers=headers).status_code == 200
    with session_scope() as session:
        assert revoke_user(session, "trust-revoked")
    r = client.get("/audit", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]

    with engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET expires_at = :t WHERE name = 'trust-expired'"),
            {"t": datetime.now(UTC) - timedelta(seconds=1)},
        )
    assert client.get("/audit", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_malformed_authorization_header_is_401(client) -> None:  # type: ignore[no-untyped-def]
    for value in ("Basic abc", "Bearer", "Bearer    ", "token"):
        r = client.get("/audit", headers={"Authorization": value})
        assert r.status_code == 401, value
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_private_reads_setting_requires_a_token(client, tokens, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.settings import get_settings

    monkeypatch.setenv("XIANGMAP_PRIVATE_READS", "true")
    get_settings.cache_clear()
    try:
        assert client.get("/audit").status_code == 401
        assert client.get("/audit", headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 200
    finally:
        monkeypatch.delenv("XIANGMAP_PRIVATE_READS")
        get_settings.cache_clear()
    assert get_settings().private_reads is False
