"""/healthz: versions when up, 503 problem+json when the database is stopped, recovery without restart."""

from __future__ import annotations

import pytest

from service.pgcluster import Cluster


def test_healthz_reports_versions(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "up"
    assert body["postgresql"].split(".")[0].isdigit()
    assert body["postgis"].startswith("3.")


def test_healthz_503_then_recovers_when_database_returns(client, pg_cluster: Cluster | None) -> None:  # type: ignore[no-untyped-def]
    if pg_cluster is None:
        pytest.skip("needs the run's own cluster to stop and start (TEST_DATABASE_URL is set)")
    assert client.get("/healthz").status_code == 200
    pg_cluster.stop()
    try:
        down = client.get("/healthz")
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        body = down.json()
        assert body["status"] == 503 and body["database"] == "down" and "database unavailable" in body["detail"]
        # any database-backed route answers 503 too, never 500
        assert client.get("/audit").status_code in (401, 503)
    finally:
        pg_cluster.start()
    up = client.get("/healthz")
    assert up.status_code == 200, up.text
    assert up.json()["database"] == "up"


def test_cached_reads_and_token_checks_answer_503_when_down_and_200_at_once_when_back(  # type: ignore[no-untyped-def]
    client, auth, pg_cluster: Cluster | None
) -> None:
    """The per-request reads that bypass SQLAlchemy's execution layer (token, data version) map a lost
    database to 503 like everything else, and the very first request after the restart is served."""
    if pg_cluster is None:
        pytest.skip("needs the run's own cluster to stop and start (TEST_DATABASE_URL is set)")
    paths = ["/collections/roads/items?limit=5", "/collections/districts/tiles/WebMercatorQuad/10/429/833"]
    for path in paths:  # warm: the pool holds connections, the cache holds the answers
        assert client.get(path, headers=auth["viewer"]).status_code == 200
    pg_cluster.stop()
    try:
        for path in paths:
            for headers in (auth["viewer"], {}):
                down = client.get(path, headers=headers)
                assert down.status_code == 503, (path, down.text)
                assert down.headers["content-type"].startswith("application/problem+json")
    finally:
        pg_cluster.start()
    for path in paths:
        assert client.get(path, headers=auth["viewer"]).status_code == 200
