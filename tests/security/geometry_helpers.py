"""Helpers of the security tests: a project row to break and restore, and calls under a deadline."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

DEADLINE_S = 120  # a guard only: a request still running then has run away (GEOS ignores statement_timeout)


def within_deadline(call: Callable[[], Any], what: str) -> Any:
    """``call()`` in a thread; the test fails (instead of hanging) when it has not returned by the deadline."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # handed back to the test below
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    if worker.is_alive():
        pytest.fail(f"{what} was still running after {DEADLINE_S} s: the database is stuck on one geometry")
    if "error" in result:
        raise result["error"]
    return result["value"]


def fetch(base_url: str, path: str) -> httpx.Response:
    """GET over a real socket from the live server, failing the test at the deadline instead of hanging it
    (an in-process TestClient would wait for the stuck request when the session closes)."""
    return within_deadline(lambda: httpx.get(base_url + path, timeout=DEADLINE_S + 10), f"GET {path}")


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """(z, row, col) of the WebMercatorQuad tile holding lon / lat."""
    n = 1 << z
    col = int((lon + 180.0) / 360.0 * n)
    row = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, row, col


class SlippedIn:
    """One project whose stored geometry is replaced by raw SQL (as if written before the guard), then restored."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            self.id, self.geom, self.precision = conn.execute(
                text("SELECT id, geom, precision FROM projects WHERE geom IS NOT NULL ORDER BY id LIMIT 1")
            ).one()

    def store(self, geometry_sql: str, precision: int = 1) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE projects SET geom = {geometry_sql}, precision = :q WHERE id = :id"),
                {"id": self.id, "q": precision},
            )

    def restore(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE projects SET geom = CAST(:g AS geometry), precision = :q WHERE id = :id"),
                {"id": self.id, "g": self.geom, "q": self.precision},
            )


def state(engine: Engine, project_id: int) -> tuple[Any, ...]:
    """What a refused write must leave as it was: geometry, version, locations, reports."""
    with engine.begin() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT ST_AsEWKB(geom), version, location_status,"
                    " (SELECT count(*) FROM project_locations WHERE project_id = p.id),"
                    " (SELECT count(*) FROM progress_reports WHERE project_id = p.id)"
                    " FROM projects p WHERE id = :id"
                ),
                {"id": project_id},
            ).one()
        )
