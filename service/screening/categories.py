"""Which category a task belongs to, read from what it will build or do (issue 18).

The first matcher took the first keyword found anywhere in the text, so "清水塘老工业区土壤修复" was an
industrial project (工业, from the zone's name) and therefore prohibited, and a financing or planning task
with no keyword at all was "unspecified", which the Green Heart core also prohibits.  An inspector cannot
sign that.  This module reads a task the way a person does:

1. places are set aside first: a task is *in* 清水塘老工业区 or 株洲经开区, it does not build one
   (:func:`strip_places`);
2. the text is cut into clauses and the longest word wins where words overlap (工业遗址公园 is heritage, not
   工业 nor 公园) (:func:`find_words`);
3. in a clause with a strong *action* word (关闭, 修复, 改革, 规划编制, 金融 …) and no build word, the *object*
   words name what is closed, treated or financed, not what is built, and are dropped (:func:`clause_hits`);
4. words are weighed (strong 1, weak 0.4; objects x1.5 in a clause that builds; task text 1, title 0.5, plan
   section 0.25), and the confidence says how clearly the winner wins, so that an unclear task goes to an
   inspector rather than to a verdict (:func:`infer`).

The vocabulary (words, places, build words) is data in ``geodata/rules/categories.yaml``; only the reading is
code.  Plain functions of plain values: the rule book calls them, the tests call them directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Category:
    """A project category of categories.yaml and the words it is read from.

    ``kind`` is ``action`` (what is done to things: closing, treating, planning) or ``object`` (what is built);
    ``development`` is false for tasks that build nothing, which every scheme answers ``not_applicable``.
    """

    id: str
    zh: str
    en: str
    keywords: tuple[str, ...]
    weak: tuple[str, ...] = ()
    kind: str = "object"
    development: bool = True
    outranks: tuple[str, ...] = ()  # categories dropped from a clause where this one has a strong word


REVIEW_BELOW = 0.6  # confidence under which a person should set the category (needs_review)
STRONG, WEAK = 1.0, 0.4  # weight of a `keywords` word and of a `weak` word
BUILD_BOOST = 1.5  # an object word in a clause that builds (新建, 建设 …) says what the task builds
TEXT_WEIGHTS = (1.0, 0.5, 0.25)  # task text, title, plan section: the task's own words count most
MAX_REPEATS = 2  # a word repeated ten times in a long text is still one piece of evidence, not ten
PLACE_MARK = "□"  # what a place name is replaced by: no word can run across it
# verbs the short-name part of an area may swallow (推进云龙示范区): left in the text, not in the place's name
LEADING_VERBS = (
    "推进",
    "推动",
    "加快",
    "启动",
    "开展",
    "完成",
    "实施",
    "支持",
    "打造",
    "强化",
    "全面",
    "积极",
    "巩固",
    "提升",
    "继续",
)
CLAUSE_BREAK = re.compile(r"[，,；;。！!？?\n]+")
# the short name before an area's kind (云龙 in 云龙示范区): up to 7 characters (leading verbs are given back),
# never across a character that starts another phrase (在 …, 建 …, 和/与/及 …, 对 …, 的)
NAME = r"(?P<name>(?:(?![在建和与及对的])[\u4e00-\u9fff]){0,7}?)"


@dataclass(frozen=True)
class Vocabulary:
    """The words of ``categories.yaml`` that are not a category's: places and build words."""

    place_names: tuple[str, ...] = ()
    place_patterns: tuple[re.Pattern[str], ...] = ()
    build_words: tuple[str, ...] = ()

    @classmethod
    def from_yaml(cls, raw: dict[str, Any]) -> Vocabulary:
        places = raw.get("places") or {}
        names = sorted((str(n) for n in places.get("names") or ()), key=len, reverse=True)
        patterns = tuple(re.compile(str(p).replace("{name}", NAME)) for p in places.get("patterns") or ())
        return cls(tuple(names), patterns, tuple(str(w) for w in raw.get("build_words") or ()))


@dataclass(frozen=True)
class Hit:
    word: str
    category: str
    weight: float
    start: int


