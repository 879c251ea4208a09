"""The rules are data: every scheme and sub-zone gives the verdicts of its file, a new scheme needs no code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import shapely
import yaml

from service.screening.rules import RulesError, load_rules
from service.settings import PROJECT_ROOT
from tests.screening.conftest import ScreeningZones, metric_point

# (date, point in metres from the centre, sub-zone, category, verdict, needs approval by contains)
CASES = [
    ("2018-06-01", (0, 0), "禁止开发区", None, "prohibited", None),
    ("2018-06-01", (0, 0), "禁止开发区", "ecological_restoration", "allowed", None),
    ("2018-06-01", (0, 0), "禁止开发区", "道路", "needs_approval", "省人民政府"),
    ("2018-06-01", (0, 0), "禁止开发区", "industrial", "prohibited", None),
    ("2018-06-01", (6000, 0), "限制开发区", None, "needs_approval", "省"),
    ("2018-06-01", (6000, 0), "限制开发区", "real_estate", "prohibited", None),
    ("2018-06-01", (6000, 0), "限制开发区", "片石场", "prohibited", None),
    ("2018-06-01", (10000, 0), "控制建设区", None, "needs_approval", "市人民政府"),
    ("2018-06-01", (10000, 0), "控制建设区", "farmland", "allowed", None),
    ("2018-06-01", (10000, 0), "控制建设区", "industrial", "prohibited", None),
    ("2025-06-01", (0, 0), "核心保护区", None, "prohibited", None),
    ("2025-06-01", (0, 0), "核心保护区", "高标准农田", "allowed", None),
    ("2025-06-01", (0, 0), "核心保护区", "村民住宅", "needs_approval", "省"),
    ("2025-06-01", (0, 0), "核心保护区", "leisure", "needs_approval", "省"),
    ("2025-06-01", (0, 0), "核心保护区", "commercial", "prohibited", None),
    ("2025-06-01", (6000, 0), "融合发展区", None, "needs_approval", "备案"),
    ("2025-06-01", (6000, 0), "融合发展区", "commercial", "needs_approval", "市人民政府准入"),
    ("2025-06-01", (6000, 0), "融合发展区", "industrial", "prohibited", None),
    ("2025-06-01", (6000, 0), "融合发展区", "关停退出", "allowed", None),
]


@pytest.mark.parametrize(("on", "offset", "subzone", "category", "verdict", "by"), CASES)
def test_verdict_per_scheme_subzone_and_category(
    client, auth, zones: ScreeningZones, on, offset, subzone, category, verdict, by
) -> None:  # type: ignore[no-untyped-def]
    body = {"geometry": shapely.geometry.mapping(metric_point(*offset)), "date": on}
    if category:
        body["category"] = category
    answer = client.post("/screening", json=body, headers=auth["inspector"]).json()
    [hit] = [z for e in answer["layers"] for z in e["zones"] if z["zone_key"].startswith("t7-")]
    assert (hit["subzone"], hit["verdict"]) == (subzone, verdict)
    assert hit["clause"]
    if by:
        assert by in hit["needs_approval_by"]
    else:
        assert hit["needs_approval_by"] is None


def test_test_qingshuitang_zone_uses_its_rules(client, auth, zones: ScreeningZones) -> None:
    body = {"geometry": shapely.geometry.mapping(metric_point(-6000, 0)), "date": "2020-01-01", "category": "化工"}
    answer = client.post("/screening", json=body, headers=auth["inspector"]).json()
    [hit] = [z for e in answer["layers"] if e["layer"] == "qingshuitang" for z in e["zones"] if z["inside"]]
    assert hit["verdict"] == "prohibited" and hit["rules_file"] == "geodata/rules/qingshuitang/relocation.yaml"


def test_every_bundled_scheme_has_rules_for_its_subzones(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    rules = load_rules()
    with engine.connect() as conn:
        found = conn.execute(text("SELECT DISTINCT scheme, subzone, valid_from FROM green_heart")).all()
    for scheme, subzone, valid_from in found:
        book = rules.scheme("green_heart", scheme, valid_from)
        assert book is not None, scheme
        assert subzone in book.subzones, (scheme, subzone)
        assert book.valid_from == valid_from, scheme


def test_category_inference_prefers_closure_over_what_is_closed() -> None:
    rules = load_rules()
    assert rules.infer("做好3个片石场项目关闭退出的后续处理工作").id == "closure_remediation"
    assert rules.infer("按照中央环保督察整改的要求,做好违法违规项目的后续整改工作").id == "closure_remediation"
    assert rules.infer("新建片石场").id == "mining"
    assert rules.infer("完成火毁林复绿和荒山新造林2000亩以上").id == "ecological_restoration"
    assert rules.infer("召开会议") is None


def test_a_new_scheme_is_a_new_file(tmp_path: Path) -> None:
    source = PROJECT_ROOT / "geodata" / "rules"
    (tmp_path / "green_heart").mkdir()
    (tmp_path / "categories.yaml").write_text((source / "categories.yaml").read_text("utf-8"), "utf-8")
    new = {
        "layer": "green_heart",
        "scheme": "2040",
        "regulation": "假想的 2040 条例",
        "valid_from": "2040-01-01",
        "subzones": {"生态区": {"default": {"verdict": "needs_approval", "by": "省", "clause": "测试"}}},
    }
    (tmp_path / "green_heart" / "2040.yaml").write_text(yaml.safe_dump(new, allow_unicode=True), "utf-8")
    book = load_rules(tmp_path)
    scheme = book.scheme("green_heart", "2040", date(2041, 1, 1))
    assert scheme is not None and scheme.verdict_for("生态区", "unspecified").verdict == "needs_approval"


def test_a_rule_without_clause_or_authority_is_refused(tmp_path: Path) -> None:
    source = PROJECT_ROOT / "geodata" / "rules"
    (tmp_path / "x").mkdir()
    (tmp_path / "categories.yaml").write_text((source / "categories.yaml").read_text("utf-8"), "utf-8")
    bad = {
        "layer": "x",
        "scheme": "1",
        "regulation": "r",
        "subzones": {"a": {"default": {"verdict": "needs_approval", "clause": "c"}}},
    }
    (tmp_path / "x" / "1.yaml").write_text(yaml.safe_dump(bad), "utf-8")
    with pytest.raises(RulesError, match="must say 'by' whom"):
        load_rules(tmp_path)
