"""Geocoder rules on a small hand-made gazetteer: longest match, shared suffixes, context, seats, precision."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.geocoding.gazetteer import load_gazetteer
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import geometry_geojson, resolve


@pytest.fixture(scope="module")
def matcher(gazetteer_db: Engine) -> Matcher:
    with Session(gazetteer_db) as session:
        return Matcher(load_gazetteer(session))


def names(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(x.place.layer, x.place.name) for x in result.locations]


def test_every_road_of_a_list_is_found_with_its_span(matcher: Matcher) -> None:
    text = "加快推进株冶路、清雨路、清霞路实质性开工建设"
    result = resolve(matcher, text, city="株洲市")
    assert names(result) == [("roads", "株冶路"), ("roads", "清雨路"), ("roads", "清霞路")]
    first = result.locations[0]
    assert first.span == (4, 7) and text[4:7] == "株冶路"
    assert result.precision == 1 and result.status == "auto"


def test_shared_suffix_is_expanded(matcher: Matcher) -> None:
    text = "完成清水、铜霞片区土壤治理项目。"
    result = resolve(matcher, text, city="株洲市")
    assert names(result) == [("qingshuitang", "清水片区"), ("qingshuitang", "铜霞片区")]
    expanded = result.locations[0]
    assert text[expanded.span[0] : expanded.span[1]] == "清水"
    assert expanded.confidence < result.locations[1].confidence


def test_plant_phase_is_matched_to_the_plant(matcher: Matcher) -> None:
    result = resolve(matcher, "启动河西污水处理厂二期建设", city="株洲市")
    assert names(result) == [("sewage_plants", "河西污水处理厂")]


def test_same_name_is_settled_by_the_city_named_nearby(matcher: Matcher) -> None:
    in_changsha = resolve(matcher, "推进长沙雨花区建设路改造", city="株洲市")
    assert [x.place.key for x in in_changsha.locations] == ["jianshe-cs"]
    by_plan_city = resolve(matcher, "推进建设路改造", city="株洲市")
    assert [x.place.key for x in by_plan_city.locations] == ["jianshe-zz"]
    assert by_plan_city.locations[0].confidence < in_changsha.locations[0].confidence


def test_same_name_without_any_context_goes_to_review(matcher: Matcher) -> None:
    result = resolve(matcher, "推进建设路改造", city=None)
    assert result.locations == [] or all(x.method == "seat" for x in result.locations)
    assert result.status == "review"
    assert [m.surface for m in result.ambiguous] == ["建设路"]


def test_longest_match_and_stop_phrases_win(matcher: Matcher) -> None:
    result = resolve(matcher, "市清水塘投资集团负责", city="株洲市", lead_units=["清水塘投资集团"])
    assert all(x.place.layer != "qingshuitang" for x in result.locations)
    whole = resolve(matcher, "清水塘老工业区搬迁", city="株洲市")
    assert names(whole) == [("qingshuitang", "清水塘")]
    assert whole.locations[0].matched_text == "清水塘老工业区"


def test_admin_unit_alone_gives_its_polygon_and_code_3(matcher: Matcher) -> None:
    result = resolve(matcher, "在石峰区开展垃圾分类试点", city="株洲市")
    assert names(result) == [("districts", "石峰区")]
    assert result.precision == 3 and result.locations[0].method == "admin"


def test_named_feature_beats_the_admin_unit_that_frames_it(matcher: Matcher) -> None:
    result = resolve(matcher, "石峰区株冶路", city="株洲市")
    assert names(result) == [("roads", "株冶路")]


def test_plan_city_alone_is_context_so_the_seat_is_used(matcher: Matcher) -> None:
    result = resolve(matcher, "争取株洲利益最大化,完成株洲规划", city="株洲市", lead_units=["市两型办"])
    assert names(result) == [("sites", "株洲市人民政府")]
    assert result.precision == 8 and result.locations[0].method == "seat" and result.status == "auto"


def test_province_unit_gets_the_province_seat(matcher: Matcher) -> None:
    result = resolve(matcher, "健全改革推进机制", city=None, lead_units=["省财政厅"])
    assert names(result) == [("sites", "湖南省人民政府")] and result.precision == 8


def test_traditional_script_is_matched(matcher: Matcher) -> None:
    result = resolve(matcher, "推進湘江流域管理", city=None)
    assert names(result) == [("streams", "湘江")]
    assert result.precision == 5  # a basin is "along a river", not the river line


def test_green_heart_is_the_union_of_its_current_subzones(matcher: Matcher, gazetteer_db: Engine) -> None:
    result = resolve(matcher, "加强绿心巡查", city="株洲市")
    assert names(result) == [("green_heart", "长株潭生态绿心")]
    with Session(gazetteer_db) as session:
        geometry = geometry_geojson(session, [x.place for x in result.locations])
    assert geometry is not None and geometry["type"] in ("Polygon", "MultiPolygon")


def test_mixed_features_make_a_geometry_collection(matcher: Matcher, gazetteer_db: Engine) -> None:
    result = resolve(matcher, "株冶路和河西污水处理厂", city="株洲市")
    with Session(gazetteer_db) as session:
        geometry = geometry_geojson(session, [x.place for x in result.locations])
    assert geometry is not None and geometry["type"] == "GeometryCollection"
    assert len(geometry["geometries"]) == 2


def test_unknown_road_shaped_words_are_reported_for_review(matcher: Matcher) -> None:
    result = resolve(matcher, "在基本完成盘龙路、玉龙路等主干道建设的同时", city="株洲市", lead_units=["市住建局"])
    assert [u["text"] for u in result.unresolved] == ["盘龙路", "玉龙路"]
    assert result.status == "review"


def test_text_naming_nothing_finds_nothing(matcher: Matcher) -> None:
    found = matcher.find("建立绿色信贷评估办法,构建绿色金融联合服务监测体系,建立红、白、黑名单制度。", "株洲市")
    assert found.matches == [] and found.unresolved == []
