"""Screening rules as data: ``geodata/rules/<layer>/<scheme>.yaml`` and ``categories.yaml``.

The regulations change (2012 → 2024) and more will come; keeping verdicts in files means a new
scheme is a new file, reviewed by people who read regulations, not a code change.  Files are
re-read when they change (mtime), so an edited rule applies at the next request.

The same YAML may also come from GIS staff as an upload for a layer they published (issue 20,
``service.screening.rules_store``): :func:`parse_scheme_text` reads bytes from either place, and a file that
cannot be used is refused with the line at fault (:class:`RulesError`), so the person who wrote it can fix it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime
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
    """A rules file that cannot be used: the message names the file, the line and the field where known.

    ``line`` (1-based) and ``field`` (the key path, e.g. ``subzones.核心保护区.default``) are kept apart too,
    so an upload can be refused with the place to fix in the answer's own members, not only in prose.
    """

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.field = field


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


KeyPath = tuple[object, ...]  # a key path in a rules file: ("subzones", "核心保护区", "default")


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load``'s own loader, but a date that is no date (``2024-13-01``) is a YAML error with its
    position: PyYAML lets the bare ValueError of ``datetime.date`` escape, without a line."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            problem = f"{node.value!r} is not a date (YYYY-MM-DD): {exc}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _read_yaml(content: bytes, source: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for lines) and its values, in one pass of the safe loader."""
    loader = None
    try:
        loader = _Loader(content)  # reads the first bytes already: a bad one is an error here
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, content, source) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_error(exc: yaml.YAMLError, content: bytes, source: str) -> RulesError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line: int | None = mark.line + 1 if mark is not None else None
    if isinstance(exc, yaml.reader.ReaderError):  # a byte that is not UTF-8, or a control character
        if exc.encoding == "unicode":  # a character that may not appear: the position counts characters
            line = content.decode("utf-8", "replace")[: exc.position].count("\n") + 1
        else:  # a byte that does not decode: the position counts bytes
            line = content[: exc.position].count(b"\n") + 1
        problem = f"{exc.reason} (#x{exc.character:04x}); a rules file is UTF-8 text"
    else:
        context, found = getattr(exc, "context", None), getattr(exc, "problem", None) or str(exc)
        problem = f"{context}: {found}" if context else str(found)
    where = f" line {line}" if line is not None else ""
    return RulesError(f"{source}{where}: not valid YAML: {problem}", line=line)


