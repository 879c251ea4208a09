"""Engine and sessions: one SQLAlchemy engine (psycopg 3) per process, created lazily.

``pool_pre_ping`` plus a short connect timeout is what lets the service ride out a database
restart: dead pooled connections are dropped on checkout and new ones are opened when the
server is back, with no restart of xiangmap.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.settings import get_settings


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    settings = get_settings()
    return create_engine(
        url or settings.resolved_database_url(),
        pool_pre_ping=True,
        # every worker thread (anyio's default limiter: 40) can hold a connection without starving the others
        pool_size=settings.db_pool_size,
        max_overflow=max(settings.db_pool_size, 40 - settings.db_pool_size),
        pool_timeout=10,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "application_name": "xiangmap",
        },
    )


@lru_cache
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def new_session(engine: Engine | None = None) -> Session:
    return _sessionmaker(engine or get_engine())()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL and PostGIS versions; raises when the database does not answer."""
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(
            text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        ).scalar_one_or_none()
    return {"postgresql": str(pg), "postgis": str(postgis) if postgis else "not installed"}
