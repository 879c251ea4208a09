"""Each cause of an error its own status and message (decision 0095).

Reproduced for real: a batch of 70,000 ids, a statement timeout (a table held locked by another
connection while the request's query waits for it), a query cancelled by an operator, and a download
written into a full filesystem (a 64 kB tmpfs).  Also: the OpenAPI document says how to send a token.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    return body


# --- a batch of 70,000 ids ----------------------------------------------------------------------------
def test_a_batch_of_70000_ids_is_413_naming_the_limit(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    ids = list(range(1, 70_001))
    response = client.post("/screening/batch", json={"project_ids": ids}, headers=auth["inspector"])
    body = _problem(response, 413)
    assert body["parameter"] == "project_ids"
    assert body["fault"] == "too_many_ids"
    assert "70000 ids, at most 5000 in one batch" in body["detail"]
    assert "Retry-After" not in response.headers


def test_70000_ids_are_bound_as_one_array(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the batch limit raised, 70,000 distinct ids reach the database: one array parameter (the driver
    refuses more than 65,535 parameters, which was answered as 503 "the database is not answering")."""
    with engine.connect() as conn:
        known = list(conn.execute(text("SELECT id FROM projects ORDER BY id")).scalars())
    unknown = [max(known) + n for n in range(1, 70_001 - len(known))]
    monkeypatch.setenv("XIANGMAP_SCREENING_BATCH_MAX_IDS", "100000")
    from service.settings import get_settings

    get_settings.cache_clear()
    try:
        response = client.post("/screening/batch", json={"project_ids": known + unknown}, headers=auth["inspector"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    body = _problem(response, 404)
    assert body["detail"].startswith(f"project_ids: no project with id {unknown[0]}, {unknown[1]}")
    assert f"({len(unknown)} unknown ids)" in body["detail"]
    assert "Retry-After" not in response.headers


# --- statement timeout, and a query cancelled by an operator -------------------------------------------
@pytest.fixture
def short_timeout_server(database_url: str, engine: Engine) -> Iterator[str]:
    """xiangmap in a uvicorn child process with XIANGMAP_DB_STATEMENT_TIMEOUT_MS=500 (its own engine; this
    process's engine, which other tests hook, stays as it is)."""
    import socket
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": database_url, "XIANGMAP_DB_STATEMENT_TIMEOUT_MS": "500"}
    command = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--host", "127.0.0.1"]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("the server with a short statement timeout did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def projects_locked(engine: Engine) -> Iterator[None]:
    """Another connection holds projects in ACCESS EXCLUSIVE mode: a query on it waits until cancelled."""
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            holder.rollback()


def test_a_statement_timeout_is_504_naming_the_timeout(short_timeout_server: str, projects_locked: None) -> None:
    import httpx

    response = httpx.get(f"{short_timeout_server}/projects", params={"limit": 3, "offset": 7}, timeout=60)
    body = _problem(response, 504)
    assert body["fault"] == "statement_timeout"
    assert "ran longer than the statement timeout of 0.5 s" in body["detail"]
    assert "narrow the request" in body["detail"]
    assert "Retry-After" not in response.headers


def test_a_query_cancelled_by_an_operator_is_503_saying_so(app: FastAPI, engine: Engine, projects_locked: None) -> None:
    """pg_cancel_backend on the request's backend once it waits for the lock (seen in pg_stat_activity)."""
    cancelled: list[bool] = []

    def cancel_when_waiting() -> None:
        with engine.connect() as watcher:
            while not cancelled:
                pid = watcher.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = 'xiangmap' "
                        "AND wait_event_type = 'Lock' AND query LIKE '%projects%' AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                if pid is not None:
                    cancelled.append(watcher.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": pid}).scalar())
                watcher.rollback()
                time.sleep(0.02)  # polling pace only; nothing is measured

    thread = threading.Thread(target=cancel_when_waiting, daemon=True)
    thread.start()
    try:
        with TestClient(app, raise_server_exceptions=False) as plain:
            response = plain.get("/projects", params={"limit": 4, "offset": 9})
    finally:
        cancelled.append(True)
        thread.join(timeout=30)
    body = _problem(response, 503)
    assert body["fault"] == "query_canceled"
    assert "cancelled the query" in body["detail"]
    assert response.headers["Retry-After"] == "5"
    assert cancelled[0] is True


# --- a full disk under the download writer -----------------------------------------------------------
@pytest.fixture
def full_download_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """XIANGMAP_DOWNLOAD_CACHE_DIR on a 64 kB tmpfs, filled to its last blocks."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    from service.settings import get_settings

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny)], check=True)
    try:
        (tiny / "filler").write_bytes(b"\0" * 56 * 1024)
        monkeypatch.setenv("XIANGMAP_DOWNLOAD_CACHE_DIR", str(tiny))
        get_settings.cache_clear()
        yield tiny
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        subprocess.run(["umount", str(tiny)], check=True)


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "shp.zip"])
def test_a_full_download_folder_is_507(app: FastAPI, full_download_dir: Path, fmt: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as plain:
        response = plain.get(f"/collections/roads/download.{fmt}", params={"limit": 5000})
    body = _problem(response, 507)
    assert body["fault"] == "disk_full"
    assert "no disk space left to write the download" in body["detail"]
    assert sorted(p.name for p in full_download_dir.iterdir()) == ["filler"]  # nothing half-written left


# --- the OpenAPI document -------------------------------------------------------------------------
def test_openapi_declares_bearer_on_the_operations_that_need_a_token(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    secured = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"bearer": []}]
    }
    for needed in [
        ("post", "/screening"),
        ("post", "/screening/batch"),
        ("get", "/audit"),
        ("post", "/layers/{layer_id}/uploads"),
        ("put", "/projects/{project_id}/location"),
        ("post", "/projects/{project_id}/progress"),
    ]:
        assert needed in secured, needed
    for public in [("post", "/geocode"), ("get", "/collections/{collectionId}/items"), ("get", "/projects")]:
        assert public not in secured, public
    assert "504" in document["paths"]["/projects"]["get"]["responses"]
