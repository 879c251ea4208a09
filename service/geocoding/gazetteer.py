"""The gazetteer: every name and alias of every layer feature, with its city and its precision code.

Built from the layer tables (so a GIS team's replacement layer is picked up at once) plus
geodata/plans/gazetteer_extra.yaml (stop phrases, plan wordings, virtual places such as the whole
Green Heart).  Cities are virtual places too: the union of their districts.  Each feature's district
and city come from a spatial join in the database, not from a text column.

Last come Hunan's official divisions (``admin_divisions``, issue 19): every county, township / street and
village / community by the name a task text uses (雷打石镇, 胜塘村).  None has a geometry of its own, so
each is its county's polygon (``districts.adcode`` = the first six digits of its code) at precision 3; a
division whose county has no polygon here is known but not locatable (the matcher reports it for review).
A layer feature always wins a name over a division: the layers are what can be drawn exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.chinese_text import to_simplified
from service.common.location_codes import LAYER_CODES, published_codes
from service.models.layers import LAYER_MODELS

EXTRA_FILE = Path(__file__).resolve().parents[2] / "geodata" / "plans" / "gazetteer_extra.yaml"

ADMIN_LAYERS = frozenset({"districts", "cities"})
DIVISION_LAYER = "admin_divisions"  # the official hierarchy: drawn as the county polygon
DIVISION_CODES = (3, 2, 1)  # precision (the county), exactness (approximate), class (administrative)
MIN_DIVISION_NAME = 3  # 新村, 东村: two characters are words before they are villages
TOPOGRAPHIC_SITE_KINDS = frozenset({"lake", "hill", "mountain", "river", "island", "湖", "山"})
# sites that are really administrative or large areas: (precision, exactness, class, administrative?)
SITE_KIND_CODES: dict[str, tuple[int, int, int, bool]] = {
    "prefecture": (3, 2, 1, True),
    "province": (4, 2, 1, True),
    "region": (4, 2, 1, True),
    "protected_area": (2, 2, 4, False),
    "area": (2, 2, 2, False),
    # a town drawn as one point (跳马, 暮云) stands for a township: "in the area of", a populated place
    "town": (2, 2, 2, False),
}
SEAT_SUFFIXES = ("人民政府", "管委会")


@dataclass(frozen=True)
class Place:
    """One gazetteer place: a feature, or a union of rows of one layer (cities, the Green Heart)."""

    layer: str  # the layer id; cities live in the districts table
    table: str
    ids: tuple[int, ...]
    key: str
    name: str
    city: str | None
    district: str | None
    precision: int
    exactness: int
    location_class: int
    admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.admin or self.layer in ADMIN_LAYERS

    @property
    def is_division(self) -> bool:
        """A township, village or county of the official hierarchy (its ``key`` is its code)."""
        return self.layer == DIVISION_LAYER

    @property
    def locatable(self) -> bool:
        return bool(self.ids)

    @property
    def is_seat(self) -> bool:
        return self.layer == "sites" and self.name.endswith(SEAT_SUFFIXES)


@dataclass(frozen=True)
class Surface:
    """A written form pointing at a place, with the precision that wording implies."""

    place: Place
    precision: int
    alias: bool


@dataclass
class Gazetteer:
    places: list[Place] = field(default_factory=list)
    surfaces: dict[str, list[Surface]] = field(default_factory=dict)  # simplified text -> candidates
    stop: set[str] = field(default_factory=set)
    divisions: int = 0  # official divisions added: 0 when the hierarchy was not loaded

    def add(self, surface: str, place: Place, precision: int | None = None, alias: bool = False) -> None:
        """Register a written form; an explicit precision replaces the one a feature's own alias gave."""
        surface = to_simplified(surface.strip())
        if len(surface) < 2:
            return  # one character is never a safe place name
        entries = self.surfaces.setdefault(surface, [])
        same = [i for i, e in enumerate(entries) if e.place.key == place.key]
        if not same:
            entries.append(Surface(place, precision or place.precision, alias))
        elif precision is not None:
            entries[same[0]] = Surface(place, precision, alias)

    def add_virtual(self, place: Place, surfaces: list[str]) -> None:
        """A place made of several rows, unless a layer feature already carries its name."""
        if to_simplified(place.name) in self.surfaces:
            return
        self.places.append(place)
        for surface in surfaces:
            if to_simplified(surface) not in self.surfaces:
                self.add(surface, place, alias=surface != place.name)

    def by_name(self, layer: str, name: str) -> Place | None:
        for place in self.places:
            if place.layer == layer and place.name == name:
                return place
        return None

    def seat(self, name: str) -> Place | None:
        for entry in self.surfaces.get(to_simplified(name), []):
            if entry.place.is_seat:
                return entry.place
        return None


