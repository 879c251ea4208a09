"""A small case register for the list, the map and the collection: three units (a district, a town under it,
another district), an editor of the district, a viewer and an inspector who sign in with passwords, and nine
cases in every status, one with a hostile title, two overdue, a few inside the Green Heart.

Committed (the app reads on its own connections) and removed again afterwards by the owner role (the app
role may not delete cases).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.web.conftest import WebUser, make_user, signed_in

TAG = f"cl{os.getpid()}"
HOSTILE = "<script>alert('x')</script>绿心违建"
TODAY = date.today()

# key: (kind, title, status, unit key, severity, city, verdict, found days ago, deadline in days (None: none), lon, lat)
CASES = {
    "a": ("巡查发现", "绿心核心区新建厂房", "交办", "district", "严重", "株洲市", "prohibited", 40, -5, 113.05, 27.80),
    "b": ("违法违规", HOSTILE, "整改中", "town", "较重", "株洲市", "needs_approval", 30, -1, 113.06, 27.81),
    "c": ("督察问题", "湘江岸线整治滞后", "整改中", "district", "一般", "株洲市", "outside", 20, 30, 113.10, 27.85),
    "d": ("巡查发现", "清水塘渣土堆放", "申请销号", "other", "一般", "湘潭市", "outside", 15, 20, 112.95, 27.85),
    "e": ("巡查发现", "非法采砂", "销号", "other", "严重", "长沙市", "allowed", 60, 10, 113.00, 28.10),
    "f": ("违法违规", "重复登记的案件", "撤销", "district", "一般", "株洲市", None, 10, None, 113.11, 27.86),
    "g": ("巡查发现", "未交办的新发现", "登记", None, "一般", "长沙市", "outside", 2, None, 112.98, 28.20),
    "h": ("督察问题", "月报未按时上报", "交办", "town", "一般", "株洲市", "outside", 5, 25, 113.12, 27.83),
    "i": ("违法违规", "生态红线内开挖", "整改中", "other", "严重", "湘潭市", "prohibited", 50, 40, 112.90, 27.80),
}


@dataclass
class CaseWorld:
    ids: dict[str, int]
    units: dict[str, int]
    editor: WebUser  # of the district (so: the district's and the town's cases)
    viewer: WebUser
    inspector: WebUser

    def keys(self, ids: list[int]) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        return {back[i] for i in ids if i in back}


def number(key: str) -> str:
    return f"测试〔{TAG}〕{key}号"


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine) -> Iterator[CaseWorld]:
    from service.database import session_scope
    from service.units import usecases as units

    unit_ids: dict[str, int] = {}
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for key, parent in (("district", None), ("town", "district"), ("other", None)):
            unit_ids[key] = conn.execute(
                text(
                    "INSERT INTO units (name, kind, city, parent_id, source)"
                    " VALUES (:n, 'government', '株洲市', :p, 'test') RETURNING id"
                ),
                {"n": f"案件测试{key}{TAG}", "p": unit_ids.get(parent or "")},
            ).scalar_one()
        for key, (kind, title, status, unit, sev, city, verdict, ago, due, lon, lat) in CASES.items():
            found = TODAY - timedelta(days=ago)
            ids[key] = conn.execute(
                text(
                    "INSERT INTO cases (number, kind, title, geom, position_source, city, found_on, found_by,"
                    " responsible_unit_id, deadline, severity, status, verdict)"
                    " VALUES (:number, :kind, :title, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'gps', :city,"
                    " :found, 'test-inspector', :unit, :deadline, :sev, :status, :verdict) RETURNING id"
                ),
                {
                    "number": number(key),
                    "kind": kind,
                    "title": title,
                    "lon": lon,
                    "lat": lat,
                    "city": city,
                    "found": found,
                    "unit": unit_ids[unit] if unit else None,
                    "deadline": None if due is None else TODAY + timedelta(days=due),
                    "sev": sev,
                    "status": status,
                    "verdict": verdict,
                },
            ).scalar_one()
    editor = make_user(f"{TAG}-editor", "editor")
    viewer = make_user(f"{TAG}-viewer", "viewer")
    inspector = make_user(f"{TAG}-inspector", "inspector")
    with session_scope() as session:
        units.assign_user(session, "test", editor.name, unit_ids["district"])
    try:
        yield CaseWorld(ids, unit_ids, editor, viewer, inspector)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM cases WHERE number LIKE :p"), {"p": f"测试〔{TAG}〕%"})
            conn.execute(text("UPDATE users SET unit_id = NULL WHERE name LIKE :p"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM units WHERE name LIKE :p"), {"p": f"案件测试%{TAG}"})


@pytest.fixture
def browsers(app: FastAPI, world: CaseWorld) -> Iterator[dict[str, TestClient]]:
    clients = {role: signed_in(app, getattr(world, role)) for role in ("editor", "viewer", "inspector")}
    try:
        yield clients
    finally:
        for c in clients.values():
            c.close()