@dataclass(frozen=True)
class Inference:
    """A category read from texts, with the words that decided it and how sure the reading is."""

    category: Category | None
    words: tuple[str, ...] = ()
    confidence: float = 0.0
    places: tuple[str, ...] = ()  # place names set aside (shown, so a reader sees why 工业 did not count)
    scores: dict[str, float] = field(default_factory=dict)
    exact: bool = False  # a text was the category's own id or name

    @property
    def needs_review(self) -> bool:
        return self.category is None or self.confidence < REVIEW_BELOW

    def reason(self) -> str:
        """The reason as a person reads it (the answer's ``category.given`` for an inferred category)."""
        if self.category is None:
            text = "no category word in the project text"
        elif self.exact:
            text = f"category named in the project record: {self.words[0] if self.words else self.category.id}"
        else:
            text = f"words {'、'.join(self.words)} in the project text (confidence {self.confidence:.2f})"
        if self.places:
            text += f"; place names set aside: {'、'.join(self.places)}"
        return text


def _is_built(text: str, start: int, kind_at: int, build_words: Sequence[str]) -> bool:
    """Whether a build word ends between just before an area's name and its kind (新建工业区, 建设工业园区):
    the area is then what the task builds, not where it is."""
    window_at = max(0, start - 3)
    window = text[window_at:kind_at]
    for w in build_words:
        found = window.rfind(w)
        if found != -1 and window_at + found + len(w) >= start:
            return True
    return False


def strip_places(text: str, vocabulary: Vocabulary, keep: Iterable[str] = ()) -> tuple[str, list[str]]:
    """The text with its place names replaced by a mark, and the names removed.

    A place says where a task is, never what it builds: 清水塘老工业区 contains 工业 and 工业区, 株洲经开区
    and 工业园 look like industry.  Names right after a build word (新建工业区) are what is built and stay.
    A category word inside the short part of a name (土壤修复示范区) is kept: it is not the place's.
    """
    removed: list[str] = []
    for name in vocabulary.place_names:
        if name in text:
            removed.append(name)
            text = text.replace(name, PLACE_MARK)

    for pattern in vocabulary.place_patterns:

        def replace(m: re.Match[str]) -> str:
            if _is_built(m.string, m.start(), m.end("name"), vocabulary.build_words):
                return m.group(0)
            name = m.group("name") or ""
            cut = max((name.rfind(w) + len(w) for w in keep if w in name), default=0)
            while (verb := next((v for v in LEADING_VERBS if name.startswith(v, cut)), None)) is not None:
                cut += len(verb)  # 推进云龙示范区: the place is 云龙示范区 (shown to the inspector as such)
            if name or not m.string[: m.start()].endswith(PLACE_MARK):
                removed.append(m.group(0)[cut:])
            # else the kind of a name already set aside (清水塘 + 地区): not a second place
            return m.group(0)[:cut] + PLACE_MARK

        text = pattern.sub(replace, text)
    return text, removed


@dataclass(frozen=True)
class Lexicon:
    """Every category word with its category and weight, and one pattern that finds them all."""

    words: dict[str, tuple[str, float]]
    kinds: dict[str, str]
    outranks: dict[str, tuple[str, ...]]
    pattern: re.Pattern[str]
    strong: tuple[str, ...]  # the strong words, longest first (kept when inside a place's short name)


@lru_cache(maxsize=8)
def lexicon(categories: tuple[Category, ...]) -> Lexicon:
    """The words of the categories, built once per rule book (a batch reads thousands of tasks).

    One alternation, longest word first, scanned left to right: at each place the longest word wins, so
    工业遗址公园 is read as heritage and never as 工业 or 公园.
    """
    words: dict[str, tuple[str, float]] = {}
    for c in categories:
        for w in c.weak:
            words.setdefault(w, (c.id, WEAK))
        for w in c.keywords:
            words[w] = (c.id, STRONG)  # a word listed strong somewhere is strong
    ordered = sorted(words, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in ordered)) if ordered else re.compile(r"(?!x)x")
    strong = tuple(w for w in ordered if words[w][1] >= STRONG)
    kinds = {c.id: c.kind for c in categories}
    return Lexicon(words, kinds, {c.id: c.outranks for c in categories if c.outranks}, pattern, strong)


