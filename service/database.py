"""Engine and sessions: one SQLAlchemy engine (psycopg 3) per process, created lazily.

Riding out a database restart, with no restart of xiangmap: a connection that sat idle in the pool
for more than a few seconds is pinged on checkout and replaced when dead; a connection that fails
in use is recognised as a disconnect, and SQLAlchemy then replaces every connection of the pool
made before it.  Busy connections are not pinged: a ping on every checkout was two extra round
trips per request under load (docs/decisions/0084-threads-and-pool.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from service.settings import get_settings

IDLE_PING_SECONDS = 5.0


@lru_cache
def get_engine(url: str | None = None, application_name: str = "xiangmap") -> Engine:
    """The service's engine: the application role's URL unless ``url`` says otherwise (decision 0091).

    ``application_name`` tells the connections apart in ``pg_stat_activity`` (a hot standby's: xiangmap-read).
    """
    settings = get_settings()
    engine = create_engine(
        url or settings.resolved_app_database_url(),
        # every worker thread (settings.worker_threads) can hold a connection without waiting, and the
        # pool never shrinks under load: a new PostGIS backend costs far more than the query it serves
        pool_size=settings.pool_size,
        max_overflow=8,
        pool_timeout=10,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "application_name": application_name,
        },
    )
    _ping_when_idle(engine)
    return engine


def get_owner_engine() -> Engine:
    """The owner's engine (``DATABASE_URL`` or the managed cluster's superuser): migrations and setup only."""
    return get_engine(get_settings().resolved_database_url())


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it has been idle: a dead one is then replaced."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


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


@contextmanager
def driver_errors(
    sql: str, params: dict[str, Any] | None, connection: Any, on_lost: Callable[[BaseException], None]
) -> Iterator[None]:
    """Re-raise the driver's errors as SQLAlchemy's, for code that uses the psycopg connection itself.

    The 503 and 400 problem handlers know SQLAlchemy's errors; ``on_lost`` drops what a connection
    found closed or broken leaves behind, as Core does for its own statements.
    """
    try:
        yield
    except psycopg.Error as error:
        lost = bool(connection.closed or connection.broken)
        if lost:
            on_lost(error)
        raise exc.DBAPIError.instance(sql, params, error, psycopg.Error, connection_invalidated=lost) from error


def read_one(sql: str, params: dict[str, Any] | None = None, engine: Engine | None = None) -> tuple[Any, ...] | None:
    """One row of a one-statement read, on a pooled connection in autocommit, past SQLAlchemy's execution layer.

    For the reads made on every request (the caller's token, the data version): the Core path costs
    about 300 µs a call here, the driver's cursor about 120 µs.  Errors come out as SQLAlchemy's, so
    the 503 handlers apply; a failed connection is dropped and the pool renewed, as Core would do.
    """
    engine = engine or get_engine()
    try:
        proxied = engine.raw_connection()
    except psycopg.Error as error:  # the pool could not connect: the database is down
        raise exc.OperationalError(sql, params, error) from error
    connection = proxied.driver_connection

    def renew_pool(error: BaseException) -> None:
        proxied.invalidate(error)
        engine.dispose(close=False)  # every pooled connection predates the loss: open new ones

    try:
        with driver_errors(sql, params, connection, renew_pool):
            connection.autocommit = True
            try:
                return connection.execute(sql, params).fetchone()
            finally:
                if not connection.closed:
                    connection.autocommit = False
    finally:
        proxied.close()


VERSIONS_SQL = (
    "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'postgis'),"
    " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
)


def versions(engine: Engine) -> dict[str, Any]:
    """PostgreSQL and PostGIS versions, and whether the service is (wrongly) a superuser (decision 0091).

    Raises (SQLAlchemy's errors) when the database does not answer.
    """
    row = read_one(VERSIONS_SQL, engine=engine)
    pg, postgis, superuser = row if row is not None else (None, None, None)
    return {
        "postgresql": str(pg),
        "postgis": str(postgis) if postgis else "not installed",
        "database_superuser": bool(superuser),
    }
