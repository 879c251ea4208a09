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
