"""Small text rules shared by the plan parser, the spreadsheet importer and the geocoder.

Simplified-Chinese normalisation is character for character (same length), so spans found in the
normalised text are spans of the original; targets and deadlines are read with regular expressions
because the plans write them in a handful of fixed shapes (``2000亩以上``, ``2018年6月底前``, ``上半年``).
"""

from __future__ import annotations

import re
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


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def short_title(text: str, limit: int = 40) -> str:
    """A title from a task text: up to the first full stop or semicolon, cut at ``limit`` characters."""
    head = re.split(r"[。;;]", text, maxsplit=1)[0].strip()
    return head if len(head) <= limit else head[:limit] + "…"
