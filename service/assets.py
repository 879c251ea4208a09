"""Third-party web assets (Leaflet, Folium's plugins), fetched from their registry packages at setup
and served by xiangmap itself, so the maps work on an offline intranet (issue 6 fills this in)."""

from __future__ import annotations

from sqlalchemy import Engine


def fetch_assets(engine: Engine) -> str:
    return "no web assets yet"