def find_words(clause: str, lex: Lexicon) -> list[Hit]:
    """The category words of a clause, left to right, the longest at each place, never two overlapping."""
    return [Hit(m.group(0), *lex.words[m.group(0)], m.start()) for m in lex.pattern.finditer(clause)]


def clause_hits(clause: str, hits: list[Hit], lex: Lexicon, build_words: Sequence[str]) -> list[Hit]:
    """The hits that count in one clause, each with the weight it counts for.

    A clause that closes, treats, plans or finances something names that thing without building it, so its
    object words are dropped, unless the clause also builds (then the object is what is built, and counts more).
    A category that outranks another drops it from the clause (the closure words of "搬迁关停企业场地污染治理"
    say whose site is treated; the treatment is the work).
    """
    kinds = lex.kinds
    builds = any(w in clause for w in build_words)
    strong = {h.category for h in hits if h.weight >= STRONG}
    if not builds and any(kinds.get(c) == "action" for c in strong):
        hits = [h for h in hits if kinds.get(h.category) == "action"]
    dropped = {o for c in strong for o in lex.outranks.get(c, ())}
    hits = [h for h in hits if h.category not in dropped]
    if not builds:
        return hits
    return [
        Hit(h.word, h.category, h.weight * BUILD_BOOST, h.start) if kinds.get(h.category) == "object" else h
        for h in hits
    ]


def _texts(texts: Iterable[str | None]) -> list[str]:
    """Non-empty texts, without one already contained in an earlier one (a title repeating the task)."""
    kept: list[str] = []
    for t in texts:
        t = (t or "").strip()
        if t and not any(t in k for k in kept):
            kept.append(t)
    return kept


def exact_category(text: str, categories: Sequence[Category]) -> Category | None:
    """The category a text names outright (its id, Chinese or English name)."""
    t = text.strip()
    return next((c for c in categories if t in (c.id, c.zh, c.en)), None)


def infer(categories: Sequence[Category], vocabulary: Vocabulary, *texts: str | None) -> Inference:
    """The category of a task from its texts, most telling first (task text, title, plan section)."""
    kept = _texts(texts)
    for t in kept:
        named = exact_category(t, categories)
        if named is not None:
            return Inference(named, (t,), 1.0, exact=True, scores={named.id: 1.0})

    lex = lexicon(tuple(categories))
    strong = lex.strong
    scores: dict[str, float] = {}
    found: dict[str, list[str]] = {}
    places: list[str] = []
    for n, text in enumerate(kept):
        weight = TEXT_WEIGHTS[min(n, len(TEXT_WEIGHTS) - 1)]
        stripped, removed = strip_places(text, vocabulary, strong)
        places += [p for p in removed if p not in places and p != PLACE_MARK]
        repeats: dict[str, int] = {}
        for clause in CLAUSE_BREAK.split(stripped):
            for h in clause_hits(clause, find_words(clause, lex), lex, vocabulary.build_words):
                repeats[h.word] = repeats.get(h.word, 0) + 1
                if repeats[h.word] > MAX_REPEATS:
                    continue
                scores[h.category] = scores.get(h.category, 0.0) + h.weight * weight
                if h.word not in found.setdefault(h.category, []):
                    found[h.category].append(h.word)
    scores = {c: round(s, 3) for c, s in scores.items() if s > 0}
    if not scores:
        return Inference(None, (), 0.0, tuple(places), {})
    order = {c.id: i for i, c in enumerate(categories)}
    best = max(scores, key=lambda c: (scores[c], -order[c]))
    top, total = scores[best], sum(scores.values())
    confidence = round((top / total) * min(1.0, top / STRONG), 2)
    category = next(c for c in categories if c.id == best)
    return Inference(category, tuple(found.get(best, ())), confidence, tuple(places), scores)
