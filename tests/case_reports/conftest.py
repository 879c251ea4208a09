"""A small case register for the notices and figures: cases inserted with SQL (the register's use cases are
another branch's), with their timelines, in two 株洲 units and 长沙; an editor of 石峰区, an inspector and a
viewer who sign in with passwords.  Committed (the app reads on its own connections), removed afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.web.conftest import WebUser, make_user
from tests.web.conftest import signed_in_browser as signed_in

TAG = f"cr{os.getpid()}"
CST = timezone(timedelta(hours=8))
HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://x","y") 违建'


def point_in(conn: Connection, city: str, inside_green_heart: bool = True) -> str:
    """A point (WKT) in one of ``city``'s districts, inside the Green Heart in force today when asked."""
    heart = (
        "JOIN green_heart g ON ST_Intersects(g.geom, d.geom) AND g.valid_to IS NULL"
        if inside_green_heart
        else "LEFT JOIN green_heart g ON FALSE"
    )
    shape = "ST_Intersection(d.geom, g.geom)" if inside_green_heart else "d.geom"
    return conn.execute(
        text(
            f"SELECT ST_AsText(ST_PointOnSurface({shape})) FROM districts d {heart}"
            " WHERE d.city = :city AND d.source <> 'test' ORDER BY d.adcode LIMIT 1"
        ),
        {"city": city},
    ).scalar_one()


def insert_case(conn: Connection, **values: Any) -> int:
    """One case row (the register's own use cases live on another branch); returns its id."""
    row = {
        "description": "",
        "position_source": "gps",
        "found_by": f"{TAG}-insp",
        "responsible_unit_id": None,
        "deadline": None,
        "severity": "一般",
        "status": "登记",
        "closed_at": None,
        **values,
    }
    return conn.execute(
        text(
            "INSERT INTO cases (number, kind, title, description, geom, position_source, city, found_on, found_by,"
            " responsible_unit_id, deadline, severity, status, closed_at)"
            " VALUES (:number, :kind, :title, :description, ST_GeomFromText(:wkt, 4326), :position_source, :city,"
            " :found_on, :found_by, :responsible_unit_id, :deadline, :severity, :status, :closed_at) RETURNING id"
        ),
        row,
    ).scalar_one()


def add_event(conn: Connection, case_id: int, to_status: str, on: date, action: str, from_status: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO case_events (case_id, action, from_status, to_status, actor, at)"
            " VALUES (:c, :a, :f, :t, :actor, :at)"
        ),
        {
            "c": case_id,
            "a": action,
            "f": from_status,
            "t": to_status,
            "actor": f"{TAG}-insp",
            "at": datetime(on.year, on.month, on.day, 10, 0, tzinfo=CST),
        },
    )


@dataclass
class CaseWorld:
    ids: dict[str, int]
    numbers: dict[str, str]
    units: dict[str, int]
    editor: WebUser  # of 株洲市石峰区人民政府
    inspector: WebUser
    viewer: WebUser


# key: kind, title, city, unit, found_on, deadline, severity, the timeline (status, day) after 登记
CASES: dict[str, tuple[str, str, str, str | None, date, date | None, str, list[tuple[str, date]]]] = {
    # overdue from 2025-04-01 until closed on 2025-05-10
    "late": (
        "违法违规",
        HOSTILE,
        "株洲市",
        "shifeng",
        date(2025, 3, 1),
        date(2025, 4, 1),
        "一般",
        [("交办", date(2025, 3, 2)), ("整改中", date(2025, 3, 5)), ("销号", date(2025, 5, 10))],
    ),
    # severe, deadline far off: listed for its severity, 0 days overdue
    "severe": (
        "巡查发现",
        "绿心核心区新建厂房",
        "株洲市",
        "luosong",
        date(2025, 4, 1),
        date(2025, 12, 31),
        "严重",
        [("交办", date(2025, 4, 2))],
    ),
    # overdue but withdrawn on 2025-04-20: listed before that day, not after
    "withdrawn": (
        "督察问题",
        "整改台账不全",
        "株洲市",
        "luosong",
        date(2025, 3, 1),
        date(2025, 3, 31),
        "较重",
        [("交办", date(2025, 3, 2)), ("撤销", date(2025, 4, 20))],
    ),
    # registered, not assigned, severe: listed under no unit
    "unassigned": ("违法违规", "岳麓区非法采砂", "长沙市", None, date(2025, 4, 10), None, "严重", []),
    # overdue, submitted for 核查: still open, still listed
    "submitted": (
        "违法违规",
        "石峰区违规填塘",
        "株洲市",
        "shifeng",
        date(2025, 2, 1),
        date(2025, 3, 1),
        "较重",
        [("交办", date(2025, 2, 2)), ("申请销号", date(2025, 4, 1))],
    ),
}


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine) -> Iterator[CaseWorld]:
    from service.database import session_scope
    from service.units import usecases as units

    with session_scope() as session:
        unit_ids = {
            "shifeng": units.find_unit_id(session, "株洲市石峰区人民政府"),
            "luosong": units.find_unit_id(session, "株洲市芦淞区人民政府"),
        }
    editor = make_user(f"{TAG}-shifeng", "editor")
    inspector = make_user(f"{TAG}-insp", "inspector")
    viewer = make_user(f"{TAG}-viewer", "viewer")
    with session_scope() as session:
        units.assign_user(session, "test", editor.name, unit_ids["shifeng"])
    ids: dict[str, int] = {}
    numbers: dict[str, str] = {}
    with engine.begin() as conn:
        for n, (key, (kind, title, city, unit, found, deadline, severity, timeline)) in enumerate(CASES.items()):
            numbers[key] = f"测〔2025〕{TAG}-{n:02d}号"
            status = timeline[-1][0] if timeline else "登记"
            closed = timeline[-1][1] if status == "销号" else None
            ids[key] = insert_case(
                conn,
                number=numbers[key],
                kind=kind,
                title=title,
                wkt=point_in(conn, city),
                city=city,
                found_on=found,
                responsible_unit_id=unit_ids[unit] if unit else None,
                deadline=deadline,
                severity=severity,
                status=status,
                closed_at=datetime(closed.year, closed.month, closed.day, 10, tzinfo=CST) if closed else None,
            )
            add_event(conn, ids[key], "登记", found, "register", None)
            before = "登记"
            for to, on in timeline:
                add_event(
                    conn,
                    ids[key],
                    to,
                    on,
                    {"交办": "assign", "整改中": "start", "申请销号": "submit", "销号": "accept", "撤销": "withdraw"}[
                        to
                    ],
                    before,
                )
                before = to
    try:
        yield CaseWorld(ids, numbers, unit_ids, editor, inspector, viewer)
    finally:
        remove_cases(owner_engine, list(ids.values()))
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


def remove_cases(owner_engine: Engine, ids: list[int]) -> None:
    """The owner may delete (the application role may not): the test's rows only."""
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM case_files WHERE case_id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM case_events WHERE case_id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM cases WHERE id = ANY(:ids)"), {"ids": ids})


@pytest.fixture
def inspector_browser(app: FastAPI, world: CaseWorld) -> Iterator[TestClient]:
    yield from signed_in(app, world.inspector)


@pytest.fixture
def editor_browser(app: FastAPI, world: CaseWorld) -> Iterator[TestClient]:
    yield from signed_in(app, world.editor)


@pytest.fixture
def viewer_browser(app: FastAPI, world: CaseWorld) -> Iterator[TestClient]:
    yield from signed_in(app, world.viewer)
