"""Issue 19's matcher rules on the small gazetteer plus a sample of the official hierarchy.

Townships and villages resolve to their county's polygon at precision 3 with their own code; homonyms are
settled by the county, township or city named, else by the plan's city, else sent to review; a name
extended by a place suffix is another place; a place-shaped word the gazetteer lacks is reported.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service.geocoding.gazetteer import load_gazetteer
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import geometry_geojson, resolve
from service.geocoding.usecases import geocode_text
from tests.geocoding import divisions_data

divisions_db = divisions_data.divisions_db  # the module's fixture


@pytest.fixture(scope="module")
def matcher(divisions_db: Engine) -> Matcher:
    with Session(divisions_db) as session:
        return Matcher(load_gazetteer(session))


def located(result) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(x.place.layer, x.place.key, x.method) for x in result.locations]


def reported(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(str(u["text"]), str(u["reason"])) for u in result.unresolved]


def test_a_township_is_its_county_polygon_with_its_own_code(matcher: Matcher, divisions_db: Engine) -> None:
    result = resolve(matcher, "推进雷打石镇农村人居环境整治试点", city="株洲市", lead_units=["市农业农村局"])
    assert located(result) == [("admin_divisions", "430211102", "admin_division")]
    township = result.locations[0]
    assert township.precision == 3 and township.place.exactness == 2 and township.place.location_class == 1
    assert township.note == "乡镇无边界数据，按所在区县定位" and township.span == (2, 6)
    assert result.precision == 3 and result.status == "auto"
    with Session(divisions_db) as session:
        county = session.execute(text("SELECT ST_AsGeoJSON(geom, 6) FROM districts WHERE adcode = '430211'")).scalar()
        assert geometry_geojson(session, [township.place]) == json.loads(county)


def test_the_answer_says_how_a_township_was_located(divisions_db: Engine) -> None:
    with Session(divisions_db) as session:
        answer = geocode_text(session, "完成栗雨街道建成区雨污分流改造", "株洲", "市住建局")
    assert answer["precision"] == 3 and answer["status"] == "auto"
    (match,) = answer["matches"]
    assert match["method"] == "admin_division" and match["admin_code"] == "430211003"
    assert match["name"] == "栗雨街道" and match["note"] == "乡镇无边界数据，按所在区县定位"
    assert answer["geometry"]["type"] == "MultiPolygon"


def test_its_city_and_county_only_frame_a_township(matcher: Matcher) -> None:
    result = resolve(matcher, "株洲市天元区雷打石镇胜塘村污水处理", city="株洲市")
    assert located(result) == [
        ("admin_divisions", "430211102", "admin_division"),
        ("admin_divisions", "430211102201", "admin_division"),
    ]
    assert result.locations[1].note == "村（社区）无边界数据，按所在区县定位"


def test_a_homonymous_street_is_settled_by_the_plan_city(matcher: Matcher) -> None:
    in_zhuzhou = resolve(matcher, "推进清水塘街道老旧小区改造", city="株洲市")
    assert located(in_zhuzhou) == [("admin_divisions", "430204003", "admin_division")]
    assert in_zhuzhou.status == "auto"  # the plan's city settles it (confidence 0.8, not below review)
    nowhere = resolve(matcher, "推进清水塘街道老旧小区改造", city=None)
    assert nowhere.status == "review" and [m.surface for m in nowhere.ambiguous] == ["清水塘街道"]
    # 开福区's 清水塘街道 is known, but its county has no polygon in this gazetteer: reported, not guessed
    in_changsha = resolve(matcher, "推进清水塘街道老旧小区改造", city="长沙市")
    assert in_changsha.status == "review"
    assert reported(in_changsha) == [("清水塘街道", "no_boundary")]
    assert in_changsha.unresolved[0]["admin_code"] == "430105003"


def test_a_village_is_settled_by_the_township_named_before_it(matcher: Matcher) -> None:
    unsettled = resolve(matcher, "推进长兴村美丽屋场建设", city="株洲市")  # one in 荷塘区, one in 天元区
    assert unsettled.status == "review" and [m.surface for m in unsettled.ambiguous] == ["长兴村"]
    settled = resolve(matcher, "推进栗雨街道长兴村美丽屋场建设", city="株洲市")
    assert ("admin_divisions", "430211003201", "admin_division") in located(settled)
    assert settled.status == "auto"


def test_a_division_of_another_city_goes_to_review_unless_the_text_names_it(matcher: Matcher) -> None:
    foreign = resolve(matcher, "推进跳马镇生态旅游开发", city="株洲市")
    assert foreign.status == "review" and reported(foreign) == [("跳马镇", "other_city")]
    named = resolve(matcher, "推进长沙市跳马镇生态旅游开发", city="株洲市")
    assert located(named) == [("admin_divisions", "430111101", "admin_division")]
    assert named.status == "auto"


def test_a_name_extended_by_a_place_suffix_is_another_place(matcher: Matcher) -> None:
    result = resolve(matcher, "支持湘江新区开展绿色发展先行先试", city="长沙市")
    assert all(x.place.layer != "streams" for x in result.locations)
    assert reported(result) == [("湘江新区", "extended_name")] and result.status == "review"
    plants = resolve(matcher, "完成天元区、石峰区污水处理厂提标改造", city="株洲市")
    assert ("石峰区污水处理厂", "extended_name") in reported(plants) and plants.status == "review"
    urban = resolve(matcher, "株洲市区建设路改造", city="株洲市")  # 市区: the city's urban area, not a place
    assert [x.place.key for x in urban.locations] == ["jianshe-zz"] and urban.status == "auto"


@pytest.mark.parametrize(
    ("task", "word"),
    [
        ("推进捞刀河流域综合治理", "捞刀河"),
        ("完成周边泰山路提质改造", "泰山路"),
        ("配合推进黄花机场改扩建工程", "黄花机场"),
        ("推进栗雨工业园标准厂房建设", "栗雨工业园"),
        ("完成仙庾岭景区森林质量精准提升", "仙庾岭"),
        ("加强神农谷国家森林公园保护", "神农谷国家森林公园"),
        ("推进金霞经济开发区现代物流集聚区建设", "金霞经济开发区"),
        ("推进资江干流岸线整治", "资江"),
        ("启动万丰湖水环境提质工程", "万丰湖"),
    ],
)
def test_a_place_shaped_word_the_gazetteer_lacks_is_reported(matcher: Matcher, task: str, word: str) -> None:
    result = resolve(matcher, task, city="株洲市", lead_units=["市住建局"])
    assert result.status == "review"
    assert (word, "not_in_gazetteer") in reported(result), reported(result)


@pytest.mark.parametrize(
    "task",
    [
        "全面推行河长制,建立市、区县(市)、乡镇(街道)、村(社区)四级河长体系",
        "加快特色小镇建设,打造一批农业产业强镇",
        "开展两型示范单位创建,评选一批两型社区",
        "建立农村生活垃圾收运处置体系,实现行政村全覆盖",
        "推进工业固体废物综合利用,搬迁改造数字化工厂",
        "完成十园十湖一江八港提质",
    ],
)
def test_common_words_that_end_like_places_are_not_reported(matcher: Matcher, task: str) -> None:
    result = resolve(matcher, task, city="株洲市", lead_units=["市住建局"])
    assert result.unresolved == [] and result.status == "auto"


def test_a_shared_suffix_member_the_gazetteer_lacks_is_reported(matcher: Matcher) -> None:
    result = resolve(matcher, "启动龙泉、河西污水处理厂扩容改造", city="株洲市")
    assert [x.place.key for x in result.locations] == ["hexi"]
    assert reported(result) == [("龙泉污水处理厂", "shared_suffix")] and result.status == "review"
