"""Every place the two plans name has a feature (by name or alias) in the layer the list says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, text

from service.settings import PROJECT_ROOT

PLACES = yaml.safe_load((PROJECT_ROOT / "geodata" / "plan_places.yaml").read_text(encoding="utf-8"))
SEEDS = {"zhuzhou-2018": "003_a8ff47c9ec45990b.txt", "hunan-2010": "000_ae621ed133a8128a.txt"}
SEED_DIRS = [PROJECT_ROOT.parent / "shared" / "seeds", PROJECT_ROOT / "geodata" / "plans"]
ENTRIES = [(plan, entry) for plan in SEEDS for entry in PLACES[plan]]


def plan_text(plan: str) -> str | None:
    for folder in SEED_DIRS:
        path = Path(folder) / SEEDS[plan]
        if path.exists():
            return path.read_text(encoding="utf-8")
    return None


def test_the_list_is_substantial() -> None:
    assert len(PLACES["zhuzhou-2018"]) >= 80 and len(PLACES["hunan-2010"]) >= 40


@pytest.mark.parametrize(("plan", "entry"), ENTRIES, ids=[f"{p}:{e['name']}" for p, e in ENTRIES])
def test_named_place_is_in_its_plan(plan: str, entry: dict) -> None:
    source = plan_text(plan)
    if source is None:
        pytest.skip("the source plans (shared/seeds) are not beside this checkout")
    assert entry.get("written", entry["name"]) in source


def test_every_named_place_has_a_feature(engine: Engine) -> None:
    missing = []
    with engine.connect() as conn:
        for plan, entry in ENTRIES:
            feature = entry.get("feature", entry["name"])
            found = conn.execute(
                text(f"SELECT name FROM {entry['layer']} WHERE name = :f AND (name = :n OR :n = ANY(aliases))"),
                {"f": feature, "n": entry["name"]},
            ).all()
            if len(found) != 1:
                missing.append(f"{plan}: {entry['name']} → {entry['layer']}/{feature} ({len(found)} found)")
    assert not missing, "\n".join(missing)


def test_every_named_place_is_placed_and_any_exception_says_why() -> None:
    for entry in PLACES["unplaced"]:
        assert entry["reason"]
        source = plan_text(entry["plan"])
        if source is not None:
            assert entry["name"] in source, entry["name"]
    assert PLACES["unplaced"] == [], "every place the plans name has a feature since the 2010 transport links"


# the 2010 transport key point's links and railways: drawn without a known alignment
APPROXIMATED = {
    "roads": ["黄桥大道", "伏林大道", "麓东大道", "益宁城际干道", "洞株公路", "板霞城际干道", "京港澳高速长沙连接线"],
    "sites": ["城际铁路长株潭线", "沪昆高铁湖南段"],
}


def test_approximated_lines_claim_no_precision_they_lack(engine: Engine) -> None:
    rows = []
    with engine.connect() as conn:
        for layer, names in APPROXIMATED.items():
            rows += conn.execute(
                text(
                    f"SELECT name, accuracy_m, verified, method, GeometryType(geom) AS kind FROM {layer} "
                    "WHERE name = ANY(:names)"
                ),
                {"names": names},
            ).all()
    assert sorted(r.name for r in rows) == sorted(n for names in APPROXIMATED.values() for n in names)
    for row in rows:
        assert row.accuracy_m >= 5000 and row.verified is False, row.name
        assert "unknown" in row.method and "LINESTRING" in row.kind, row.name


def test_feature_names_are_unique_within_each_layer(engine: Engine) -> None:
    from service.models import LAYER_MODELS

    with engine.connect() as conn:
        for layer in LAYER_MODELS:
            repeated = conn.execute(text(f"SELECT name FROM {layer} GROUP BY name HAVING count(*) > 1")).scalars().all()
            assert repeated == [], layer
