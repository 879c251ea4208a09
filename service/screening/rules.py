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

from service.screening import categories as reading
from service.screening.categories import Category
from service.settings import PROJECT_ROOT, get_settings

# Most severe first.  `not_applicable` (issue 18) is the answer for a task that builds nothing (a reform, a
# plan, a financing): "not a development activity", not a zone verdict.  It is the least severe answer for a
# zone the site lies in, yet above `outside`, so that a policy task placed on the Green Heart says so rather
# than "outside" (a zone was hit: `flagged` is true).  Every other verdict outranks it.
VERDICTS = ("prohibited", "needs_approval", "allowed", "not_applicable", "outside")
SEVERITY = {v: i for i, v in enumerate(reversed(VERDICTS))}  # outside 0, not_applicable 1 ... prohibited 4
NOT_APPLICABLE = "not_applicable"
RULE_VERDICTS = VERDICTS[:4]  # what a rules file may say (outside is the screening's own answer)
UNSPECIFIED = "unspecified"
ANY = "*"
IMPLICIT_NOT_APPLICABLE = (
    "非建设类活动 (政策、规划、制度、改革、金融、监管等) 不是开发建设活动, 不适用分区开发管控 "
    "(categories.yaml: development: false; 本规则文件未另行说明)。"
)


class RulesError(ValueError):
    """A rules file that cannot be used (raised at load, naming the file and field)."""


@dataclass(frozen=True)
class Verdict:
    verdict: str
    clause: str
    by: str | None = None
    article: str | None = None  # the regulation's article, only where a checked source gives it (never guessed)

    def as_dict(self) -> dict[str, Any]:
        shown = {"verdict": self.verdict, "needs_approval_by": self.by, "clause": self.clause}
        if self.article:
            shown["article"] = self.article
        return shown


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


def _verdict(
    raw: Any, where: str, category: str | None = None, non_development: frozenset[str] = frozenset()
) -> Verdict:
    """One verdict of a file; ``category`` is None for a sub-zone's default.

    A task that builds nothing is not a development activity in any zone: a file may answer such a category
    only ``not_applicable``, and no other category (nor a default) ``not_applicable``.
    """
    if not isinstance(raw, dict) or raw.get("verdict") not in RULE_VERDICTS:
        raise RulesError(f"{where}: needs 'verdict' one of {', '.join(RULE_VERDICTS)}")
    if category in non_development and raw["verdict"] != NOT_APPLICABLE:
        raise RulesError(f"{where}: {category!r} builds nothing; its verdict must be {NOT_APPLICABLE!r}")
    if category not in non_development and raw["verdict"] == NOT_APPLICABLE:
        what = f"category {category!r}" if category else "a sub-zone default"
        raise RulesError(f"{where}: {NOT_APPLICABLE!r} is only for categories that build nothing, not {what}")
    if not raw.get("clause"):
        raise RulesError(f"{where}: needs a 'clause'")
    if raw["verdict"] == "needs_approval" and not raw.get("by"):
        raise RulesError(f"{where}: a needs_approval verdict must say 'by' whom")
    article = str(raw["article"]).strip() if raw.get("article") else None
    return Verdict(raw["verdict"], str(raw["clause"]).strip(), raw.get("by"), article)


def _as_date(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise RulesError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def parse_scheme(path: Path, known_categories: set[str], non_development: frozenset[str] = frozenset()) -> Scheme:
    """Read and check one scheme file; every category it names must exist in categories.yaml.

    Categories that build nothing (``non_development``) and that the file does not name get
    ``not_applicable`` in every sub-zone, so a new scheme file can never prohibit a reform by forgetting it.
    """
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
        check_category(c, f"{rel} all_subzones"): _verdict(v, f"{rel} all_subzones.{c}", c, non_development)
        for c, v in (raw.get("all_subzones") or {}).items()
    }
    for c in sorted(non_development - set(all_subzones)):
        all_subzones[c] = Verdict(NOT_APPLICABLE, IMPLICIT_NOT_APPLICABLE)
    subzones: dict[str, dict[str, Any]] = {}
    for name, entry in raw["subzones"].items():
        where = f"{rel} subzones.{name}"
        subzones[str(name)] = {
            "subzone_en": entry.get("subzone_en"),
            "default": _verdict(entry.get("default"), f"{where}.default", None, non_development),
            "categories": {
                check_category(c, where): _verdict(v, f"{where}.categories.{c}", c, non_development)
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
    vocabulary: reading.Vocabulary = field(default_factory=reading.Vocabulary)

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
        """A category named by id, Chinese or English name, or read from words (for API input)."""
        return self.read(given).category

    def read(self, *texts: str | None) -> reading.Inference:
        """The category of texts (most telling first) with its words and confidence: see categories.py."""
        return reading.infer(self.categories, self.vocabulary, *texts)

    def infer(self, *texts: str | None) -> Category | None:
        return self.read(*texts).category

    def infer_with_keyword(self, *texts: str | None) -> tuple[Category | None, str | None]:
        """The category read from the texts and its first decisive word (kept for callers of the old matcher)."""
        found = self.read(*texts)
        return found.category, (found.words[0] if found.words else None)


def _fingerprint(directory: Path) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((str(p), p.stat().st_mtime) for p in directory.rglob("*.yaml")))


@lru_cache(maxsize=4)
def _load(directory: Path, fingerprint: tuple[tuple[str, float], ...]) -> RuleBook:
    cat_path = directory / "categories.yaml"
    raw = yaml.safe_load(cat_path.read_text(encoding="utf-8")) or {}
    categories = tuple(_category(c, cat_path) for c in raw.get("categories", []))
    known = {c.id for c in categories} | {UNSPECIFIED}
    non_development = frozenset(c.id for c in categories if not c.development)
    for c in categories:
        for other in c.outranks:
            if other not in known:
                raise RulesError(f"{cat_path.name} category {c.id!r}: outranks unknown category {other!r}")
    schemes = tuple(parse_scheme(p, known, non_development) for p in sorted(directory.glob("*/*.yaml")))
    seen: set[tuple[str, str]] = set()
    for s in schemes:
        if (s.layer, s.scheme) in seen:
            raise RulesError(f"{s.path}: a second file for layer {s.layer!r} scheme {s.scheme!r}")
        seen.add((s.layer, s.scheme))
    return RuleBook(categories, schemes, reading.Vocabulary.from_yaml(raw))


def _category(raw: dict[str, Any], path: Path) -> Category:
    where = f"{path.name} category {raw.get('id')!r}"
    if not raw.get("id"):
        raise RulesError(f"{path.name}: a category without an 'id'")
    kind = str(raw.get("kind", "object"))
    if kind not in ("action", "object"):
        raise RulesError(f"{where}: kind must be 'action' or 'object', not {kind!r}")
    return Category(
        str(raw["id"]),
        str(raw.get("zh", raw["id"])),
        str(raw.get("en", "")),
        tuple(str(k) for k in raw.get("keywords") or ()),
        tuple(str(k) for k in raw.get("weak") or ()),
        kind,
        bool(raw.get("development", True)),
        tuple(str(k) for k in raw.get("outranks") or ()),
    )


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
