"""Bundled demonstration progress history, clearly labelled as such (issue 6 fills this in)."""

from __future__ import annotations

from sqlalchemy import Engine


def load_demo_progress(engine: Engine) -> str:
    return "no demonstration progress yet"
