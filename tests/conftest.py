"""Shared fixtures: a throwaway PostGIS cluster (or TEST_DATABASE_URL), migrated and set up once per run.

Everything talks to a real PostgreSQL/PostGIS; nothing is mocked.  Area-specific fixtures live in
each area's own test module or sub-package.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from service.pgcluster import Cluster

# the suite hammers the API from one address (schemathesis, the pool test); tests/security/ builds
# apps with the rate limits on (docs/decisions/0094-rate-limits.md)
os.environ.setdefault("XIANGMAP_RATE_LIMITS_ENABLED", "false")


def _clear_caches() -> None:
    from service.database import _sessionmaker, get_engine
    from service.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    _sessionmaker.cache_clear()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    """The run's own cluster; None when TEST_DATABASE_URL points at an existing server."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    cluster = Cluster.throwaway_cluster().ensure()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def database_url(pg_cluster: Cluster | None) -> str:
    from service.settings import normalise_url

    url = normalise_url(os.environ["TEST_DATABASE_URL"]) if pg_cluster is None else pg_cluster.url()
    os.environ["DATABASE_URL"] = url  # the owner's (here the cluster's superuser): migrations and setup
    # the service's own role, as in production (decision 0091); TEST_APP_DATABASE_URL with TEST_DATABASE_URL
    app_url = os.environ.get("TEST_APP_DATABASE_URL") if pg_cluster is None else pg_cluster.app_url()
    if app_url:
        os.environ["XIANGMAP_APP_DATABASE_URL"] = normalise_url(app_url)
    _clear_caches()
    return url


@pytest.fixture(scope="session")
def owner_engine(database_url: str) -> Engine:
    """The owner's engine (DDL, the audit trigger's own guard); the app never connects like this."""
    from service.database import get_owner_engine

    return get_owner_engine()


@pytest.fixture(scope="session")
def engine(owner_engine: Engine) -> Engine:
    """The application's engine (the app role) on a database migrated to head with every bundled dataset loaded."""
    from service.database import get_engine
    from service.setup import run_setup

    run_setup(owner_engine)
    return get_engine()


def url_for_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def empty_database(database_url: str) -> Iterator[Engine]:
    """A brand-new empty database on the same server, dropped afterwards."""
    name = f"xm_empty_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = create_engine(url_for_database(database_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(url_for_database(database_url, name))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A Session whose commits end in a savepoint of one transaction rolled back after the test, so domain
    code and use cases run as they do in production and leave the shared database as it was."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture(scope="session")
def app(engine: Engine):  # type: ignore[no-untyped-def]
    from service.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def tokens(engine: Engine) -> dict[str, str]:
    """A bearer token per role."""
    from service.database import session_scope
    from service.security import create_user

    with session_scope() as session:
        return {
            role: create_user(session, f"test-{role}", role)
            for role in ("viewer", "editor", "inspector", "gis", "admin", "coordinator")
        }


@pytest.fixture(scope="session")
def auth(tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers per role: ``client.post(..., headers=auth['editor'])``."""
    return {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a loopback port, for real clients (GDAL, Chromium, httpx)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
