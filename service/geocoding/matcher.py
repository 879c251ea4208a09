"""Find gazetteer places in a task text: Aho-Corasick over every name, longest match first.

Chinese has no spaces, so the text is scanned for every known name at once; overlapping hits are
settled longest first (``株洲市人民政府`` beats ``株洲市``), stop phrases (``清水塘投资集团``) consume
their span without yielding a place, a list sharing one suffix (``清水、铜霞片区``) is expanded, and
a name shared by several features is settled by the districts / cities named in the same text,
then by the caller's city.  Spans index the caller's original text (simplification keeps lengths).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

import ahocorasick

from service.common.chinese_text import to_simplified
from service.geocoding.gazetteer import Gazetteer, Place, Surface

STOP = object()
LIST_SEPARATORS = "、和及与"
CLAUSE_DELIMITERS = "、,,;;。:: ()()《》“”\"'和及与等"
# the generic tail a list of names may share: 清水、铜霞片区 = 清水片区 + 铜霞片区
SHARED_SUFFIXES = ("污水处理厂", "片区", "大道", "公园", "大桥", "路", "港", "河", "湖", "山")
PLACE_LIKE = re.compile(r"(?:污水处理厂|大道|公园|大桥|路(?![网线径演])|港)")
FUNCTION_CHARS = "快动进成展设施在对将从沿的了是向与即为把按"
LEADING_WORDS = re.compile(
    r"^(?:启动|推进|加快|完成|建设|开工|实施|开展|新建|整治|治理|大力|积极|以及|推动|围绕|在|对|将|从|沿|包括|重点)+"
)
GENERIC_WORDS = (
    "示范", "综合", "城市", "工业", "遗址", "管廊", "干道", "道路", "城区", "沿线", "全市", "园区", "线路",
    "思路", "铁路", "公路", "出路", "建制镇", "对接", "集聚",
)  # fmt: skip
NUMERALS = "一二三四五六七八九十两百千万"
CONF_NAME, CONF_ALIAS, CONF_EXPANDED, CONF_CONTEXT, CONF_CITY = 0.97, 0.93, 0.85, 0.9, 0.8


@dataclass
class Match:
    """One place found in the text; ``place`` is None while the name stays ambiguous."""

    surface: str
    start: int
    end: int
    candidates: list[Surface]
    place: Place | None = None
    precision: int = 0
    confidence: float = 0.0
    expanded: bool = False


@dataclass
class TextMatches:
    matches: list[Match] = field(default_factory=list)
    unresolved: list[dict[str, object]] = field(default_factory=list)  # place-like words not in the gazetteer

    @property
    def resolved(self) -> list[Match]:
        return [m for m in self.matches if m.place is not None]

    @property
    def ambiguous(self) -> list[Match]:
        return [m for m in self.matches if m.place is None]


class Matcher:
    """Built once per gazetteer; ``find`` is pure Python over one automaton pass."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.automaton = ahocorasick.Automaton()
        for surface, entries in gazetteer.surfaces.items():
            self.automaton.add_word(surface, (surface, entries))
        for phrase in gazetteer.stop:
            if phrase not in gazetteer.surfaces:
                self.automaton.add_word(phrase, (phrase, STOP))
        self.empty = len(self.automaton) == 0
        if not self.empty:
            self.automaton.make_automaton()

    def find(self, text: str, city: str | None = None) -> TextMatches:
        norm = to_simplified(text)
        if self.empty or not norm:
            return TextMatches(unresolved=_place_like(norm, bytearray(len(norm))))
        hits = [(end - len(s) + 1, end + 1, s, entries) for end, (s, entries) in self.automaton.iter(norm)]
        hits.sort(key=lambda h: (h[0] - h[1], h[0]))  # longest first, then leftmost
        occupied = bytearray(len(norm))
        kept: list[tuple[int, int, str, object]] = []
        for start, end, surface, entries in hits:
            if any(occupied[start:end]):
                continue
            occupied[start:end] = b"\x01" * (end - start)
            kept.append((start, end, surface, entries))
        in_title = _book_title_marks(norm)
        matches = [
            Match(surface, start, end, list(entries))  # type: ignore[arg-type]
            for start, end, surface, entries in kept
            if entries is not STOP and not (in_title[start] and in_title[start] == in_title[end - 1])
        ]
        matches = self._expand_shared_suffixes(norm, matches, occupied)
        matches.sort(key=lambda m: m.start)
        _settle(matches, city)
        return TextMatches(matches=matches, unresolved=_place_like(norm, occupied))

    def _expand_shared_suffixes(self, norm: str, matches: list[Match], occupied: bytearray) -> list[Match]:
        """``清水、铜霞片区`` / ``醴陵市、攸县污水处理厂``: a stem before a separator takes the suffix of the
        name after it; the expanded name replaces shorter matches inside the stem (醴陵市 the district)."""
        added: list[Match] = []
        replaced: set[int] = set()
        by_start = sorted(matches, key=lambda x: x.start)
        starts = [x.start for x in by_start]
        for m in reversed(by_start):
            suffix = next((s for s in SHARED_SUFFIXES if m.surface.endswith(s) and len(m.surface) > len(s)), None)
            if suffix is None or id(m) in replaced:
                continue
            pos = m.start
            while pos > 1 and norm[pos - 1] in LIST_SEPARATORS:
                chunk_end = pos - 1
                chunk_start = chunk_end
                while (
                    chunk_start > 0 and chunk_end - chunk_start < 8 and norm[chunk_start - 1] not in CLAUSE_DELIMITERS
                ):
                    chunk_start -= 1
                found = None
                for st in range(chunk_start, chunk_end):
                    candidate = norm[st:chunk_end] + suffix
                    if candidate in self.gazetteer.surfaces and candidate != m.surface:
                        found = (st, candidate)
                        break
                if found is None:
                    break
                st, candidate = found
                # the matches starting in the stem (at most 8 characters): found by bisection, not by a scan
                # of every match, which made a long list of names quadratic
                first = bisect_left(starts, st)
                last = bisect_left(starts, chunk_end, lo=first)
                inside = [x for x in by_start[first:last] if x.end <= chunk_end]
                if any(occupied[st:chunk_end]) and sum(x.end - x.start for x in inside) != sum(occupied[st:chunk_end]):
                    break  # the stem overlaps a match that reaches outside it: leave the text alone
                replaced |= {id(x) for x in inside}
                occupied[st:chunk_end] = b"\x01" * (chunk_end - st)
                added.append(Match(candidate, st, chunk_end, list(self.gazetteer.surfaces[candidate]), expanded=True))
                pos = st
        return [x for x in matches if id(x) not in replaced] + added


