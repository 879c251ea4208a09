"""The plan parser and the committed register: counts per table, rows checked by hand, targets, deadlines."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from service.common.chinese_text import extract_deadline, extract_targets, to_simplified
from service.projects.parser import parse_seeds
from service.projects.register import read_register, record_to_row

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


@pytest.fixture(scope="module")
def register() -> dict[str, object]:
    plans, records = read_register()
    return {"plans": plans, "records": records, "by_key": {r.key: r for r in records}}


def test_counts_per_plan_and_table(register) -> None:  # type: ignore[no-untyped-def]
    records = register["records"]
    parts = Counter(r.key.rsplit("/", 1)[0] for r in records)
    # counted by hand in the source: sub-items 1) 2) 3) are separate projects under their row
    assert parts == {
        "zhuzhou-2018/main": 10,
        "zhuzhou-2018/annex1": 19,
        "zhuzhou-2018/annex2": 10,
        "zhuzhou-2018/annex3": 12,
        "zhuzhou-2018/annex4": 7,
        "zhuzhou-2018/annex5": 6,
        "zhuzhou-2018/annex6": 11,
        "zhuzhou-2018/annex7": 7,
        "zhuzhou-2018/annex8": 9,
        "changzhutan-2010/items": 16,
        "changzhutan-2010/keypoints": 12,
    }
    assert len({r.key for r in records}) == len(records) == 119


def test_rows_checked_by_hand(register) -> None:  # type: ignore[no-untyped-def]
    by_key = register["by_key"]
    row = by_key["zhuzhou-2018/annex2/5.1"]
    assert row.title == "加快推进新城建设" and row.category == "清水塘搬迁改造"
    assert row.task_text.startswith("加快推进株冶路、清雨路、清霞路实质性开工建设")
    assert row.lead_units == ["清水塘投资集团"]
    assert row.responsible_units == ["市发改委", "市国土资源局", "市环保局", "市住建局", "市规划局", "市水务局"]
    assert row.targets == [{"value": 1.8, "unit": "亿元", "text": "1.8 亿元"}]
    assert row.deadline == date(2018, 12, 31) and row.deadline_text == "年内"

    # units listed once for two sub-items, a split unit cell, a lost bracket ("1完成")
    assert by_key["zhuzhou-2018/annex1/4.1"].task_text == "完成全市温室气体排放清单和低碳规划编制工作。"
    assert by_key["zhuzhou-2018/annex1/4.2"].lead_units == ["市发改委"]
    assert by_key["zhuzhou-2018/annex1/4.3"].lead_units == ["市林业局"]
    assert by_key["zhuzhou-2018/annex1/4.3"].responsible_units == ["市两型办"]
    assert by_key["zhuzhou-2018/annex1/8.1"].lead_units == ["市政府经济金融办"]
    assert by_key["zhuzhou-2018/annex3/4.2"].lead_units == ["市畜牧兽医水产局"]
    assert by_key["zhuzhou-2018/annex1/2.1"].responsible_units == []  # an empty cell

    # the repeated row "2 蓝天工程" after a page break continues the row
    assert by_key["zhuzhou-2018/annex3/2.4"].title == "蓝天工程"
    assert by_key["zhuzhou-2018/annex3/2.5"].targets[0]["value"] == 30
    # a task name split over two lines
    assert by_key["zhuzhou-2018/annex4/2"].title == "严格环保执法检查"
    assert by_key["zhuzhou-2018/annex4/3.2"].deadline == date(2018, 6, 30)  # "20186月底前"
    assert by_key["zhuzhou-2018/annex4/1"].targets[:2] == [
        {"value": 2000, "unit": "亩", "text": "2000 亩"},
        {"value": 1500, "unit": "亩", "text": "1500 亩"},
    ]
    yl = by_key["zhuzhou-2018/annex6/1.3"]
    assert yl.lead_units == ["云龙示范区管委会"] and "推定" in yl.notes
    assert [(t["value"], t["unit"]) for t in yl.targets] == [(40, "%"), (9385, "万元")]
    assert [(t["value"], t["unit"]) for t in by_key["zhuzhou-2018/annex7/2"].targets] == [(40, "km")]
    assert by_key["zhuzhou-2018/annex8/3.3"].lead_units == ["醴陵市人民政府"]

    # the 2010 items: one project per (责任单位…) clause, text back in simplified script
    item45 = by_key["changzhutan-2010/items/45.2"]
    assert item45.task_text == "出台湘江流域管理条例" and item45.lead_units == ["省政府法制办"]
    assert item45.responsible_units == ["省水利厅"]
    assert by_key["changzhutan-2010/items/49.2"].lead_units == ["湖南银监局"]
    assert by_key["changzhutan-2010/items/47"].responsible_units[-1] == "“3+5”城市群八市人民政府"
    key = by_key["changzhutan-2010/keypoints/3.1"]
    assert key.title == "突出综合交通体系建设" and key.category == "基础设施" and key.deadline == date(2010, 12, 31)
    assert "製" not in "".join(r.task_text for r in register["records"])


def test_every_row_has_a_lead_unit_and_a_known_category(register) -> None:  # type: ignore[no-untyped-def]
    from service.common.chinese_text import CATEGORIES

    for r in register["records"]:
        assert r.lead_units, r.key
        assert r.category in CATEGORIES, r.key


@pytest.mark.skipif(not SEEDS.exists(), reason="shared/seeds not beside the checkout")
def test_a_fresh_parse_equals_the_committed_register(register) -> None:  # type: ignore[no-untyped-def]
    fresh = [record_to_row(r) for r in parse_seeds(SEEDS)]
    committed = [record_to_row(r) for r in register["records"]]
    assert fresh == committed


def test_targets_and_deadlines() -> None:
    assert [(t["value"], t["unit"]) for t in extract_targets("新建颗粒物监测设备30套,完成投资8000万")] == [
        (30, "套"),
        (8000, "万"),
    ]
    assert extract_targets("2018年两型工作") == []
    assert extract_deadline("确保年底前全部退出到位", 2018) == (date(2018, 12, 31), "年底前")
    assert extract_deadline("上半年全面启动", 2018) == (date(2018, 6, 30), "上半年")
    assert extract_deadline("力争2018年6月底前全部整改到位", 2018) == (date(2018, 6, 30), "2018年6月底前")
    assert extract_deadline("建立长效机制", 2018) == (None, None)
    assert to_simplified("推進湘江流域管理") == "推进湘江流域管理"
