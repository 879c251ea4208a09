"""Small text rules shared by the plan parser, the spreadsheet importer and the geocoder.

Simplified-Chinese normalisation is character for character (same length), so spans found in the
normalised text are spans of the original; targets and deadlines are read with regular expressions
because the plans write them in a handful of fixed shapes (``2000亩以上``, ``2018年6月底前``, ``上半年``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from hanziconv.charmap import simplified_charmap, traditional_charmap

# the categories a project may carry; the importer rejects any other
CATEGORIES: tuple[str, ...] = (
    "两型改革",
    "清水塘搬迁改造",
    "碧水蓝天",
    "绿心保护",
    "示范创建",
    "示范区建设",
    "一体化",
    "清洁低碳技术",
    "保障措施",
    "规划政策",
    "改革创新",
    "基础设施",
    "产业体系",
    "生态环境",
    "金融",
    "社会事业",
)

# a unit of government / an organisation ends with one of these (used to tell unit cells from task text)
UNIT_SUFFIX = re.compile(
    r"(局|办|委|厅|政府|集团|中心|法院|检察院|管委会|部门|分局|支行|公司|指挥部办公室|工委|办公室|海关|支队|会)$"
)

_TARGET = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>万元|亿元|万名|万|亿|亩|%|％|套|Km|km|KM|公里|台|个|家|户|座|吨|条|名)"
    r"(?P<tail>以上|以下|左右)?"
)
_FULL_DATE = re.compile(r"(?P<y>20\d\d)年?(?P<m>1[0-2]|[1-9])月(?:底|末)前?")


# hanziconv's two aligned character maps as one str.translate table (C speed, one char for one)
_T2S: dict[int, int] = {}
for _t, _s in zip(traditional_charmap, simplified_charmap, strict=True):
    if _t != _s:
        _T2S.setdefault(ord(_t), ord(_s))  # the first pairing wins, as in HanziConv.toSimplified


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional → simplified, one character for one, so offsets stay valid."""
    return text.translate(_T2S)


def split_units(cell: str) -> list[str]:
    """``市环保局、各县市区人民政府`` → two units; blanks and stray spaces dropped."""
    parts = re.split(r"[、,,;;/]", re.sub(r"\s+", "", cell or ""))
    return [p for p in parts if p]


def extract_targets(text: str) -> list[dict[str, object]]:
    """Numeric targets with their units, in order, e.g. ``{"value": 2000, "unit": "亩", "text": "2000亩以上"}``."""
    targets: list[dict[str, object]] = []
    for m in _TARGET.finditer(text):
        before = text[max(0, m.start() - 1) : m.start()]
        if before.isdigit() or before == ".":
            continue
        value = float(m.group("value"))
        unit = m.group("unit").replace("％", "%")
        if unit in ("Km", "KM"):
            unit = "km"
        targets.append({"value": int(value) if value.is_integer() else value, "unit": unit, "text": m.group(0)})
    return targets


def format_targets(targets: list[dict[str, object]]) -> str:
    """The register's human form: ``2000 亩; 40 %``."""
    return "; ".join(f"{t['value']} {t['unit']}" for t in targets)


def parse_targets_cell(cell: str) -> list[dict[str, object]]:
    """Read the register / spreadsheet form back; raises ValueError naming the bad part."""
    targets: list[dict[str, object]] = []
    for part in re.split(r"[;；]", cell or ""):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(\S+)", part)
        if not m:
            raise ValueError(f"target '{part}' is not 'number unit'")
        value = float(m.group(1))
        targets.append({"value": int(value) if value.is_integer() else value, "unit": m.group(2), "text": part})
    return targets


def extract_deadline(text: str, year: int) -> tuple[date | None, str | None]:
    """The first deadline phrase and its date: ``年底前``/``年内`` → 31 Dec, ``上半年`` → 30 Jun, ``6月底前``."""
    m = _FULL_DATE.search(text)
    if m:
        y, mo = int(m.group("y")), int(m.group("m"))
        return _month_end(y, mo), m.group(0)
    m = re.search(r"(?<!\d)(1[0-2]|[1-9])月(?:底|末)前?", text)
    if m:
        return _month_end(year, int(m.group(1))), m.group(0)
    for phrase, month in (("上半年", 6), ("年底前", 12), ("年底", 12), ("年内", 12), ("下半年", 12)):
        if phrase in text:
            return _month_end(year, month), phrase
    return None, None


@dataclass(frozen=True)
class Deadline:
    """A deadline cell read: the date it means (None for ongoing work such as 长期 / 持续推进) and the words."""

    on: date | None
    text: str
    ongoing: bool = False


