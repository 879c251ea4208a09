"""Places → a project location: which features, what precision code, and whether a person must look.

Named features win (their union, precision = the coarsest of them); an administrative unit alone
gives its polygon (AidData 3); nothing named gives the lead unit's seat (AidData 8).  The plan's own
city (株洲 in a Zhuzhou plan) is context, never a location by itself.  Anything ambiguous, any
place-like word the gazetteer lacks, or low confidence sends the project to review.

A township or village of the official hierarchy (雷打石镇) has no boundary here: it is located as its
county's polygon at precision 3 with its own code, ``method = "admin_division"`` and a note that says so.
That answer is automatic: the county surely contains the township (the code says so), and precision 3 is
exactly AidData's "within this second-order division"; nothing is claimed that is not known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.geocoding.gazetteer import Gazetteer, Place
from service.geocoding.matcher import Match, Matcher, TextMatches

DIVISION_NOTES = {  # by the length of the official code
    9: "乡镇无边界数据，按所在区县定位",  # a township / street: no boundary data, located by its county
    12: "村（社区）无边界数据，按所在区县定位",  # a village / community: likewise
}
AREA_PRECISION, DISTRICT_PRECISION = 2, 3  # AidData: an area (zone); a second-order division
PROVINCE = "湖南省"
PROVINCE_SEAT = "湖南省人民政府"
REVIEW_BELOW = 0.8
SEAT_CONFIDENCE = 0.6
CITY_LEVEL_PREFIXES = ("市", "中级人民法院", "各县市", "各市直", "各区", "相关区", "相关县", "绿心所在", "株洲")


@dataclass
class Located:
    """One location row to store: a place, how it was found, and where in the text."""

    place: Place
    method: str  # gazetteer / admin / admin_division / seat
    precision: int
    confidence: float
    span: tuple[int, int] | None
    matched_text: str | None
    note: str | None = None


@dataclass
class Resolution:
    locations: list[Located] = field(default_factory=list)
    precision: int | None = None
    status: str = "unresolved"
    ambiguous: list[Match] = field(default_factory=list)
    unresolved: list[dict[str, object]] = field(default_factory=list)
    # districts named beside an area (绿心 of 荷塘区、石峰区): the area is cut to them, not drawn whole
    within: list[Place] = field(default_factory=list)


def resolve(
    matcher: Matcher,
    task_text: str,
    *,
    city: str | None,
    lead_units: list[str] | None = None,
    title: str | None = None,
    section: str | None = None,
) -> Resolution:
    """Geocode one task: its text, else its row title, else its table's title, else its lead unit's seat."""
    found = matcher.find(task_text, city)
    located, within = _from_matches(found, city, in_text=True)
    for context in (title, section):
        if not located and context:
            located, within = _from_matches(matcher.find(context, city), city, in_text=False)
    if not located:
        located = [x for x in [_seat(matcher.gazetteer, lead_units or [], city)] if x is not None]
    result = Resolution(locations=located, ambiguous=found.ambiguous, unresolved=found.unresolved, within=within)
    weak = any(x.confidence < REVIEW_BELOW for x in located if x.method != "seat")
    needs_person = bool(found.ambiguous or found.unresolved) or weak
    if located:
        result.precision = max(x.precision for x in located)
        result.status = "review" if needs_person else "auto"
    else:
        result.status = "review" if needs_person else "unresolved"
    return result


def _from_matches(found: TextMatches, city: str | None, *, in_text: bool) -> tuple[list[Located], list[Place]]:
    """Named features, else the administrative units; the plan's own city counts only beside another unit.

    Districts named beside an area feature (做好荷塘区、石峰区、天元区绿心范围内…) are returned as the
    ``within`` of the area: the task is the part of the area in those districts, not the whole area (which
    spilled into other cities' districts in /stats, issue 19)."""
    seen: set[str] = set()
    specific: list[Located] = []
    admin: list[Located] = []
    for m in found.resolved:
        assert m.place is not None
        if m.place.key in seen or m.place.is_seat:
            continue  # a government named in the text is an actor (省政府支持), not a place
        seen.add(m.place.key)
        confidence = m.confidence if in_text else min(m.confidence, 0.85)
        span = (m.start, m.end) if in_text else None
        if m.place.is_division:
            note = DIVISION_NOTES.get(len(m.place.key))
            admin.append(Located(m.place, "admin_division", m.precision, confidence, span, m.surface, note))
        elif m.place.is_admin:
            if m.place.name != PROVINCE:  # every plan here is Hunan's: naming it locates nothing
                admin.append(Located(m.place, "admin", m.precision, confidence, span, m.surface))
        else:
            specific.append(Located(m.place, "gazetteer", m.precision, confidence, span, m.surface))
    # 株洲市天元区雷打石镇: the township is the place; its city and county only say where it is
    framing = {n for x in admin if x.place.is_division for n in (x.place.city, x.place.district)}
    admin = [x for x in admin if x.place.is_division or x.place.name not in framing]
    if all(x.place.name == city for x in admin):
        admin = []  # the plan's own city alone says nothing about where the task is
    areas = [x for x in specific if x.precision == AREA_PRECISION]
    districts = [x.place for x in admin if not x.place.is_division and x.precision == DISTRICT_PRECISION]
    if areas and districts and len(areas) == len(specific):
        return specific, districts
    return specific or admin, []


def _seat(gaz: Gazetteer, lead_units: list[str], city: str | None) -> Located | None:
    """The lead unit's government seat (AidData 8), or its own district when only that is known."""
    for unit in lead_units[:1]:
        names = [unit]
        if city:
            names.append(f"{city}{unit}")
        if unit.endswith("管委会"):
            zone = unit.removesuffix("管委会")
            for entry in gaz.surfaces.get(zone, []):
                return Located(entry.place, "admin", entry.precision, REVIEW_BELOW, None, unit)
        if unit.startswith(("省", "湖南")):
            names.append(PROVINCE_SEAT)
        elif unit.startswith(CITY_LEVEL_PREFIXES) and city:
            names.append(f"{city}人民政府")
        for name in names:
            place = gaz.seat(name)
            if place is not None:
                return Located(place, "seat", 8, SEAT_CONFIDENCE, None, unit)
        if unit.endswith("人民政府"):
            for entry in gaz.surfaces.get(unit.removesuffix("人民政府"), []):
                if entry.place.is_admin:
                    return Located(entry.place, "admin", entry.place.precision, REVIEW_BELOW, None, unit)
    fallback = f"{city}人民政府" if city else PROVINCE_SEAT
    place = gaz.seat(fallback)
    return Located(place, "seat", 8, SEAT_CONFIDENCE * 0.9, None, fallback) if place else None


def geometry_sql(places: list[Place], within: list[Place] | None = None) -> tuple[str, dict[str, object]]:
    """An SQL expression for the union of the places: dissolved when all administrative, else a collection;
    with ``within`` (districts), the polygons' part inside them (the whole union if they do not meet)."""
    if not places:
        return "NULL::geometry", {}
    if within:
        whole, params = geometry_sql(places)
        frame, frame_params = geometry_sql(within)
        params |= {f"w_{k}": v for k, v in frame_params.items()}
        for k in frame_params:
            frame = frame.replace(f":{k})", f":w_{k})")
        cut = f"ST_Multi(ST_CollectionExtract(ST_Intersection(ST_MakeValid({whole}), ST_MakeValid({frame})), 3))"
        return f"(SELECT CASE WHEN ST_IsEmpty(c) THEN w ELSE c END FROM (SELECT {cut} AS c, {whole} AS w) AS x)", params
    parts = []
    params: dict[str, object] = {}
    for i, place in enumerate(places):
        parts.append(f"SELECT ST_Union(geom) AS g FROM {place.table} WHERE id = ANY(:ids{i})")
        params[f"ids{i}"] = list(place.ids)
    union = " UNION ALL ".join(parts)
    if all(p.is_admin for p in places):
        return f"(SELECT ST_Multi(ST_Union(g)) FROM ({union}) AS parts)", params
    return f"(SELECT ST_CollectionHomogenize(ST_Collect(g)) FROM ({union}) AS parts)", params


def geometry_geojson(
    session: Session, places: list[Place], within: list[Place] | None = None
) -> dict[str, object] | None:
    import json

    expr, params = geometry_sql(places, within)
    value = session.execute(text(f"SELECT ST_AsGeoJSON({expr}, 6)"), params).scalar_one_or_none()
    return json.loads(value) if value else None
