"""Screening rules as data: ``geodata/rules/<layer>/<scheme>.yaml`` and ``categories.yaml``.

The regulations change (2012 → 2024) and more will come; keeping verdicts in files means a new
scheme is a new file, reviewed by people who read regulations, not a code change.  Files are
re-read when they change (mtime), so an edited rule applies at the next request.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from service.settings import PROJECT_ROOT, get_settings

VERDICTS = ("prohibited", "needs_approval", "allowed", "outside")
SEVERITY = {v: i for i, v in enumerate(reversed(VERDICTS))}  # outside 0 ... prohibited 3
UNSPECIFIED = "unspecified"
ANY = "*"


class RulesError(ValueError):
    """A rules file that cannot be used (raised at load, naming the file and field)."""


@dataclass(frozen=True)
class Category:
    id: str
    zh: str
    en: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    verdict: str
    clause: str
    by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "needs_approval_by": self.by, "clause": self.clause}


@dataclass(frozen=True)
class Scheme:
    """The rules of one zoning scheme of one layer."""

    layer: str
    scheme: str
    title: str
    regulation: str
    regulation_en: str
    basis: str
    valid_from: date | None
    valid_to: date | None
    path: str  # relative to the project root, recorded with every screening
    sha256: str
    all_subzones: dict[str, Verdict] = field(default_factory=dict)
    subzones: dict[str, dict[str, Any]] = field(default_factory=dict)

    def in_force(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_to is None or on <= self.valid_to)

    def verdict_for(self, subzone: str | None, category: str) -> Verdict:
        """The rule for a zone hit: sub-zone override, then all-sub-zone rule, then the sub-zone default."""
        for key in (subzone, ANY):
            entry = self.subzones.get(key) if key is not None else None
            if entry is None:
                continue
            own = entry["categories"].get(category)
            if own is not None:
                return own
            if category in self.all_subzones:
                return self.all_subzones[category]
            return entry["default"]
        if category in self.all_subzones:
            return self.all_subzones[category]
        return Verdict(
            "needs_approval",
            f"no rule for sub-zone {subzone!r} in {self.path}; consult the authority named in {self.regulation}",
        )

    def subzone_en(self, subzone: str | None) -> str | None:
        entry = self.subzones.get(subzone or "")
        return entry.get("subzone_en") if entry else None

    def summary(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "scheme": self.scheme,
            "title": self.title,
            "regulation": self.regulation,
            "regulation_en": self.regulation_en,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "basis": self.basis,
            "rules_file": self.path,
            "rules_sha256": self.sha256,
        }


def rules_dir() -> Path:
    return get_settings().geodata_dir / "rules"


def _verdict(raw: Any, where: str) -> Verdict:
    if not isinstance(raw, dict) or raw.get("verdict") not in VERDICTS[:3]:
        raise RulesError(f"{where}: needs 'verdict' one of {', '.join(VERDICTS[:3])}")
    if not raw.get("clause"):
        raise RulesError(f"{where}: needs a 'clause'")
    if raw["verdict"] == "needs_approval" and not raw.get("by"):
        raise RulesError(f"{where}: a needs_approval verdict must say 'by' whom")
    return Verdict(raw["verdict"], str(raw["clause"]).strip(), raw.get("by"))


def _as_date(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise RulesError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def parse_scheme(path: Path, known_categories: set[str]) -> Scheme:
    """Read and check one scheme file; every category it names must exist in categories.yaml."""
    text = path.read_bytes()
    raw = yaml.safe_load(text) or {}
    rel = str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
    for key in ("layer", "scheme", "regulation", "subzones"):
        if not raw.get(key):
            raise RulesError(f"{rel}: missing '{key}'")

    def check_category(cat: str, where: str) -> str:
        if cat not in known_categories:
            raise RulesError(f"{where}: unknown category {cat!r}; known: {', '.join(sorted(known_categories))}")
        return cat

    all_subzones = {
        check_category(c, f"{rel} all_subzones"): _verdict(v, f"{rel} all_subzones.{c}")
        for c, v in (raw.get("all_subzones") or {}).items()
    }
    subzones: dict[str, dict[str, Any]] = {}
    for name, entry in raw["subzones"].items():
        where = f"{rel} subzones.{name}"
        subzones[str(name)] = {
            "subzone_en": entry.get("subzone_en"),
            "default": _verdict(entry.get("default"), f"{where}.default"),
            "categories": {
                check_category(c, where): _verdict(v, f"{where}.categories.{c}")
                for c, v in (entry.get("categories") or {}).items()
            },
        }
    return Scheme(
        layer=str(raw["layer"]),
        scheme=str(raw["scheme"]),
        title=str(raw.get("title") or raw["scheme"]),
        regulation=str(raw["regulation"]),
        regulation_en=str(raw.get("regulation_en") or ""),
        basis=str(raw.get("basis") or ""),
        valid_from=_as_date(raw.get("valid_from"), f"{rel} valid_from"),
        valid_to=_as_date(raw.get("valid_to"), f"{rel} valid_to"),
        path=rel,
        sha256=hashlib.sha256(text).hexdigest(),
        all_subzones=all_subzones,
        subzones=subzones,
    )


@dataclass(frozen=True)
class RuleBook:
    categories: tuple[Category, ...]
    schemes: tuple[Scheme, ...]

    def scheme(self, layer: str, scheme: str | None, on: date) -> Scheme | None:
        """The rules for a zone: by its scheme id when the layer has schemes, else the file in force."""
        candidates = [s for s in self.schemes if s.layer == layer]
        if scheme is not None:
            exact = [s for s in candidates if s.scheme == scheme]
            if exact:
                return exact[0]
        in_force = [s for s in candidates if s.scheme == ANY and s.in_force(on)]
        return in_force[0] if in_force else None

    def category(self, given: str) -> Category | None:
        """A category named by id, Chinese name or keyword (for API input)."""
        text = given.strip()
        for c in self.categories:
            if text in (c.id, c.zh, c.en):
                return c
        return self.infer(text)

    def infer(self, *texts: str | None) -> Category | None:
        return self.infer_with_keyword(*texts)[0]

    def infer_with_keyword(self, *texts: str | None) -> tuple[Category | None, str | None]:
        """The category of the first text (in the order given) that names one, and the keyword found;
        within a text, file order wins."""
        for text in texts:
            if not text:
                continue
            for c in self.categories:
                found = next((k for k in c.keywords if k in text), None)
                if found is not None:
                    return c, found
        return None, None


def _fingerprint(directory: Path) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((str(p), p.stat().st_mtime) for p in directory.rglob("*.yaml")))


@lru_cache(maxsize=4)
def _load(directory: Path, fingerprint: tuple[tuple[str, float], ...]) -> RuleBook:
    cat_path = directory / "categories.yaml"
    raw = yaml.safe_load(cat_path.read_text(encoding="utf-8")) or {}
    categories = tuple(
        Category(str(c["id"]), str(c.get("zh", c["id"])), str(c.get("en", "")), tuple(c.get("keywords") or ()))
        for c in raw.get("categories", [])
    )
    known = {c.id for c in categories} | {UNSPECIFIED}
    schemes = tuple(parse_scheme(p, known) for p in sorted(directory.glob("*/*.yaml")))
    seen: set[tuple[str, str]] = set()
    for s in schemes:
        if (s.layer, s.scheme) in seen:
            raise RulesError(f"{s.path}: a second file for layer {s.layer!r} scheme {s.scheme!r}")
        seen.add((s.layer, s.scheme))
    return RuleBook(categories, schemes)


RECHECK_SECONDS = 1.0
_checked: dict[Path, tuple[float, tuple[tuple[str, float], ...]]] = {}


def load_rules(directory: Path | None = None) -> RuleBook:
    """The rule book, re-read whenever a file under ``geodata/rules/`` changes.

    The files' times are looked at no more than once a second: walking the directory on every
    screening cost more than the screening's own Python work under load.
    """
    directory = directory or rules_dir()
    now = time.monotonic()
    checked = _checked.get(directory)
    if checked is None or now - checked[0] > RECHECK_SECONDS:
        checked = (now, _fingerprint(directory))
        _checked[directory] = checked
    return _load(directory, checked[1])
