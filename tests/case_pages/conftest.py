"""Accounts for the case pages: two inspectors, the responsible unit's editor (株洲市石峰区人民政府), an editor
of another unit (芦淞区), a viewer; a place inside the Green Heart's core protection zone (2024 scheme).

Users and the cases they file are committed (the app reads on its own connections) and removed afterwards
with the owner's rights (the application role may not delete a case)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Engine, text

from service.settings import PROJECT_ROOT
from tests.web.conftest import WebUser, browser, csrf_of, make_user, sign_in  # noqa: F401  (fixture)

TAG = f"cp{os.getpid()}"
HOSTILE = "<script>alert(1)</script>绿心违建"


def core_point() -> tuple[float, float]:
    """A point well inside the 2024 core protection zone (its representative point)."""
    data = json.loads((PROJECT_ROOT / "geodata/layers/green_heart.geojson").read_text(encoding="utf-8"))
    core = next(f for f in data["features"] if f["properties"]["subzone"] == "核心保护区")
    p = shape(core["geometry"]).representative_point()
    return round(p.x, 6), round(p.y, 6)


@dataclass
class CaseWorld:
    inspector: WebUser
    second: WebUser
    editor: WebUser  # of the responsible unit
    other_editor: WebUser
    viewer: WebUser
    unit: int
    other_unit: int
    point: tuple[float, float]


@pytest.fixture(scope="session")
def case_world(engine: Engine, owner_engine: Engine, client) -> Iterator[CaseWorld]:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.units import usecases as units

    world_users = {
        "inspector": make_user(f"{TAG}-巡查甲", "inspector"),
        "second": make_user(f"{TAG}-巡查乙", "inspector"),
        "editor": make_user(f"{TAG}-石峰", "editor"),
        "other_editor": make_user(f"{TAG}-芦淞", "editor"),
        "viewer": make_user(f"{TAG}-查看", "viewer"),
    }
    with session_scope() as session:
        unit = units.find_unit_id(session, "株洲市石峰区人民政府")
        other = units.find_unit_id(session, "株洲市芦淞区人民政府")
        units.assign_user(session, "test", world_users["editor"].name, unit)
        units.assign_user(session, "test", world_users["other_editor"].name, other)
    try:
        yield CaseWorld(**world_users, unit=unit, other_unit=other, point=core_point())
    finally:
        with owner_engine.begin() as conn:
            ids = "SELECT id FROM cases WHERE found_by LIKE :p"
            conn.execute(text(f"DELETE FROM case_files WHERE case_id IN ({ids})"), {"p": f"{TAG}-%"})
            conn.execute(text(f"DELETE FROM case_events WHERE case_id IN ({ids})"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM cases WHERE found_by LIKE :p"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


def signed_in(client: TestClient, user: WebUser) -> str:
    """Sign ``client`` in as ``user``; the CSRF token of its session."""
    answer = sign_in(client, user)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/me").text)


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(out, "JPEG", quality=85)
    return out.getvalue()
