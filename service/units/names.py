"""How unit names are compared: one normal form, and which names only make sense inside their city.

Plans write the same name with and without quotes, in full- or half-width forms (“3+5”城市群, "3+5城市群);
comparing the normal form makes those one name without making near-misses (市住建居) equal.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_DROP = re.compile(r"[\s\"'“”‘’「」『』〈〉《》]")
RELATIVE_PREFIXES = ("市", "区", "县")


def normalise(name: str) -> str:
    """NFKC (full-width to half-width), without spaces and quote marks."""
    return _DROP.sub("", unicodedata.normalize("NFKC", name))


def city_stem(city: str | None) -> str | None:
    """株洲市 → 株洲: the part of a city's name that a unit's own name carries."""
    if not city:
        return None
    return city[:-1] if city.endswith("市") else city


def relative_by_default(name: str, unit_city: str | None, unit_kind: str) -> bool:
    """Does ``name`` name the unit only in a plan of the unit's own city?

    市发改委 in a Zhuzhou plan is Zhuzhou's, in a Changsha plan Changsha's; 株洲市发改委 is Zhuzhou's
    anywhere.  District and county names are unique in the province, so their governments' names are not
    relative; provincial and central units (no city) have no city to be relative to.
    """
    if unit_city is None or unit_kind == "district_government":
        return False
    stem = city_stem(unit_city)
    return name.startswith(RELATIVE_PREFIXES) or (stem is not None and stem not in name)


def valid_on(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    """Validity is [valid_from, valid_to): open ends are always."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on < valid_to)
