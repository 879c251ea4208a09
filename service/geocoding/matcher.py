"""Find gazetteer places in a task text: Aho-Corasick over every name, longest match first.

Chinese has no spaces, so the text is scanned for every known name at once; overlapping hits are
settled longest first (``株洲市人民政府`` beats ``株洲市``), stop phrases (``清水塘投资集团``) consume
their span without yielding a place, a list sharing one suffix (``清水、铜霞片区``) is expanded, and
a name shared by several features is settled by the districts / cities named in the same text,
then by the caller's city.  Spans index the caller's original text (simplification keeps lengths).

Issue 19 added three rules, each sending a task to review with the words found rather than placing it
silently: a name immediately extended by a place suffix is not that name (湘江新区 is not the Xiang, 炎陵县
污水处理厂 is not the county); a member of a shared-suffix list the gazetteer lacks (龙泉、河西污水处理厂) is
reported; and every place-shaped word the gazetteer lacks (…河, …机场, …工业园, …示范区 …) is reported.
An official division found in another city than the plan's, or whose county has no polygon, is reported
too: it is known, but cannot be drawn honestly here.
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
# a place-shaped word ends in one of these (longest first: 经济开发区 before 开发区 before 区); a negative
# lookahead keeps the common words that merely start alike (路网, 河长制, 湖南, 乡村, 厂房 ...)
_NATURAL = "|".join(
    (
        "污水处理厂", "自来水厂", "水厂", "电厂", "大道", "大桥", "(?:国家)?(?:森林|湿地|地质|城市)公园", "公园",
        "机场", "水库", "灌区", "路(?![网线径演灯])",
        "港(?![澳口])", "桥(?!梁)", "河(?![长湖道流])", "河(?=流域)", "江(?![河湖南北西])", "湖(?![南北区泊])",
        "山(?![水林区体地])", "岭", "厂(?![房区矿家商址])",
    )
)  # fmt: skip
_ZONES = "|".join(
    (
        "经济技术开发区", "经济开发区", "高新技术产业开发区", "高新区", "经开区", "开发区", "示范区", "新区", "工业区",
        "工业园", "产业园", "科技园", "物流园", "园区", "园(?![林艺区])",
    )
)  # fmt: skip
_ADMIN = "街道|社区|镇(?![村区])|乡(?![村镇])|村(?![镇级民庄组])"
PLACE_LIKE = re.compile(f"(?:{_NATURAL}|{_ZONES}|{_ADMIN})")
ADMIN_SUFFIX = re.compile(_ADMIN)
ZONE_SUFFIX = re.compile(_ZONES)
# a gazetteer name followed at once by one of these names something else (湘江新区, 天易示范区, 炎陵县污水处理厂)
# ... and so do the developments named "X + …城" (湘江欢乐城, 湘江新城), but not X's 城区 (its urban stretch)
_TOWNS = r"(?:欢乐|科技|商业|文化|体育|影视|国际|生态|新)城(?![区市乡镇])"
EXTENDED_BY = re.compile(f"(?:{_ZONES}|{_ADMIN}|{_NATURAL}|{_TOWNS})")
ONE_CHARACTER_STEMS = frozenset("资沅澧湘浏渌涟涓洣沩捞")  # X江 / X水 rivers: 资江, 沅江 (not 沿江, 滨江, 两江)
FUNCTION_CHARS = "快动进成展设施在对将从沿的了是向与即为把按于并至"
LEADING_WORDS = re.compile(
    r"(?:启动|推进|加快|完成|建设|开工|实施|开展|新建|整治|治理|大力|积极|以及|推动|围绕|包括|重点|加强|支持|配合|"
    r"打造|提升|保护|改造|修复|周边|周围|附近|沿线|做好|抓好|建立|完善|创新|在|对|将|从|沿)$"
)
GENERIC_WORDS = (
    "示范", "综合", "城市", "工业", "遗址", "管廊", "干道", "道路", "城区", "沿线", "全市", "园区", "线路",
    "思路", "铁路", "公路", "出路", "建制镇", "对接", "集聚", "特色", "小镇", "集镇", "强镇", "古镇", "美丽",
    "两型", "绿色", "和谐", "文明", "生态", "低碳", "智慧", "完整", "平安", "宜居", "行政", "乡村", "农村",
    "城乡", "城镇", "乡镇", "产业", "田园", "校园", "家园", "庄园", "矿山", "青山", "荒山",
    "水环境", "标准", "全域", "全省", "全县", "各", "该", "本", "新型", "重点", "龙头", "地区", "入园", "新增",
    "区域", "废弃", "方面", "任务", "环湖", "工厂", "数字化", "断头",
)  # fmt: skip
NUMERALS = "一二三四五六七八九十两百千万"
# 三条, 两座, 十园十湖: counted, not named
COUNTED = re.compile(f"[{NUMERALS}几数多][条个座处项家所片批类大园湖江港河山路桥村镇]|^[{NUMERALS}]+$")
CONF_NAME, CONF_ALIAS, CONF_EXPANDED, CONF_CONTEXT, CONF_CITY = 0.97, 0.93, 0.85, 0.9, 0.8
STEM_WINDOW = 6  # characters looked at before a place suffix for the name it ends


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
        unresolved: list[dict[str, object]] = []
        for start, end, surface, entries in hits:
            if any(occupied[start:end]):
                continue
            extension = _extension(norm, end, surface) if entries is not STOP else None
            if extension:  # 湘江新区: another place whose name starts with a known one, not the known one
                occupied[start : end + len(extension)] = b"\x01" * (end + len(extension) - start)
                unresolved.append(_unknown(surface + extension, start, end + len(extension), "extended_name"))
                continue
            occupied[start:end] = b"\x01" * (end - start)
            kept.append((start, end, surface, entries))
        in_title = _book_title_marks(norm)
        matches = [
            Match(surface, start, end, list(entries))  # type: ignore[arg-type]
            for start, end, surface, entries in kept
            if entries is not STOP and not (in_title[start] and in_title[start] == in_title[end - 1])
        ]
        matches = self._expand_shared_suffixes(norm, matches, occupied, unresolved)
        matches.sort(key=lambda m: m.start)
        _settle(matches, city)
        matches = _report_undrawable_divisions(matches, city, unresolved)
        unresolved += _place_like(norm, occupied, lenient_admin=self.gazetteer.divisions == 0)
        unique = {(str(u["text"]), tuple(u["span"])): u for u in unresolved}  # type: ignore[arg-type]
        ordered = sorted(unique.values(), key=lambda u: u["span"][0])  # type: ignore[index]
        return TextMatches(matches=matches, unresolved=ordered)

    def _expand_shared_suffixes(
        self, norm: str, matches: list[Match], occupied: bytearray, unresolved: list[dict[str, object]]
    ) -> list[Match]:
        """``清水、铜霞片区`` / ``醴陵市、攸县污水处理厂``: a stem before a separator takes the suffix of the
        name after it; the expanded name replaces shorter matches inside the stem (醴陵市 the district).

        A member whose expanded name the gazetteer lacks (龙泉 in 龙泉、河西污水处理厂) is reported as that
        name, and the list stops there: what stands before it may not share the suffix at all."""
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
                    member = _member(norm, chunk_start, chunk_end)
                    if member and not any(occupied[chunk_end - len(member) : chunk_end]):
                        word = member + suffix
                        unresolved.append(_unknown(word, chunk_end - len(member), chunk_end, "shared_suffix"))
                        occupied[chunk_end - len(member) : chunk_end] = b"\x01" * len(member)
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
    """Pick one candidate per name: the only one, or the one the named districts / cities / townships point to."""
    unique = [m.candidates[0].place for m in matches if len(m.candidates) == 1]
    named_districts = {p.name for p in unique if p.layer == "districts"}
    named_cities = {p.city for p in unique if p.is_admin and not p.is_division}
    # codes named (a district's key is its adcode, a division's its code): 雷打石镇 settles 胜塘村 under it
    named_codes = {p.key for p in unique if p.layer == "districts" or p.is_division}
    for m in matches:
        base = CONF_EXPANDED if m.expanded else (CONF_ALIAS if all(c.alias for c in m.candidates) else CONF_NAME)
        if len(m.candidates) == 1:
            chosen, confidence = m.candidates[0], base
        else:
            chosen, confidence = _by_context(m.candidates, named_districts, named_cities, named_codes, city)
            confidence = min(confidence, base)
        if chosen is not None:
            m.place, m.precision, m.confidence = chosen.place, chosen.precision, confidence


def _by_context(
    candidates: list[Surface], districts: set[str], cities: set[str | None], codes: set[str], city: str | None
) -> tuple[Surface | None, float]:
    inside_named = [
        c for c in candidates if c.place.is_division and any(c.place.key[: len(k)] == k != c.place.key for k in codes)
    ]
    for pool, confidence in (
        (inside_named, CONF_CONTEXT),
        ([c for c in candidates if c.place.district in districts], CONF_CONTEXT),
        ([c for c in candidates if c.place.city in cities], CONF_CONTEXT),
        ([c for c in candidates if city and c.place.city == city], CONF_CITY),
    ):
        if len(pool) == 1:
            return pool[0], confidence
        if len({c.place.key for c in pool}) == 1 and pool:
            return pool[0], confidence
    return None, 0.0


def _report_undrawable_divisions(
    matches: list[Match], city: str | None, unresolved: list[dict[str, object]]
) -> list[Match]:
    """Official divisions that cannot be placed honestly leave the matches for the review list.

    Its county has no polygon in the districts layer (a township of 娄底), or it lies in another city than
    the plan's and nothing in the text names that city or county: a 和平村 of 衡阳 in a Changsha plan is a
    homonym more often than a place.
    """
    named = {m.place.name for m in matches if m.place is not None and not m.place.is_division}
    named |= {m.place.city for m in matches if m.place is not None and m.place.is_admin and not m.place.is_division}
    kept: list[Match] = []
    for m in matches:
        place = m.place
        if place is None or not place.is_division:
            kept.append(m)
        elif not place.locatable:
            unresolved.append(_unknown(m.surface, m.start, m.end, "no_boundary", place.key))
        elif city and place.city != city and place.city not in named and place.district not in named:
            unresolved.append(_unknown(m.surface, m.start, m.end, "other_city", place.key))
        else:
            kept.append(m)
    return kept


def _unknown(word: str, start: int, end: int, reason: str, code: str | None = None) -> dict[str, object]:
    """One entry of the review list: the words, their span, why (and the official code when known)."""
    entry: dict[str, object] = {"text": word, "span": [start, end], "reason": reason}
    if code:
        entry["admin_code"] = code
    return entry


def _extension(norm: str, end: int, surface: str) -> str | None:
    """The place suffix that follows ``surface`` at once, when it makes another name (湘江 + 新区).

    An administrative name followed by 区 is its urban area (株洲市区, 县区), not another place.
    """
    m = EXTENDED_BY.match(norm, end)
    if m is None:
        return None
    suffix = m.group(0)
    if suffix == "区" and surface.endswith(("市", "县", "区", "省")):
        return None
    if ADMIN_SUFFIX.fullmatch(suffix) and surface.endswith(("镇", "乡", "村", "街道", "社区")):
        return None  # 雷打石镇村: the villages of a township
    return suffix


def _member(norm: str, chunk_start: int, chunk_end: int) -> str | None:
    """The name in a shared-suffix list member (启动龙泉 → 龙泉): what follows the last leading word."""
    chunk = norm[chunk_start:chunk_end]
    cut = 0
    for n in range(len(chunk), 0, -1):
        if LEADING_WORDS.search(chunk[:n]) or chunk[n - 1] in FUNCTION_CHARS:
            cut = n
            break
    chunk = chunk[cut:]
    if len(chunk) < 2 or not re.fullmatch(r"[\u4e00-\u9fff]+", chunk) or any(g in chunk for g in GENERIC_WORDS):
        return None
    return chunk


def _place_like(norm: str, occupied: bytearray, *, lenient_admin: bool = True) -> list[dict[str, object]]:
    """Place-shaped words the gazetteer does not know: a proper name before a place suffix (捞刀河, 栗雨工业园).

    The name is what follows the last leading word (推进, 周边 ...) or function character within six characters
    before the suffix, or a boundary (clause start, a matched name).  Township and village suffixes (镇 乡 街道
    村 社区) and zone suffixes (园 示范区 ...) are such common words (特色小镇, 示范村, 产业园) that a word ending
    in one is only reported when a leading word or the clause start stands right before its name; and
    when the official hierarchy is loaded, it already holds every real 镇 / 乡 / 街道 / 村 / 社区 of Hunan,
    so those words are reported only without it (``lenient_admin``).
    """
    found: list[dict[str, object]] = []
    for clause in re.finditer(r"[^、,,;;。:: ()()《》“”等和及与]+", norm):
        base = clause.start()
        body = clause.group(0)
        for m in PLACE_LIKE.finditer(body):
            suffix = m.group(0)
            end = base + m.end()
            if any(occupied[base + m.start() : end]):
                continue
            admin = bool(ADMIN_SUFFIX.fullmatch(suffix))
            if admin and not lenient_admin:
                continue
            stem, anchored = _stem(body, m.start(), base, occupied)
            if stem is None:
                continue
            strict = admin or bool(ZONE_SUFFIX.fullmatch(suffix))
            if strict and anchored != "word":
                continue
            if len(stem) < 2 and not (suffix == "江" and stem in ONE_CHARACTER_STEMS and anchored == "word"):
                continue
            word = stem + suffix
            start = end - len(word)
            # a generic word in the name, or made with a one-character suffix (矿 + 山), is no name
            checked = stem + suffix if len(suffix) == 1 else stem
            if any(g in checked for g in GENERIC_WORDS) or COUNTED.search(stem):
                continue
            found.append(_unknown(word, start, end, "not_in_gazetteer"))
    return found


def _stem(body: str, suffix_start: int, base: int, occupied: bytearray) -> tuple[str | None, str]:
    """The proper name before a suffix, and what anchors its start: ``word`` (a leading word or the clause
    start), ``match`` (a name found just before) or ``window`` (cut at six characters: least sure)."""
    left = max(0, suffix_start - STEM_WINDOW)
    anchored = "word" if left == 0 else "window"
    for i in range(suffix_start - 1, left - 1, -1):
        if occupied[base + i]:
            left, anchored = i + 1, "match"
            break
    window = body[left:suffix_start]
    cut = 0
    for n in range(len(window), 0, -1):  # the last leading word or function character wins
        if LEADING_WORDS.search(window[:n]) or window[n - 1] in FUNCTION_CHARS:
            cut, anchored = n, "word"
            break
    stem = window[cut:][-4:]  # a place name before its suffix is two to four characters
    if not stem or not re.fullmatch(r"[\u4e00-\u9fff]+", stem):
        return None, anchored
    return stem, anchored
