"""A small evaluation world: the progress world's five tasks led by four tagged units, milestones on one,
reports on two, and three cases of one unit, so the scoreboard can be worked out by hand (see the tests).

At 2018-09-30:
- 住建{tag} leads ``line`` (milestones 开工 by 03-31 at 5 %, 主体完工 by 09-30 at 80 %; reported 30 % in April:
  正常推进, the 80 % milestone counts from 1 October) and ``city`` (reported 已完成 in August);
- 城管{tag} leads ``line`` too; 发改{tag} leads ``point`` (deadline 06-30, no report: 应开工未开工);
  林业{tag} leads ``area`` (no deadline, no milestone, no report: 正常推进); ``nowhere`` names no unit;
- 住建{tag}'s cases: one found 03-01, due 05-01, closed 04-20 (on time); a 违法违规 found 06-01, due 07-01,
  closed 08-10 (late); a 违法违规 found 09-01, due 10-31, open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, text

from tests.case_reports.conftest import CST, add_event, insert_case, point_in
from tests.progress.world import World, build_world, drop_world, post_reports

MILESTONES = [
    {"name": "开工", "due": "2018-03-31", "planned_percent": 5, "starts_work": True},
    {"name": "主体完工", "due": "2018-09-30", "planned_percent": 80},
    {"name": "竣工验收", "due": "2018-12-31", "planned_percent": 100},
]


@dataclass
class EvaluationWorld:
    world: World
    tag: str
    units: dict[str, str]  # short key -> unit name
    unit_id: int
    case_ids: list[int]

    @property
    def plan(self) -> str:
        return self.world.plan


def build(engine: Engine, owner: Engine, client, auth, tag: str) -> EvaluationWorld:  # type: ignore[no-untyped-def]
    world = build_world(engine, tag)
    units = {"zj": f"住建{tag}", "cg": f"城管{tag}", "fg": f"发改{tag}", "ly": f"林业{tag}"}
    leads = {"line": [units["zj"], units["cg"]], "city": [units["zj"]], "point": [units["fg"]], "area": [units["ly"]]}
    with engine.begin() as conn:
        for key, names in leads.items():
            conn.execute(text("UPDATE projects SET lead_units = :u WHERE id = :id"), {"u": names, "id": world.ids[key]})
    with owner.begin() as conn:
        unit_id = conn.execute(
            text("INSERT INTO units (name, kind, city) VALUES (:n, 'department', '株洲市') RETURNING id"),
            {"n": units["zj"]},
        ).scalar_one()
        wkt = point_in(conn, "株洲市")
        specs = [
            ("巡查发现", date(2018, 3, 1), date(2018, 5, 1), date(2018, 4, 20)),
            ("违法违规", date(2018, 6, 1), date(2018, 7, 1), date(2018, 8, 10)),
            ("违法违规", date(2018, 9, 1), date(2018, 10, 31), None),
        ]
        case_ids = []
        for n, (kind, found, deadline, closed) in enumerate(specs):
            cid = insert_case(
                conn,
                number=f"评估测试〔{tag}〕{n}号",
                kind=kind,
                title=f"评估测试案件{n}",
                wkt=wkt,
                city="株洲市",
                found_on=found,
                responsible_unit_id=unit_id,
                deadline=deadline,
                status="销号" if closed else "整改中",
                closed_at=datetime(closed.year, closed.month, closed.day, 10, tzinfo=CST) if closed else None,
            )
            add_event(conn, cid, "登记", found, "register", None)
            add_event(conn, cid, "交办", found, "assign", "登记")
            add_event(conn, cid, "整改中", found, "start", "交办")
            if closed:
                add_event(conn, cid, "销号", closed, "accept", "整改中")
            case_ids.append(cid)
    r = client.put(
        f"/projects/{world.ids['line']}/milestones", json={"milestones": MILESTONES}, headers=auth["coordinator"]
    )
    assert r.status_code == 200, r.text
    post_reports(client, auth, world.ids["line"], [{"period": "2018-04", "status": "推进中", "percent": 30}])
    post_reports(client, auth, world.ids["city"], [{"period": "2018-08", "status": "已完成", "percent": 100}])
    return EvaluationWorld(world, tag, units, unit_id, case_ids)


def drop(engine: Engine, owner: Engine, built: EvaluationWorld) -> None:
    """Remove the world and the evaluations of its plan (the owner may; the service's role may not)."""
    with owner.begin() as conn:
        ids = conn.execute(text("SELECT id FROM evaluations WHERE plan_id = :p"), {"p": built.plan}).scalars().all()
        conn.execute(text("DELETE FROM evaluation_files WHERE evaluation_id = ANY(:ids)"), {"ids": list(ids)})
        conn.execute(text("DELETE FROM evaluations WHERE id = ANY(:ids)"), {"ids": list(ids)})
        conn.execute(text("DELETE FROM case_events WHERE case_id = ANY(:ids)"), {"ids": built.case_ids})
        conn.execute(text("DELETE FROM cases WHERE id = ANY(:ids)"), {"ids": built.case_ids})
        conn.execute(text("DELETE FROM units WHERE id = :id"), {"id": built.unit_id})
    drop_world(engine, built.world)
