"""Load the bundled layer files (geodata/layers/) into their tables (issue 3 fills this in)."""

from __future__ import annotations

from sqlalchemy import Engine


def load_bundled_layers(engine: Engine) -> str:
    return "no bundled layers yet"