class _Marks:
    """The lines of a document's keys and values by key path: the loaded values carry no positions."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, path: KeyPath, *, key: bool = False) -> int:
        """The line of the value at ``path`` (of its key, with ``key``), or of the nearest ancestor that exists.

        A mapping's value starts at its first key; an empty document is line 1.
        """
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for n, step in enumerate(path):
            if not isinstance(node, yaml.MappingNode):
                break
            # the last of duplicate keys, as the loader keeps the last value
            pair = next((kv for kv in reversed(node.value) if _is_key(kv[0], step)), None)
            if pair is None:
                break
            key_node, node = pair
            line = (key_node if key and n == len(path) - 1 else node).start_mark.line + 1
        return line


def _is_key(node: yaml.Node, step: object) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == str(step)


@dataclass(frozen=True)
class _Source:
    """A rules text being read: its name and its marks, for errors that say where."""

    name: str
    marks: _Marks

    def error(self, path: KeyPath, problem: str, *, key: bool = False) -> RulesError:
        line = self.marks.line(path, key=key)
        where = ".".join(str(p) for p in path) or None
        shown = f" ({where})" if where else ""
        return RulesError(f"{self.name} line {line}{shown}: {problem}", line=line, field=where)


def _verdict(
    raw: Any, src: _Source, at: KeyPath, category: str | None = None, non_development: AbstractSet[str] = frozenset()
) -> Verdict:
    """One verdict of a file; ``category`` is None for a sub-zone's default.

    A task that builds nothing is not a development activity in any zone: a file may answer such a category
    only ``not_applicable``, and no other category (nor a default) ``not_applicable``.
    """
    if not isinstance(raw, dict) or raw.get("verdict") not in RULE_VERDICTS:
        raise src.error(at, f"needs 'verdict' one of {', '.join(RULE_VERDICTS)}")
    if category in non_development and raw["verdict"] != NOT_APPLICABLE:
        raise src.error(at, f"{category!r} builds nothing; its verdict must be {NOT_APPLICABLE!r}")
    if category not in non_development and raw["verdict"] == NOT_APPLICABLE:
        what = f"category {category!r}" if category else "a sub-zone default"
        raise src.error(at, f"{NOT_APPLICABLE!r} is only for categories that build nothing, not {what}")
    if not raw.get("clause"):
        raise src.error(at, "needs a 'clause'")
    if raw["verdict"] == "needs_approval" and not raw.get("by"):
        raise src.error(at, "a needs_approval verdict must say 'by' whom")
    article = str(raw["article"]).strip() if raw.get("article") else None
    return Verdict(raw["verdict"], str(raw["clause"]).strip(), raw.get("by"), article)


def _as_date(value: Any, src: _Source, at: KeyPath) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # "2024-09-01 00:00" loads as a datetime; a scheme is in force by day
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise src.error(at, f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _mapping(raw: Any, src: _Source, at: KeyPath, what: str) -> dict[Any, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise src.error(at, f"must be a mapping of {what}, not {type(raw).__name__}")
    return raw


def parse_scheme(
    path: Path, known_categories: AbstractSet[str], non_development: AbstractSet[str] = frozenset()
) -> Scheme:
    """Read and check one scheme file under the project (its path, relative to the root, is recorded)."""
    rel = str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
    return parse_scheme_text(path.read_bytes(), rel, known_categories, non_development)


def parse_scheme_text(
    content: bytes,
    source: str,
    known_categories: AbstractSet[str],
    non_development: AbstractSet[str] = frozenset(),
    *,
    layer: str | None = None,
) -> Scheme:
    """Check one scheme's YAML; every category it names must exist in categories.yaml.

    ``source`` names the text in errors and is recorded with every screening (``Scheme.path``): a file's path
    or ``layer_rules/<id>``.  With ``layer``, the file must be that layer's (an upload for a given layer).
    Categories that build nothing (``non_development``) and that the file does not name get
    ``not_applicable`` in every sub-zone, so a new scheme file can never prohibit a reform by forgetting it.
    """
    root, raw = _read_yaml(content, source)
    src = _Source(source, _Marks(root))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise src.error(
            (), f"the top level must be a mapping (layer, scheme, regulation, subzones ...), not {type(raw).__name__}"
        )
    for key in ("layer", "scheme", "regulation", "subzones"):
        if not raw.get(key):
            raise src.error((key,), f"missing '{key}'")
    if layer is not None and str(raw["layer"]) != layer:
        raise src.error(("layer",), f"the file is for layer {str(raw['layer'])!r}, not {layer!r}")

    def check_category(cat: Any, at: KeyPath) -> str:
        if cat not in known_categories:
            known = ", ".join(sorted(known_categories))
            raise src.error(at, f"unknown category {cat!r}; known: {known}", key=True)
        return str(cat)

    all_subzones = {
        check_category(c, ("all_subzones", c)): _verdict(v, src, ("all_subzones", c), c, non_development)
        for c, v in _mapping(raw.get("all_subzones"), src, ("all_subzones",), "categories to verdicts").items()
    }
    for c in sorted(set(non_development) - set(all_subzones)):
        all_subzones[c] = Verdict(NOT_APPLICABLE, IMPLICIT_NOT_APPLICABLE)
    subzones = {
        str(name): _subzone(entry, src, ("subzones", name), check_category, non_development)
        for name, entry in _mapping(raw["subzones"], src, ("subzones",), "sub-zone names to their rules").items()
    }
    valid_from = _as_date(raw.get("valid_from"), src, ("valid_from",))
    valid_to = _as_date(raw.get("valid_to"), src, ("valid_to",))
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise src.error(("valid_to",), f"valid_to {valid_to} is before valid_from {valid_from}")
    return Scheme(
        layer=str(raw["layer"]),
        scheme=str(raw["scheme"]),
        title=str(raw.get("title") or raw["scheme"]),
        regulation=str(raw["regulation"]),
        regulation_en=str(raw.get("regulation_en") or ""),
        basis=str(raw.get("basis") or ""),
        valid_from=valid_from,
        valid_to=valid_to,
        path=source,
        sha256=hashlib.sha256(content).hexdigest(),
        all_subzones=all_subzones,
        subzones=subzones,
    )


def _subzone(
    entry: Any, src: _Source, at: KeyPath, check_category: Any, non_development: AbstractSet[str]
) -> dict[str, Any]:
    """One sub-zone's rules: its English name, its default verdict and its own verdicts per category."""
    if not isinstance(entry, dict):
        raise src.error(at, "a sub-zone must be a mapping with a 'default' verdict (and 'categories')")
    own = _mapping(entry.get("categories"), src, (*at, "categories"), "categories to verdicts")
    return {
        "subzone_en": entry.get("subzone_en"),
        "default": _verdict(entry.get("default"), src, (*at, "default"), None, non_development),
        "categories": {
            check_category(c, (*at, "categories", c)): _verdict(v, src, (*at, "categories", c), c, non_development)
            for c, v in own.items()
        },
    }


def category_ids(categories: Iterable[Category]) -> tuple[frozenset[str], frozenset[str]]:
    """The category ids a rules file may name (with ``unspecified``) and those of tasks that build nothing."""
    categories = tuple(categories)
    known = frozenset(c.id for c in categories) | {UNSPECIFIED}
    return known, frozenset(c.id for c in categories if not c.development)


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
        # a zone without a scheme id (a published layer's table has none, issue 20) takes any of its layer's rules
        # files in force at the date, the newest first: a 2018 file valid to 2023 and a 2024 file both stand
        in_force = [s for s in candidates if (s.scheme == ANY or scheme is None) and s.in_force(on)]
        in_force.sort(key=lambda s: (s.scheme != ANY and scheme is not None, -(s.valid_from or date.min).toordinal()))
        return in_force[0] if in_force else None

    def with_schemes(self, extra: tuple[Scheme, ...]) -> RuleBook:
        """This book with ``extra`` schemes (published layers' rules, issue 20); an extra scheme replaces one of
        the same layer and scheme id here.  Published layers' ids are never a bundled layer's, so in practice
        nothing is replaced, but the newest word wins if it ever were."""
        if not extra:
            return self
        added = {(s.layer, s.scheme): s for s in extra}
        kept = tuple(s for s in self.schemes if (s.layer, s.scheme) not in added)
        return replace(self, schemes=kept + tuple(added.values()))

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
    known, non_development = category_ids(categories)
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