def _book_title_spans(norm: str) -> list[tuple[int, int]]:
    """《…》 names a document: the places in a title say nothing about where the task is.

    The spans ``re.finditer(r"《[^》]*》")`` finds, in one pass: that regex tried every 《 against the
    rest of the text, quadratic in a text of unclosed 《 (0.34 s for 19,800 of them).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    while (start := norm.find("《", pos)) >= 0:
        end = norm.find("》", start + 1)
        if end < 0:
            break  # no 》 after this 《, so none after any later one either
        spans.append((start, end + 1))
        pos = end + 1
    return spans


def _book_title_marks(norm: str) -> list[int]:
    """Per character, the number (from 1) of the book title it is in, 0 outside: a match lies in a title
    when its first and last characters are in the same one (one lookup, not a scan of every title)."""
    marks = [0] * (len(norm) + 1)
    for n, (start, end) in enumerate(_book_title_spans(norm), start=1):
        marks[start:end] = [n] * (end - start)
    return marks


def _settle(matches: list[Match], city: str | None) -> None:
    """Pick one candidate per name: the only one, or the one the named districts / cities point to."""
    named_districts = {
        c.place.name for m in matches if len(m.candidates) == 1 for c in m.candidates if c.place.layer == "districts"
    }
    named_cities = {c.place.city for m in matches if len(m.candidates) == 1 for c in m.candidates if c.place.is_admin}
    for m in matches:
        base = CONF_EXPANDED if m.expanded else (CONF_ALIAS if all(c.alias for c in m.candidates) else CONF_NAME)
        if len(m.candidates) == 1:
            chosen, confidence = m.candidates[0], base
        else:
            chosen, confidence = _by_context(m.candidates, named_districts, named_cities, city)
            confidence = min(confidence, base)
        if chosen is not None:
            m.place, m.precision, m.confidence = chosen.place, chosen.precision, confidence


def _by_context(
    candidates: list[Surface], districts: set[str], cities: set[str | None], city: str | None
) -> tuple[Surface | None, float]:
    for pool, confidence in (
        ([c for c in candidates if c.place.district in districts], CONF_CONTEXT),
        ([c for c in candidates if c.place.city in cities], CONF_CONTEXT),
        ([c for c in candidates if city and c.place.city == city], CONF_CITY),
    ):
        if len(pool) == 1:
            return pool[0], confidence
        if len({c.place.key for c in pool}) == 1 and pool:
            return pool[0], confidence
    return None, 0.0


def _place_like(norm: str, occupied: bytearray) -> list[dict[str, object]]:
    """Words shaped like a road, stream, park or plant name that the gazetteer does not know."""
    found: list[dict[str, object]] = []
    for clause in re.finditer(r"[^、,,;;。:: ()()《》“”等和及与]+", norm):
        body = clause.group(0)
        for m in PLACE_LIKE.finditer(body):
            end = clause.start() + m.end()
            if any(occupied[clause.start() + m.start() : end]):
                continue
            stem = body[max(0, m.start() - 4) : m.start()]
            lead = LEADING_WORDS.match(stem)
            stem = stem[lead.end() :] if lead else stem
            while stem and stem[0] in FUNCTION_CHARS:
                stem = stem[1:]
            start = clause.start() + m.start() - len(stem)
            word = stem + m.group(0)
            if (
                len(stem) < 2
                or any(occupied[start:end])
                or any(g in word for g in GENERIC_WORDS)
                or not re.fullmatch(r"[\u4e00-\u9fff]+", word)
                or word[0] in "各该本"
                or any(ch in NUMERALS for ch in word)
            ):
                continue
            found.append({"text": word, "span": [start, end]})
    return found
