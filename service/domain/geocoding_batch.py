"""Geocode every project that has no location yet (issue 4 fills this in)."""

from __future__ import annotations

from sqlalchemy import Engine


def geocode_pending(engine: Engine) -> str:
    return "geocoder not built yet"
