"""Screening: which protected zones a site touches, how much, and what the rules in force say.

Plain functions, no HTTP: the router, the CLI and the batch call :func:`screen`; storing and
fetching answers is in :mod:`service.screening.records`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.screening.rules import (
    SEVERITY,
    UNSPECIFIED,
    Category,
    RuleBook,
    Scheme,
    Verdict,
)
from service.screening.rules_store import rulebook
from service.screening.site_input import ScreeningInput
from service.screening.zones import (
    DATE_FILTER,
    LIVE_PARTS,
    InputMeasures,
    ZoneMetrics,
    add_views,
    measure_input,
    protected_layers,
    zones_near,
)

CHINA = ZoneInfo("Asia/Shanghai")
MAX_BUFFER_M = 50_000.0


def today() -> date:
    """Today in China, where the regulations apply (not the server's UTC date)."""
    return datetime.now(CHINA).date()


@dataclass(frozen=True)
class CategoryChoice:
    """The category a screening applied, and how it was chosen (issue 18: an inspector must see why).

    ``given`` is the caller's text, or for an inferred category the reason in words; ``words`` are the words
    that decided it; ``confidence`` (0-1) how clearly they did; ``needs_review`` says a person should set the
    category (low confidence, or nothing found); ``source`` is ``given`` or ``inferred``.
    """

    given: str | None
    category: Category | None
    inferred: bool
    words: tuple[str, ...] = ()
    confidence: float | None = None
    needs_review: bool = False
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        c = self.category
        return {
            "given": self.given,
            "id": c.id if c else UNSPECIFIED,
            "zh": c.zh if c else "未指定",
            "en": c.en if c else "unspecified (each sub-zone's default rule applies)",
            "inferred": self.inferred,
            "words": list(self.words),
            "confidence": self.confidence,
            "needs_review": self.needs_review,
            "source": self.source or "given",
        }

    @property
    def id(self) -> str:
        return self.category.id if self.category else UNSPECIFIED


def choose_category(rules: RuleBook, given: str | None) -> CategoryChoice:
    """A category named by the caller (id, name, or words such as 养猪场); unknown names are a 400 listing
    the known ones (bad input, the project's convention; a place name alone is no category)."""
    if given is None or not given.strip():
        return CategoryChoice(None, None, False, source="given")
    text = given.strip()
    found = rules.read(text)
    if found.category is None:
        known = ", ".join(f"{c.id} ({c.zh})" for c in rules.categories)
        raise Problem(400, f"category {given!r} is unknown; use one of: {known}", parameter="category")
    if found.exact:
        return CategoryChoice(given, found.category, False, (text,), 1.0, False, "given")
    return CategoryChoice(given, found.category, True, found.words, found.confidence, found.needs_review, "given")


def infer_category(rules: RuleBook, *texts: str | None) -> CategoryChoice:
    """A stored project's category from its texts, most telling first (batch.project_category passes the
    task text, the title and the plan section): what the task builds or does, never the places it names."""
    found = rules.read(*texts)
    return CategoryChoice(
        found.reason(), found.category, True, found.words, found.confidence, found.needs_review, "inferred"
    )


def check_buffer(buffer_m: float | None) -> float:
    value = float(buffer_m or 0.0)
    if not 0.0 <= value <= MAX_BUFFER_M:
        raise Problem(422, f"buffer_m {value:g} must be between 0 and {MAX_BUFFER_M:g} metres", parameter="buffer_m")
    return value


def input_hash(geom: shapely.Geometry) -> str:
    return hashlib.sha256(shapely.to_wkb(geom, hex=False, output_dimension=2)).hexdigest()


SCHEMES_IN_FORCE_SQL = f"""
SELECT p.layer, p.scheme, min(p.valid_from) AS valid_from, max(p.valid_to) AS valid_to,
       count(DISTINCT p.zone_id) AS zones, md5(string_agg(DISTINCT p.zone_hash, ',')) AS fingerprint
  FROM screening_zone_parts p
 WHERE {DATE_FILTER}
 GROUP BY p.layer, p.scheme
"""


def _schemes_in_force(
    session: Session, on: date, parts: str = LIVE_PARTS, params: dict[str, Any] | None = None
) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    sql = SCHEMES_IN_FORCE_SQL.replace("FROM screening_zone_parts p", f"FROM {parts} p")
    for r in session.execute(text(sql), {"on": on, **(params or {})}).mappings():
        found.setdefault(r["layer"], []).append(dict(r))
    return found


def _zone_verdict(
    rules: RuleBook, zone: ZoneMetrics, inside: bool, on: date, category: str
) -> tuple[Verdict, Scheme | None]:
    scheme = rules.scheme(zone.layer, zone.scheme, on)
    if not inside:
        return Verdict("outside", "场地位于该分区之外 (the site lies outside this zone)"), scheme
    if scheme is None:
        label = f"scheme {zone.scheme!r} of " if zone.scheme else ""
        return (
            Verdict(
                "needs_approval",
                f"no screening rules on file for {label}layer {zone.layer!r} (geodata/rules/{zone.layer}/); "
                "consult the authority responsible for the zone",
                f"the authority responsible for {zone.layer}",
            ),
            None,
        )
    return scheme.verdict_for(zone.subzone, category), scheme


def _worst(verdicts: list[str]) -> str:
    return max(verdicts, key=lambda v: SEVERITY[v]) if verdicts else "outside"


def _zone_answer(
    zone: ZoneMetrics, measures: InputMeasures, verdict: Verdict, scheme: Scheme | None, inside: bool
) -> dict[str, Any]:
    return {
        "zone_key": zone.zone_key,
        "name": zone.zone_name,
        "scheme": zone.scheme,
        "subzone": zone.subzone,
        "subzone_en": scheme.subzone_en(zone.subzone) if scheme else None,
        "valid_from": zone.valid_from.isoformat() if zone.valid_from else None,
        "valid_to": zone.valid_to.isoformat() if zone.valid_to else None,
        "inside": inside,
        "overlap_m2": round(zone.overlap_m2, 2),
        "overlap_m": round(zone.overlap_len_m, 2),
        "overlap_pct": measures.share(zone) if inside else 0.0,
        "distance_m": round(zone.distance_m, 2),
        **verdict.as_dict(),
        "regulation": scheme.regulation if scheme else None,
        "rules_file": scheme.path if scheme else None,
        "zone_hash": zone.zone_hash,
    }


def _layer_schemes(
    rules: RuleBook, layer: str, in_force: list[dict[str, Any]], on: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The schemes applied to a layer at the date (summary for the answer, versions for the record)."""
    summaries, versions = [], []
    for entry in in_force:
        scheme = rules.scheme(layer, entry["scheme"], on)
        summary = scheme.summary() if scheme else {"layer": layer, "scheme": entry["scheme"], "rules_file": None}
        summary = {**summary, "zones_in_force": int(entry["zones"])}
        if entry["scheme"] is not None:
            summary["zones_valid_from"] = entry["valid_from"].isoformat() if entry["valid_from"] else None
            summary["zones_valid_to"] = entry["valid_to"].isoformat() if entry["valid_to"] else None
        summaries.append(summary)
        versions.append(
            {
                "scheme": entry["scheme"],
                "rules_file": scheme.path if scheme else None,
                "rules_sha256": scheme.sha256 if scheme else None,
                "layer_fingerprint": entry["fingerprint"],
            }
        )
    return summaries, versions


def screen(
    session: Session,
    site: ScreeningInput,
    on: date,
    buffer_m: float,
    category: CategoryChoice,
    *,
    with_views: bool = True,
    zones: list[ZoneMetrics] | None = None,
    rules: RuleBook | None = None,
    parts: str = LIVE_PARTS,
    parts_params: dict[str, Any] | None = None,
    layers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The answer for one site; ``zones`` may come precomputed from the batch query.

    A replay (service.screening.replay) passes the zone ``parts`` of the layer versions a record saw and the
    ``layers`` it screened against; otherwise the live parts of every protected layer in service are used.
    """
    rules = rules or rulebook(session)
    wkb = shapely.to_wkb(site.geometry, output_dimension=2)
    bounds = site.geometry.bounds
    measures = measure_input(session, wkb)
    if zones is None:
        zones = zones_near(session, wkb, bounds, on, buffer_m, parts=parts, params=parts_params)
    if with_views:
        add_views(session, wkb, bounds, zones, buffer_m)
    in_force = _schemes_in_force(session, on, parts, parts_params)
    layer_answers, versions, views = [], {}, {}
    for layer in layers if layers is not None else protected_layers(session):
        lid = layer["id"]
        summaries, layer_versions = _layer_schemes(rules, lid, in_force.get(lid, []), on)
        zone_answers = []
        for zone in (z for z in zones if z.layer == lid):
            inside = zone.hit and (measures.dimension == 0 or measures.share(zone) > 0)
            verdict, scheme = _zone_verdict(rules, zone, inside, on, category.id)
            zone_answers.append(_zone_answer(zone, measures, verdict, scheme, inside))
            views[f"{lid}/{zone.zone_key}"] = {
                "overlap": zone.overlap_geojson if inside else None,
                "zone": zone.view_geojson,
                "shortest_line": zone.shortest_line_geojson,
            }
        layer_verdict = _worst([z["verdict"] for z in zone_answers])
        note = None if summaries else "no zones of this layer are in force at the date"
        layer_answers.append(
            {
                "layer": lid,
                "title_zh": layer["title_zh"],
                "title_en": layer["title_en"],
                "schemes": summaries,
                "note": note,
                "verdict": layer_verdict,
                "zones": zone_answers,
            }
        )
        versions[lid] = {"schemes": layer_versions, "zones": {z["zone_key"]: z["zone_hash"] for z in zone_answers}}
        if layer.get("origin") == "published":  # the version a replay must find again (issue 20)
            versions[lid]["layer_version"] = int(layer["version"])
    overall = _worst([entry["verdict"] for entry in layer_answers])
    return {
        "date": on.isoformat(),
        "buffer_m": buffer_m,
        "category": category.as_dict(),
        "input": {
            "geometry": shapely.geometry.mapping(site.geometry),
            "crs": site.crs,
            "crs_declared": site.crs_declared,
            "coordinates_received": site.coordinates_received,
            "source": site.source,
            "repairs": site.repairs,
            "warnings": site.warnings,
            "area_m2": round(measures.area_m2, 2),
            "length_m": round(measures.length_m, 2),
            "vertices": int(shapely.get_num_coordinates(site.geometry)),
            "input_hash": input_hash(site.geometry),
        },
        "verdict": overall,
        "flagged": any(z["inside"] or z["distance_m"] <= buffer_m for entry in layer_answers for z in entry["zones"]),
        "layers": layer_answers,
        "scheme_versions": versions,
        "map": views,
    }
