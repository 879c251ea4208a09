"""Bound parameters for hand-built SQL: every client value goes through here, never into the text."""

from __future__ import annotations

from typing import Any


class SqlParams:
    """Collects values and hands back psycopg placeholders (``%(p0)s`` ...)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        placeholder = f"%({name})s"
        return f"CAST({placeholder} AS {cast})" if cast else placeholder