def _feature_query(table: str, *, published: bool = False) -> str:
    """A layer's places with the district each lies in; a published layer (issue 20) has no aliases nor kind,
    and only its named features are places."""
    if table == "districts":
        return "SELECT f.id, f.key, f.name, f.aliases, f.name AS district, f.city, NULL AS kind FROM districts f"
    kind = "f.kind" if not published and "kind" in LAYER_MODELS[table].__table__.columns else "NULL"
    aliases = "'{}'::text[]" if published else "f.aliases"
    named = "WHERE f.name IS NOT NULL AND length(f.name) >= 2" if published else ""
    return f"""
        SELECT f.id, f.key, f.name, {aliases} AS aliases, d.name AS district, d.city, {kind} AS kind
        FROM "{table}" f
        LEFT JOIN LATERAL (
            SELECT dd.name, dd.city FROM districts dd
            WHERE ST_Intersects(dd.geom, ST_PointOnSurface(f.geom))
            ORDER BY dd.id LIMIT 1
        ) d ON true
        {named}
    """


PUBLISHED_SQL = text(
    "SELECT id, geometry_type FROM layer_catalogue WHERE origin = 'published' AND status = 'active' AND gazetteer "
    "ORDER BY id"
)


def _add_published(session: Session, gaz: Gazetteer) -> None:
    """Names of layers GIS staff published and offered to the geocoder (issue 20): a feature with a name."""
    for layer in session.execute(PUBLISHED_SQL).mappings():
        table = layer["id"]  # a catalogue id, checked by xm_layer_create: [a-z][a-z0-9_]{2,39}
        precision, exactness, loc_class = published_codes(layer["geometry_type"])
        rows = session.execute(text(_feature_query(table, published=True))).mappings()
        for row in rows:
            place = Place(
                table,
                table,
                (row["id"],),
                row["key"],
                row["name"],
                row["city"],
                row["district"],
                precision,
                exactness,
                loc_class,
            )
            gaz.places.append(place)
            gaz.add(place.name, place)


def load_gazetteer(session: Session, extra_file: Path = EXTRA_FILE) -> Gazetteer:
    """Read every layer table (and the extra vocabulary) into a gazetteer."""
    gaz = Gazetteer()
    for table in LAYER_MODELS:
        precision, exactness, loc_class = LAYER_CODES[table]
        for row in session.execute(text(_feature_query(table))).mappings():
            kind = row["kind"] or ""
            codes = SITE_KIND_CODES.get(kind, (precision, exactness, loc_class, False)) if table == "sites" else None
            p, e, cls, admin = codes or (precision, exactness, loc_class, False)
            if table == "sites" and kind in TOPOGRAPHIC_SITE_KINDS:
                cls = 4
            place = Place(
                layer=table,
                table=table,
                ids=(row["id"],),
                key=row["key"],
                name=row["name"],
                city=row["name"] if kind == "prefecture" else row["city"],
                district=row["district"],
                precision=p,
                exactness=e,
                location_class=cls,
                admin=admin,
            )
            gaz.places.append(place)
            gaz.add(place.name, place)
            for alias in row["aliases"] or []:
                gaz.add(alias, place, alias=True)
    _add_published(session, gaz)
    _add_cities(session, gaz)
    _add_extra(session, gaz, extra_file)
    add_divisions(gaz, session.execute(text(_DIVISIONS_SQL)).all())
    return gaz


# each division with the districts-layer rows of its county (none for a county without a polygon, and for
# cities: those the layers hold are already places, the others cannot be drawn)
_DIVISIONS_SQL = """
    SELECT a.code, a.common_name, a.level, a.city, a.county,
           coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') AS ids
    FROM admin_divisions a
    LEFT JOIN districts d ON a.level >= 3 AND d.adcode = left(a.code, 6)
    WHERE a.level >= 2
    GROUP BY a.code, a.common_name, a.level, a.city, a.county
    ORDER BY a.code
"""


