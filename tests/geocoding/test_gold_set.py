"""The hand-written gold set: place precision / recall and the share of right precision codes.

Runs on the bundled layer files and the committed register; prints the figures (pytest -s shows
them) and holds the targets of issue 4: at least 95% of places found and rightly resolved, no
false place on texts that name none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from service import migrate
from service.geocoding.gazetteer import load_gazetteer
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import resolve
from service.projects.register import read_register
from tests.conftest import url_for_database
from tests.geocoding.bundled import bundled_layers_present, load_bundled_layer_files

GOLD = yaml.safe_load((Path(__file__).parent / "gold.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bundled_matcher(database_url: str) -> Iterator[Matcher]:
    if not bundled_layers_present():
        pytest.fail("geodata/layers/*.geojson missing: the gold set needs the bundled layers")
    name = f"xm_gold_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = create_engine(url_for_database(database_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng: Engine = create_engine(url_for_database(database_url, name))
    try:
        migrate.upgrade(eng)
        with eng.begin() as conn:
            load_bundled_layer_files(conn)
            yield Matcher(load_gazetteer(Session(bind=conn)))
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _feature_names(matcher: Matcher) -> dict[str, set[str]]:
    """layer/name or layer/alias -> the place keys it may denote (gold rows may use either)."""
    names: dict[str, set[str]] = {}
    for surface, entries in matcher.gazetteer.surfaces.items():
        for entry in entries:
            names.setdefault(f"{entry.place.layer}/{surface}", set()).add(entry.place.key)
    return names


def test_gold_set_has_at_least_80_texts_from_the_register() -> None:
    _, records = read_register()
    keys = {r.key for r in records}
    assert len(GOLD) >= 80
    assert {g["key"] for g in GOLD} <= keys


def test_gold_set_precision_recall_and_codes(bundled_matcher: Matcher) -> None:
    plans, records = read_register()
    cities = {p["id"]: p["city"] or None for p in plans}
    by_key = {r.key: r for r in records}
    names = _feature_names(bundled_matcher)
    true_pos = false_pos = false_neg = right_code = 0
    misses: list[str] = []
    for gold in GOLD:
        record = by_key[gold["key"]]
        result = resolve(
            bundled_matcher,
            record.task_text,
            city=cities[record.plan],
            lead_units=record.lead_units,
            title=record.title,
            section=record.section,
        )
        expected: list[set[str]] = []
        for ref in gold["places"]:
            assert ref in names, f"{gold['key']}: gold place {ref} is not in the bundled gazetteer"
            expected.append(names[ref])
        found = {x.place.key for x in result.locations}
        hit = [e for e in expected if e & found]
        true_pos += len(hit)
        false_neg += len(expected) - len(hit)
        extra = [k for k in found if not any(k in e for e in expected)]
        false_pos += len(extra)
        right_code += result.precision == gold["precision"]
        if extra or len(hit) < len(expected) or result.precision != gold["precision"]:
            misses.append(f"{gold['key']}: got {sorted(found)} @{result.precision}, want {gold['places']}")
    precision = true_pos / max(1, true_pos + false_pos)
    recall = true_pos / max(1, true_pos + false_neg)
    code_share = right_code / len(GOLD)
    print(
        f"\ngold set: {len(GOLD)} texts, place precision {precision:.3f}, recall {recall:.3f}, "
        f"right precision code {code_share:.3f}"
    )
    print("\n".join(misses))
    assert recall >= 0.95 and precision >= 0.95, misses
    assert code_share >= 0.95, misses


def test_texts_naming_no_place_yield_no_place(bundled_matcher: Matcher) -> None:
    _, records = read_register()
    by_key = {r.key: r for r in records}
    none_named = [g for g in GOLD if g["precision"] == 8]
    assert len(none_named) >= 20
    for gold in none_named:
        record = by_key[gold["key"]]
        found = bundled_matcher.find(record.task_text, "株洲市" if record.plan.startswith("zhuzhou") else None)
        places = [
            m.surface for m in found.resolved if m.place is not None and not m.place.is_seat and not m.place.is_admin
        ]
        assert places == [], (gold["key"], places)
