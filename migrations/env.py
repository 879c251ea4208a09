"""Alembic environment: the URL comes from xiangmap's settings unless the caller passes a connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from service.migrate import include_object
from service.models import Base
from service.settings import get_settings

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("xiangmap migrations run online only: xiangmap db upgrade")
run_migrations()
