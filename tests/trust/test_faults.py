"""The database stops in the middle of a write: 503 for the client, nothing half-written, service back by itself.

The run's own PostgreSQL cluster is really stopped (``pg_ctl stop -m fast``) once the write has begun:
an SQLAlchemy ``before_cursor_execute`` hook on the application's engine counts the load's INSERTs and,
at the chosen one, stops the cluster from a helper thread and waits for it to be down, so the moment is
the same on every run and no test depends on timing.  The cluster is started again in a ``finally``
block whatever happens, because every other test of the run shares it.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from service.pgcluster import Cluster

PREFIX = "断库测试"


@pytest.fixture
def cluster(pg_cluster: Cluster | None) -> Cluster:
    if pg_cluster is None:
        pytest.skip("TEST_DATABASE_URL points at a server this run does not own, so it cannot be stopped")
    return pg_cluster


@contextmanager
def database_stops_at(engine: Engine, cluster: Cluster, statement: str, nth: int) -> Iterator[threading.Event]:
    """Stop the cluster just before the ``nth`` statement starting with ``statement`` runs; always restart it."""
    seen = 0
    stopped = threading.Event()

    def before_execute(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        nonlocal seen
        if not sql.lstrip().startswith(statement) or stopped.is_set():
            return
        seen += 1
        if seen == nth:
            stopper = threading.Thread(target=cluster.stop, name="stop-postgres")
            stopper.start()
            stopper.join()
            stopped.set()

    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield stopped
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
        cluster.start()


def _snapshot(engine: Engine, layer: str) -> dict[str, Any]:
    """Everything a load writes: the layer's rows, its load history, the audit log."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT key, md5(t::text) FROM {layer} t ORDER BY key")).all()
        loads = conn.execute(text("SELECT count(*) FROM layer_loads")).scalar_one()
        audit = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    return {"rows": [tuple(r) for r in rows], "loads": loads, "audit": audit}


def _many_roads(path: Path, count: int) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"{PREFIX}路{i:04d}", "road_class": "支路"},
            "geometry": {"type": "LineString", "coordinates": [[113.0 + i * 1e-4, 27.80], [113.0 + i * 1e-4, 27.81]]},
        }
        for i in range(count)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    return path


@pytest.fixture
def remove_test_roads(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM roads WHERE name LIKE :p"), {"p": f"{PREFIX}%"})


def test_database_stopped_during_a_layer_upload(  # type: ignore[no-untyped-def]
    client, auth, engine: Engine, cluster: Cluster, tmp_path: Path, remove_test_roads: None
) -> None:
    upload = _many_roads(tmp_path / "roads.geojson", 1500)
    before = _snapshot(engine, "roads")

    def post() -> Any:
        with upload.open("rb") as handle:
            files = {"file": ("roads.geojson", handle, "application/geo+json")}
            return client.post("/layers/roads/uploads", files=files, headers=auth["editor"])

    with database_stops_at(engine, cluster, "INSERT INTO roads", nth=700) as stopped:
        response = post()
        assert stopped.is_set(), "the load never reached its 700th row"
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] and "database" in response.json()["detail"]
        while_down = client.get("/layers/roads")  # any request while it is down: 503, not 500
        assert while_down.status_code == 503 and while_down.json()["status"] == 503

    assert _snapshot(engine, "roads") == before  # nothing of the 699 rows written before the stop remains
    assert client.get("/layers/roads").status_code == 200  # the same app, no restart
    again = post()
    assert again.status_code == 201, again.text
    assert again.json()["inserted"] == 1500


def _progress_sheet(path: Path, keys: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["project_key", "period", "status", "percent", "note"])
        for key in keys:
            writer.writerow([key, "2026-10", "推进中", "40", PREFIX])
    return path


@pytest.fixture
def remove_test_reports(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE note = :n"), {"n": PREFIX})


def test_database_stopped_during_a_progress_import(
    engine: Engine, cluster: Cluster, tmp_path: Path, remove_test_reports: None
) -> None:
    from service.database import session_scope
    from service.progress.usecases import import_reports

    with engine.connect() as conn:
        keys = list(conn.execute(text("SELECT key FROM projects ORDER BY id LIMIT 40")).scalars())
        reports_before = conn.execute(text("SELECT count(*) FROM progress_reports")).scalar_one()
        audit_before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    assert len(keys) == 40, "the bundled plans should provide projects"
    sheet = _progress_sheet(tmp_path / "progress.csv", keys)

    with database_stops_at(engine, cluster, "INSERT INTO progress_reports", nth=20) as stopped:
        with pytest.raises(OperationalError), session_scope(engine) as session:
            import_reports(session, sheet, "trust-test")
        assert stopped.is_set()

    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM progress_reports")).scalar_one() == reports_before
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == audit_before
    with session_scope(engine) as session:  # the same engine serves again once the server is back
        result = import_reports(session, sheet, "trust-test")
    assert (result.written, result.imported, result.errors) == (True, 40, [])


def test_database_stopped_during_a_cli_load(engine: Engine, cluster: Cluster, tmp_path: Path) -> None:
    """``xiangmap layers load`` says the database went away (exit 3) instead of printing a traceback."""
    from typer.testing import CliRunner

    from service.cli.main import app

    upload = _many_roads(tmp_path / "roads.geojson", 300)
    before = _snapshot(engine, "roads")
    with database_stops_at(engine, cluster, "INSERT INTO roads", nth=100) as stopped:
        result = CliRunner().invoke(app, ["layers", "load", "roads", str(upload)])
        assert stopped.is_set()
    assert result.exit_code == 3, result.output
    assert "database is not answering" in result.output
    assert _snapshot(engine, "roads") == before