class DeadlineError(ValueError):
    """A deadline cell that names no date, or names one without a year when no year is known."""

    def __init__(self, zh: str, en: str, *, needs_year: bool = False) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.needs_year = needs_year


_Y = r"(?P<y>(?:19|20)\d\d)"
_M = r"(?P<m>1[0-2]|0?[1-9])"
_Q = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_PART_DAY = {"上旬": 10, "中旬": 20}
# the shapes a deadline cell is written in, most specific first; each match is blanked out before the next
# shape is tried, so "2019年12月" is never also read as "12月" of the plan's year
_DEADLINE_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day", re.compile(_Y + r"[-/.年]" + _M + r"[-/.月](?P<d>3[01]|[12]\d|0?[1-9])(?!\d)日?")),
    ("range", re.compile(r"(?:19|20)\d\d年?[-—~～至到](?P<y>(?:19|20)\d\d)年?")),
    ("month", re.compile(_Y + r"年" + _M + r"月(?P<part>上旬|中旬|下旬)?")),
    ("month", re.compile(_Y + r"[-/.]" + _M + r"(?!\d)")),
    ("half", re.compile(_Y + r"年?(?P<half>上半年|下半年|年中)")),
    ("quarter", re.compile(_Y + r"年?第?(?P<q>[一二三四1-4])季度")),
    ("year", re.compile(_Y + r"(?:年|$)")),
    ("month", re.compile(r"(?<![\d年])" + _M + r"月(?P<part>上旬|中旬|下旬)?")),
    ("half", re.compile(r"(?P<half>上半年|下半年|年中)")),
    ("quarter", re.compile(r"第?(?P<q>[一二三四1-4])季度")),
    ("year", re.compile(r"年底|年末|年内|全年|当年|本年|今年")),
)
_ONGOING = re.compile(r"长期|持续|常态|逐年|每年|定期|长效")


def read_deadline(cell: str, year: int | None) -> Deadline:
    """A 完成时限 cell as people write it, the year-less words read in the plan's ``year``.

    ``2019年12月底前``, ``2019年12月``, ``2019-12-31``, ``2019/12``, ``年底前``, ``6月底``, ``上半年`` (30 Jun),
    ``下半年`` (31 Dec), ``三季度`` (30 Sep), ``2018-2020年`` (31 Dec 2020), ``长期`` / ``持续推进`` (ongoing, no
    date).  A cell naming several dates means the last of them (``6月底前启动，年底前完成``).  Raises
    :class:`DeadlineError` for words that name no date, and for year-less words when ``year`` is None:
    the year is the plan's, never today's.
    """
    written = (cell or "").strip()
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", to_simplified(written)))
    if not text:
        raise DeadlineError("完成时限为空", "the deadline is blank")
    found: list[date] = []
    needs_year = False
    for shape, pattern in _DEADLINE_SHAPES:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            y = int(groups["y"]) if groups.get("y") else year
            if y is None:
                needs_year = True
                continue
            try:
                found.append(_shape_date(shape, y, groups))
            except ValueError:
                raise DeadlineError(f"“{written}”不是有效日期", f"{written!r} is not a valid date") from None
        text = pattern.sub(lambda m: "□" * len(m.group(0)), text)
    if found:
        return Deadline(max(found), written)
    if needs_year:
        raise DeadlineError(
            f"“{written}”没有写年份，且不知道计划年份",
            f"{written!r} names no year and the plan's year is not known",
            needs_year=True,
        )
    if _ONGOING.search(text):
        return Deadline(None, written, ongoing=True)
    raise DeadlineError(
        f"无法识别的完成时限“{written}”（可写 2019年12月底前、年底前、上半年、三季度、长期 或 2019-12-31）",
        f"unreadable deadline {written!r} (write e.g. 2019年12月底前, 年底前, 上半年, 三季度, 长期 or 2019-12-31)",
    )


def _shape_date(shape: str, year: int, groups: dict[str, str | None]) -> date:
    if shape == "day":
        return date(year, int(groups["m"] or 0), int(groups["d"] or 0))
    if shape == "month":
        month = int(groups["m"] or 0)
        day = _PART_DAY.get(groups.get("part") or "")
        return date(year, month, day) if day else _month_end(year, month)
    if shape == "half":
        return _month_end(year, 12 if groups["half"] == "下半年" else 6)
    if shape == "quarter":
        return _month_end(year, 3 * _Q[groups["q"] or "4"])
    return date(year, 12, 31)  # "year", "range"


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def short_title(text: str, limit: int = 40) -> str:
    """A title from a task text: up to the first full stop or semicolon, cut at ``limit`` characters."""
    head = re.split(r"[。;;]", text, maxsplit=1)[0].strip()
    return head if len(head) <= limit else head[:limit] + "…"
