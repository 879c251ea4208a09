"""The project register: bundled plans (geodata/plans/) into plans and projects (issue 4 fills this in)."""

from __future__ import annotations

from sqlalchemy import Engine


def load_bundled_plans(engine: Engine) -> str:
    return "no bundled plans yet"