def add_divisions(gaz: Gazetteer, rows: object) -> None:
    """Register the official divisions ``(code, common_name, level, city, county, ids)`` under their names.

    A name a layer already holds stays the layer's (昭山 the hill, 株洲市 the city); homonymous divisions
    (和平村 in dozens of counties) share one surface and are settled by context like any other name.  A
    county-level zone written with its city (湘潭九华示范区) is also found without it (九华示范区).
    """
    layer_surfaces = set(gaz.surfaces)
    precision, exactness, loc_class = DIVISION_CODES
    for code, name, level, city, county, ids in rows:  # type: ignore[attr-defined]
        if len(name) < MIN_DIVISION_NAME:
            continue
        district = name if level == 3 else county
        place = Place(
            DIVISION_LAYER, "districts", tuple(ids), code, name, city, district, precision, exactness, loc_class, True
        )
        surfaces = [name]
        short_city = (city or "")[:-1]
        if level == 3 and short_city and name.startswith(short_city) and len(name) - len(short_city) >= 3:
            surfaces.append(name[len(short_city) :])
        added = False
        for surface in surfaces:
            if surface not in layer_surfaces:
                gaz.add(surface, place, alias=surface != name)
                added = True
        if added:
            gaz.places.append(place)
            gaz.divisions += 1


def _add_cities(session: Session, gaz: Gazetteer) -> None:
    rows = session.execute(text("SELECT city, array_agg(id ORDER BY id) AS ids FROM districts GROUP BY city")).all()
    precision, exactness, loc_class = LAYER_CODES["cities"]
    for city, ids in rows:
        place = Place(
            "cities", "districts", tuple(ids), f"city:{city}", city, city, None, precision, exactness, loc_class
        )
        short = [city[:-1]] if city.endswith("市") and len(city) >= 3 else []
        gaz.add_virtual(place, [city, *short])


def load_extra_vocabulary(gaz: Gazetteer, extra_file: Path = EXTRA_FILE) -> dict[str, object]:
    """Stop phrases and plan wordings (aliases with their own precision); returns the file's content."""
    if not extra_file.exists():
        return {}
    extra = yaml.safe_load(extra_file.read_text(encoding="utf-8")) or {}
    gaz.stop |= {to_simplified(s) for s in extra.get("stop", [])}
    for item in extra.get("aliases", []):
        place = gaz.by_name(item["layer"], item["name"])
        if place is not None:
            gaz.add(item["surface"], place, precision=item.get("precision"), alias=True)
    return extra


def _add_extra(session: Session, gaz: Gazetteer, extra_file: Path) -> None:
    extra = load_extra_vocabulary(gaz, extra_file)
    for item in extra.get("virtual", []):  # type: ignore[union-attr]
        table = item["layer"]
        if table not in LAYER_MODELS:
            continue
        ids = tuple(session.execute(text(f"SELECT id FROM {table} WHERE {item['where']} ORDER BY id")).scalars())
        if not ids:
            continue
        precision, exactness, loc_class = LAYER_CODES[table]
        name = item["name"]
        place = Place(table, table, ids, f"{table}:{name}", name, None, None, precision, exactness, loc_class)
        gaz.add_virtual(place, [name, *item.get("aliases", [])])


def signature(session: Session) -> str:
    """Changes whenever any layer row is added, removed or edited: the cache key of a built gazetteer."""
    parts = " || '|' || ".join(
        [
            *(f"(SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM {t})" for t in LAYER_MODELS),
            f"(SELECT count(*) || ':' || coalesce(max(loaded_at)::text, '') FROM {DIVISION_LAYER})",
            "(SELECT count(*) || ':' || coalesce(max(at)::text, '') FROM layer_versions)",
            "(SELECT string_agg(id || status || gazetteer::text, ',' ORDER BY id) FROM layer_catalogue)",
        ]
    )
    extra_mtime = str(EXTRA_FILE.stat().st_mtime) if EXTRA_FILE.exists() else ""
    return str(session.execute(text(f"SELECT {parts}")).scalar_one()) + extra_mtime
