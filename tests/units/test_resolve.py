"""Resolving unit strings against the bundled register: names, aliases, renames by date, groups, near-misses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service.units import usecases

PLAN_2018 = date(2018, 3, 31)


def _one(session: Session, name: str, city: str | None, on: date) -> int:
    found = usecases.resolve_name(session, name, city, on)
    assert found["resolved"], found
    [unit] = found["units"]
    return unit["id"]


def test_canonical_name_and_short_name_are_the_same_unit(rolled_back_session: Session) -> None:
    canonical = _one(rolled_back_session, "株洲市发展和改革委员会", None, PLAN_2018)
    assert _one(rolled_back_session, "市发改委", "株洲市", PLAN_2018) == canonical
    assert _one(rolled_back_session, "株洲市发改委", "长沙市", PLAN_2018) == canonical  # absolute anywhere
    # 市发改委 in a Changsha plan is Changsha's, not Zhuzhou's
    changsha = _one(rolled_back_session, "市发改委", "长沙市", PLAN_2018)
    assert changsha != canonical
    assert usecases.get_unit(rolled_back_session, changsha)["name"] == "长沙市发展和改革委员会"


def test_renamed_unit_is_one_unit_across_years(rolled_back_session: Session) -> None:
    in_2018 = _one(rolled_back_session, "市环保局", "株洲市", PLAN_2018)
    in_2020 = _one(rolled_back_session, "市生态环境局", "株洲市", date(2020, 3, 1))
    assert in_2018 == in_2020
    assert usecases.get_unit(rolled_back_session, in_2018)["name"] == "株洲市生态环境局"
    # the old name is not in use after the rename: flagged, pointing at the unit it became
    late = usecases.resolve_name(rolled_back_session, "市环保局", "株洲市", date(2020, 3, 1))
    assert not late["resolved"] and "2019-01-01" in late["reason"]
    assert late["suggestions"][0]["unit_id"] == in_2018


def test_county_renamed_district_keeps_its_unit(rolled_back_session: Session) -> None:
    county = _one(rolled_back_session, "株洲县人民政府", "株洲市", PLAN_2018)
    assert county == _one(rolled_back_session, "渌口区人民政府", "株洲市", date(2019, 1, 1))
    districts_2018 = usecases.resolve_name(rolled_back_session, "各区人民政府", "株洲市", PLAN_2018)
    counties_2018 = usecases.resolve_name(rolled_back_session, "各县市人民政府", "株洲市", PLAN_2018)
    districts_2019 = usecases.resolve_name(rolled_back_session, "各区人民政府", "株洲市", date(2019, 1, 1))
    assert county not in {u["id"] for u in districts_2018["units"]}
    assert county in {u["id"] for u in counties_2018["units"]}
    assert county in {u["id"] for u in districts_2019["units"]}


def test_near_miss_is_flagged_with_the_closest_names_and_nothing_created(rolled_back_session: Session) -> None:
    before = rolled_back_session.execute(text("SELECT count(*) FROM units")).scalar_one()
    found = usecases.resolve_name(rolled_back_session, "市住建居", "株洲市", PLAN_2018)
    assert not found["resolved"] and found["units"] == []
    assert "市住建居" in found["reason"]
    assert len(found["suggestions"]) == 3
    best = found["suggestions"][0]
    assert (best["matched"], best["unit"]) == ("市住建局", "株洲市住房和城乡建设局")
    # another city's 住建局 is not offered for a Zhuzhou plan
    assert all(s.get("unit") != "长沙市住房和城乡建设局" for s in found["suggestions"])
    assert rolled_back_session.execute(text("SELECT count(*) FROM units")).scalar_one() == before


def test_collective_names_expand_to_their_members(rolled_back_session: Session) -> None:
    zhuzhou = usecases.resolve_name(rolled_back_session, "各县市区人民政府", "株洲市", PLAN_2018)
    names = {u["name"] for u in zhuzhou["units"]}
    assert zhuzhou["via_group"] == "各县市区人民政府" and len(names) == 9
    assert {"株洲市石峰区人民政府", "醴陵市人民政府", "炎陵县人民政府", "株洲市渌口区人民政府"} <= names
    xiangtan = usecases.resolve_name(rolled_back_session, "各县市区人民政府", "湘潭市", PLAN_2018)
    assert {u["name"] for u in xiangtan["units"]} >= {"湘潭市雨湖区人民政府", "韶山市人民政府"}
    assert not names & {u["name"] for u in xiangtan["units"]}
    # with and without the closing quote, as the 2010 plan writes it both ways
    for written in ("“3+5”城市群八市人民政府", "“3+5城市群八市人民政府"):
        eight = usecases.resolve_name(rolled_back_session, written, None, date(2010, 5, 12))
        assert len(eight["units"]) == 8 and "娄底市人民政府" in {u["name"] for u in eight["units"]}


def test_a_plan_without_a_city_is_told_not_guessed(rolled_back_session: Session) -> None:
    relative = usecases.resolve_name(rolled_back_session, "市发改委", None, PLAN_2018)
    assert not relative["resolved"] and "计划未注明城市" in relative["reason"] and "no city" in relative["reason"]
    assert {s["unit"] for s in relative["suggestions"]} >= {"株洲市发展和改革委员会", "长沙市发展和改革委员会"}
    group = usecases.resolve_name(rolled_back_session, "各县市区人民政府", None, PLAN_2018)
    assert not group["resolved"] and group["units"] == [] and "no city" in group["reason"]
    # a provincial unit needs no city
    assert usecases.resolve_name(rolled_back_session, "省发改委", None, PLAN_2018)["resolved"]


def test_bundled_plans_are_linked_and_groups_never_become_units(engine: Engine) -> None:
    with engine.connect() as conn:
        linked = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pu.unit_id IS NOT NULL), count(*) FILTER (WHERE pu.unit_id IS NULL)"
                " FROM project_units pu JOIN projects p ON p.id = pu.project_id"
                " WHERE p.plan_id IN ('zhuzhou-2018', 'changzhutan-2010')"
            )
        ).one()
        as_units = conn.execute(
            text("SELECT count(*) FROM units WHERE name IN ('各县市区人民政府', '市住建居', '有关各市人民政府')")
        ).scalar_one()
        via = (
            conn.execute(
                text(
                    "SELECT DISTINCT u.name FROM project_units pu JOIN units u ON u.id = pu.unit_id"
                    " JOIN projects p ON p.id = pu.project_id"
                    " WHERE p.plan_id = 'zhuzhou-2018' AND pu.raw = '各县市区人民政府'"
                )
            )
            .scalars()
            .all()
        )
    assert linked[0] > 400 and 0 < linked[1] < 20  # the vague ones (相关区人民政府 ...) wait for a person
    assert as_units == 0
    assert "株洲市石峰区人民政府" in via and "各县市区人民政府" not in via and len(via) == 9
