"""Run Alembic migrations programmatically (the CLI, setup and tests share this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from service.settings import PROJECT_ROOT

SPATIAL_TABLES = {"spatial_ref_sys", "topology", "layer"}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Keep PostGIS's own tables, and the tables of published layers (issue 20), out of autogenerate.

    A published layer's table is made at run time by ``xm_layer_create`` (migration 0025), which comments it so.
    """
    published = getattr(obj, "comment", None) in ("xiangmap published layer", "xiangmap staging")
    if type_ == "table" and reflected and compare_to is None and published:
        return False
    return not (type_ == "table" and name in SPATIAL_TABLES)


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
