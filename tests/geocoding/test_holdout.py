"""The holdout of issue 19 on the test database: it holds the issue's targets (it was xfail until the matcher
was changed: 25/85 before, 85/85 after).

The holdout is the out-of-sample check the gold set cannot be (its rules were written on the gold set).
The measurement is tests/geocoding/holdout.py's, the same as the command prints; the targets are the
issue's: at least 90 % right or rightly in review, no wrong place at precision 1 or 2, no silent fallback.
The file's own shape is checked too, so an edit that breaks it is caught at once.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tests.geocoding.holdout import (
    HOLDOUT_FILE,
    REVIEW_RIGHT,
    REVIEW_WRONG,
    RIGHT,
    WRONG,
    Entry,
    format_report,
    judge,
    load_holdout,
    measure,
    span_matches,
)

ROOT = Path(__file__).resolve().parents[2]
# the composition issue 19 asks for (at least 60 texts) and the brief of the holdout gave, roughly
AT_LEAST = {
    "township": 12, "village": 6, "unknown_place": 12, "inside_name": 4, "shared_suffix": 4,
    "green_heart": 4, "no_place": 8, "control": 6,
}  # fmt: skip


def test_the_holdout_is_well_formed_and_not_taken_from_the_register() -> None:
    entries = load_holdout()
    assert len(entries) >= 70
    kinds = Counter(e.kind for e in entries)
    assert all(kinds[k] >= n for k, n in AT_LEAST.items()), kinds
    assert len({e.text for e in entries}) == len(entries), "a text appears twice"
    cities = {e.city for e in entries}
    assert {"长沙市", "湘潭市", "株洲市"} <= cities and len(cities) >= 6, cities

    with (ROOT / "geodata" / "plans" / "projects.csv").open(encoding="utf-8") as f:
        register = [row["task_text"] for row in csv.DictReader(f)]
    # no holdout text is a register task or a 16-character piece of one: the rules were written on those
    for e in entries:
        pieces = {e.text[i : i + 16] for i in range(max(1, len(e.text) - 15))}
        assert not any(p in task for task in register for p in pieces), e.text

    layer = json.loads((ROOT / "geodata" / "layers" / "districts.geojson").read_text(encoding="utf-8"))
    districts = {f["properties"]["name"] for f in layer["features"]}
    for e in entries:
        assert set(e.within) <= districts, (e.number, e.within)


def _answer(
    status: str, precision: int | None, *matches: tuple[str, str, str, str], spans: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A POST /geocode answer of the shape the scorer reads: (layer, name, feature_id, method) per match."""
    return {
        "status": status,
        "precision": precision,
        "matches": [{"layer": la, "name": n, "feature_id": k, "method": m} for la, n, k, m in matches],
        "unresolved": [{"text": s} for s in spans],
        "ambiguous": [],
    }


def test_the_scoring_rules_the_figures_rest_on() -> None:
    """The scorer itself, on made-up answers: a silent seat, a county answer by code, a wrong cut span."""
    township = Entry(
        0, "township", "推进雷打石镇试点", "株洲市", 2019, None, "place",
        places=(("雷打石镇", "430211102", "天元区", "430211"),), precision=frozenset({2, 3}), review_span=("雷打石镇",),
    )  # fmt: skip
    seat = judge(township, _answer("auto", 8, ("sites", "株洲市人民政府", "株洲市人民政府", "seat")))
    assert seat.verdict == WRONG and seat.silent_fallback and not seat.wrong_exact
    by_code = judge(township, _answer("auto", 3, ("admin_divisions", "雷打石镇", "430211102000", "admin")))
    assert by_code.verdict == RIGHT
    county = judge(township, _answer("auto", 3, ("districts", "天元区", "430211", "admin")))
    assert county.verdict == RIGHT
    assert judge(township, _answer("review", None, spans=("雷打石镇",))).verdict == REVIEW_RIGHT
    assert judge(township, _answer("auto", 1, ("sites", "雷打石", "x", "gazetteer"))).wrong_exact

    road = Entry(
        0, "unknown_place", "完成神农城周边泰山路提质改造", "株洲市", 2019, None, "review", spans=(("泰山路",),)
    )
    assert not span_matches("周边泰山路", "泰山路") and span_matches("泰山路", "泰山路")
    cut = judge(road, _answer("review", 2, ("demo_zones", "神农城", "神农城", "gazetteer"), spans=("周边泰山路",)))
    assert cut.verdict == REVIEW_WRONG
    auto = judge(road, _answer("auto", 2, ("demo_zones", "神农城", "神农城", "gazetteer")))
    assert auto.verdict == WRONG and auto.wrong_exact and not auto.silent_fallback

    policy = Entry(0, "no_place", "编制全市低碳发展规划", "株洲市", 2011, None, "no_place")
    assert judge(policy, _answer("auto", 8, ("sites", "株洲市人民政府", "k", "seat"))).verdict == RIGHT
    as_place = judge(policy, _answer("auto", 3, ("cities", "株洲市", "city:株洲市", "admin")))
    assert as_place.verdict == WRONG and as_place.no_place_as_place


def test_holdout_meets_the_targets_of_issue_19(rolled_back_session: Session) -> None:
    report = measure(rolled_back_session, load_holdout(HOLDOUT_FILE))
    text = format_report(report, verbose=True)
    print("\n" + text)
    assert report.passed, text
