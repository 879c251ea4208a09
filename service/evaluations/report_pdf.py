"""The PDF report of a periodic evaluation (定期评估, docs/evaluations.md), drawn from the frozen snapshot and
the wall map's PNG only: no database, no clock, so the report drawn next year is the report drawn today.

A4 portrait pages drawn with matplotlib, the house style of the notices and the screening report, in the CJK
font of the drawing kit (service.common.drawing) embedded as TrueType, so the Chinese prints, is searchable
and can be copied: the cover with what the figures were computed from, 总体情况, the tables by unit, category,
district and plan, the scoreboard, every task behind or not started with its reason, and the wall map on a
landscape page.  Every page has a footer with the title, the as-of date and 第 k / n 页, so the pages are
laid out first and drawn after.

Two things are not what a reader expects:

* the bulk of the text (the behind list of a big plan runs to 3,500 rows) is NOT drawn as one matplotlib
  ``Text`` per cell: matplotlib shapes every string with libraqm and loads every glyph again when it draws,
  about 1 ms a string and 0.1 ms a character, which made a 10,000-task report take over a minute.  A page's
  strings are one artist (``_Ink``) that writes them to the PDF page itself, with glyph codes and advance
  widths looked up once per character (``_Face``), through the same subsetting and font objects matplotlib
  uses for its own text (``_pdf_target``).  Where that is not possible (another backend, a matplotlib
  without those internals, a character the CJK font lacks) the strings go through the renderer's ordinary
  ``draw_text``: slower, never wrong.  Widths are measured with the same advances, so a clipped or wrapped
  cell provably ends inside its column.
* the bytes are the same on every call: the PDF's creation date is the evaluation's ``created_at``, there is
  no modification date, and the rcParams that change the output are pinned while drawing.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_pdf import Op, PdfPages, RendererPdf
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font, LoadFlags
from PIL import Image

from service.common.derived_status import BEHIND_CLASSES, SCHEDULE_CLASSES
from service.common.drawing import CJK_FAMILY, STATUS_COLORS, use_cjk_font

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/pdf"

PORTRAIT = (8.27, 11.69)  # A4, inches
LANDSCAPE = (11.69, 8.27)
MARGIN = 0.6  # left and right
TOP_MARGIN = 0.65
BOTTOM_MARGIN = 0.9  # the content ends here; the footer is below
FOOTER_RULE = 0.68
FOOTER_BASELINE = 0.48
PT = 1 / 72  # inches
ASCENT, DESCENT = 0.88, 0.12  # em: Noto Sans CJK's typographic ascender and descender
DASH = "—"
ELLIPSIS = "…"
CST = timezone(timedelta(hours=8))

BODY = 8.5  # pt: paragraphs
TABLE = 7.5  # pt: table cells
CELL_PAD_X = 0.05  # inches each side of a cell's text
CELL_PAD_Y = 0.04
CELL_PITCH = 1.3  # em between the lines of one cell
INK = "#1a1a1a"
GREY = "#5f6368"
RULE = "#7a7f87"
HEADER_FILL = "#e6eaf0"
ZEBRA_FILL = "#f4f6f9"
ACCENT = "#1f4e79"
WALL_MAP_MAX_PX = 3508  # A4 landscape at 300 dpi: a bigger wall map is scaled down before it is embedded

# what changes the bytes of the PDF, pinned while a report is drawn (another module may change the globals)
_RC = {
    "font.family": [CJK_FAMILY, "DejaVu Sans"],
    "font.size": 8.0,
    "axes.unicode_minus": False,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,  # matplotlib sizes the PDF's font subsets by this one: 42 keeps one subset per face
    "pdf.compression": 6,
    "pdf.use14corefonts": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "image.interpolation": "none",
}
# matplotlib's pyplot-free figures share font objects and the rcParams: one report is drawn at a time
_LOCK = threading.Lock()
_NO_LINE_START = set("，。、；：？！）》」』】〉”’,.;:?!)]}%…")


# ----------------------------------------------------------------------------------------------- values


def _get(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, None where a level is missing or not a mapping: a snapshot with a
    null section still draws."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


class _Lines(tuple[str, ...]):
    """A cell's text that starts each of its parts on a line of its own (a formula, then its basis)."""


def _s(value: Any) -> str:
    """Text for a cell: "—" for None or blank, whitespace (newlines too) collapsed so a row keeps its height."""
    if value is None:
        return DASH
    if isinstance(value, _Lines):
        return "\n".join(_s(part) for part in value)
    if isinstance(value, list | tuple):
        parts = [_s(v) for v in value if v is not None and str(v).strip()]
        return "、".join(parts) if parts else DASH
    text = " ".join(str(value).split())
    return text or DASH


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> str:
    number = _float(value)
    if number is None:
        return _s(value)
    return str(int(number)) if number == int(number) else f"{number:g}"


def _percent(value: Any) -> str:
    """A percent already 0-100 (``mean_percent``, ``percent``)."""
    number = _float(value)
    return _s(value) if number is None else f"{number:.1f}%"


def _rate(value: Any) -> str:
    """A share 0-1 (``completion_rate``) as a percent."""
    number = _float(value)
    return _s(value) if number is None else f"{number * 100:.1f}%"


def _share(part: Any, whole: Any) -> str:
    p, w = _float(part), _float(whole)
    return DASH if p is None or not w else f"{p / w * 100:.1f}%"


def _fixed(value: Any, digits: int) -> str:
    number = _float(value)
    return _s(value) if number is None else f"{number:.{digits}f}"


def _sha(value: Any) -> str:
    """A SHA-256 shortened to 12 hex digits, enough to tell two rule files apart on paper."""
    text = _s(value)
    return text[:12] + ELLIPSIS if len(text) > 12 and text != DASH else text


def _date_label(value: Any) -> str:
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return _s(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CST)


def _created_label(value: Any) -> str:
    moment = _parse_datetime(value)
    if moment is None:
        return _s(value)
    offset = moment.utcoffset()
    zone = "北京时间" if offset == timedelta(hours=8) else f"UTC{moment:%z}"
    return f"{moment:%Y-%m-%d %H:%M}（{zone}）"


def _creation_date(evaluation: Any) -> datetime:
    """The PDF's CreationDate: when the evaluation was made, never now, so two downloads are the same bytes;
    the as-of date, then a fixed day, for a snapshot without it.  In UTC: matplotlib writes a positive
    offset with the wrong sign (D:...-08'00' for +08:00), UTC it writes right (D:...Z)."""
    moment = _parse_datetime(_get(evaluation, "created_at"))
    if moment is None:
        try:
            day = date.fromisoformat(str(_get(evaluation, "as_of"))[:10])
        except ValueError:
            return datetime(2000, 1, 1, tzinfo=UTC)
        moment = datetime(day.year, day.month, day.day, tzinfo=CST)
    return moment.astimezone(UTC)


# ----------------------------------------------------------------------------------------------- fonts


@dataclass
class _Face:
    """One font file (face) of the CJK family: glyph index and advance width of each character, looked up
    once.  Its own FT2Font, not matplotlib's cached one, whose size and glyph state the drawing changes."""

    path: str
    index: int
    font: FT2Font
    units: float
    glyphs: dict[str, tuple[int, float] | None] = field(default_factory=dict)

    def glyph(self, char: str) -> tuple[int, float] | None:
        """(glyph index, advance in em), None when the face lacks the character."""
        try:
            return self.glyphs[char]
        except KeyError:
            pass
        gid = self.font.get_char_index(ord(char))
        found = None
        if gid:
            advance = self.font.load_glyph(gid, flags=LoadFlags.NO_SCALE | LoadFlags.NO_HINTING).horiAdvance
            found = (gid, advance / self.units)
        self.glyphs[char] = found
        return found

    def advance(self, char: str) -> float:
        """The advance in em; a missing character is drawn by a fallback font, counted as a full em."""
        found = self.glyph(char)
        return 1.0 if found is None else found[1]

    def width(self, text: str, size: float) -> float:
        """The width of ``text`` at ``size`` pt, in inches (advances summed; the drawing does not kern)."""
        return sum(self.advance(c) for c in text) * size * PT


@lru_cache(maxsize=2)
def _face(bold: bool) -> _Face:
    use_cjk_font()
    found = font_manager.findfont(FontProperties(family=_RC["font.family"], weight="bold" if bold else "normal"))
    path, index = str(getattr(found, "path", found)), int(getattr(found, "face_index", 0))
    font = FT2Font(path, face_index=index) if index else FT2Font(path)
    return _Face(path, index, font, float(font.units_per_EM))


def _wrap(text: str, width: float, size: float, *, bold: bool = False, lines: int = 1) -> list[str]:
    """``text`` broken into at most ``lines`` lines no wider than ``width`` inches, the last one ending in
    "…" when text is left over.  Chinese breaks between any two characters (a closing mark is not put at a
    line's start), a run of Latin letters and digits only at its ends where it can."""
    face = _face(bold)
    limit = width / (size * PT)  # in em
    out: list[str] = []
    for paragraph in text.split("\n"):
        current: list[str] = []
        used = 0.0
        for char in paragraph:
            advance = face.advance(char)
            if current and used + advance > limit:
                cut = len(current)
                if char in _NO_LINE_START and cut > 1:
                    cut -= 1
                elif _wordish(char) and _wordish(current[-1]):
                    start = cut
                    while start > 0 and _wordish(current[start - 1]):
                        start -= 1
                    if start > 0:
                        cut = start
                out.append("".join(current[:cut]).rstrip())
                current = current[cut:]
                while current and current[0] == " ":
                    current.pop(0)
                used = sum(face.advance(c) for c in current)
                if char == " " and not current:
                    continue
            current.append(char)
            used += advance
        out.append("".join(current).rstrip())
    if len(out) <= lines:
        return out
    kept = out[:lines]
    last = kept[-1]
    ellipsis = face.advance(ELLIPSIS)
    while last and sum(face.advance(c) for c in last) + ellipsis > limit:
        last = last[:-1]
    kept[-1] = last.rstrip() + ELLIPSIS
    return kept


def _wordish(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "._-%")


def _clip(text: str, width: float, size: float, *, bold: bool = False) -> str:
    return _wrap(text, width, size, bold=bold, lines=1)[0]


# ----------------------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _String:
    x: float  # inches from the left, the start of the string
    y: float  # inches from the bottom, the baseline
    text: str
    size: float
    bold: bool
    colour: str


class _Encoder:
    """The PDF codes of the characters drawn, per file: matplotlib's CharacterTracker decides each
    character's code and font subset (and embeds the subset at the end), asked once per character."""

    def __init__(self) -> None:
        self._file: Any = None
        self._codes: dict[tuple[bool, str], tuple[Any, int, float] | None] = {}
        self._strings: dict[tuple[bool, str], list[tuple[Any, bytes, float]] | None] = {}

    def segments(self, file: Any, bold: bool, text: str) -> list[tuple[Any, bytes, float]] | None:
        """``text`` as (font name, glyph codes, advance in em) runs, None if a character needs a fallback font."""
        if file is not self._file:
            self._file, self._codes, self._strings = file, {}, {}
        key = (bold, text)
        if key in self._strings:
            return self._strings[key]
        runs: list[tuple[Any, bytes, float]] | None = []
        name: Any = None
        codes: list[int] = []
        advance = 0.0
        for char in text:
            coded = self._code(file, bold, char)
            if coded is None:
                runs = None
                break
            char_name, code, char_advance = coded
            if char_name != name and codes:
                runs.append((name, b"".join(c.to_bytes(2, "big") for c in codes), advance))
                codes, advance = [], 0.0
            name = char_name
            codes.append(code)
            advance += char_advance
        if runs is not None and codes:
            runs.append((name, b"".join(c.to_bytes(2, "big") for c in codes), advance))
        self._strings[key] = runs
        return runs

    def _code(self, file: Any, bold: bool, char: str) -> tuple[Any, int, float] | None:
        key = (bold, char)
        if key in self._codes:
            return self._codes[key]
        face = _face(bold)
        glyph = face.glyph(char)
        coded = None
        if glyph is not None and char.isprintable():
            subset, code = file._character_tracker.track_glyph(face.font, char, glyph[0])
            name = file.fontName(font_manager.FontPath(face.path, face.index), subset)
            coded = (name, int(code), glyph[1])
        self._codes[key] = coded
        return coded


def _pdf_target(renderer: RendererBase) -> RendererPdf | None:
    """The PDF renderer under ``renderer`` if the fast path can write to it: matplotlib's PDF backend with
    the character tracker of matplotlib 3.11 and TrueType fonts; None otherwise (the ordinary path)."""
    target = getattr(renderer, "_renderer", renderer)
    if not isinstance(target, RendererPdf):
        return None
    tracker = getattr(getattr(target, "file", None), "_character_tracker", None)
    if not hasattr(tracker, "track_glyph") or not hasattr(font_manager, "FontPath"):
        return None
    if matplotlib.rcParams["pdf.fonttype"] != 42 or matplotlib.rcParams["pdf.use14corefonts"]:
        return None
    return target


class _Ink(Artist):
    """Every string of a page, drawn in one go (see the module's docstring for why not ``Text``)."""

    def __init__(self, encoder: _Encoder) -> None:
        super().__init__()
        self.strings: list[_String] = []
        self._encoder = encoder
        self.set_zorder(5)

    def draw(self, renderer: RendererBase) -> None:
        if not self.get_visible() or not self.strings:
            return
        dpi = self.get_figure(root=True).dpi
        by_colour: dict[str, list[_String]] = {}
        for string in self.strings:
            by_colour.setdefault(string.colour, []).append(string)
        target = _pdf_target(renderer) if dpi == 72 else None
        for colour, strings in by_colour.items():
            gc = renderer.new_gc()
            gc.set_foreground(colour)
            try:
                if target is None:
                    # as Text.draw does: a raster renderer counts y from the top
                    height = renderer.get_canvas_width_height()[1] if renderer.flipy() else None
                    for s in strings:
                        y = s.y * dpi if height is None else height - s.y * dpi
                        renderer.draw_text(gc, s.x * dpi, y, s.text, _properties(s.size, s.bold), 0.0)
                else:
                    self._draw_pdf(target, gc, strings)
            finally:
                gc.restore()

    def _draw_pdf(self, target: RendererPdf, gc: Any, strings: Iterable[_String]) -> None:
        file = target.file
        target.check_gc(gc, gc._rgb)
        file.output(Op.begin_text)
        current: tuple[Any, float] | None = None
        for s in strings:
            runs = self._encoder.segments(file, s.bold, s.text)
            x, y = s.x * 72, s.y * 72
            if runs is None:
                file.output(Op.end_text)
                target.draw_text(gc, x, y, s.text, _properties(s.size, s.bold), 0.0)
                file.output(Op.begin_text)
                current = None
                continue
            for name, codes, advance in runs:
                if current != (name, s.size):
                    file.output(name, s.size, Op.selectfont)
                    current = (name, s.size)
                file.output(1, 0, 0, 1, round(x, 3), round(y, 3), Op.textmatrix)
                file.output(codes, Op.show)
                x += advance * s.size
        file.output(Op.end_text)


@lru_cache(maxsize=32)
def _properties(size: float, bold: bool) -> FontProperties:
    return FontProperties(family=_RC["font.family"], size=size, weight="bold" if bold else "normal")


class _Canvas:
    """One page being drawn, in inches from the bottom left: strings, filled boxes and rules, each kind
    collected into one artist."""

    def __init__(self, size: tuple[float, float], encoder: _Encoder) -> None:
        self.size = size
        self.figure = Figure(figsize=size)
        self.ink = _Ink(encoder)
        self._boxes: list[tuple[list[tuple[float, float]], str]] = []
        self._rules: list[tuple[list[tuple[float, float]], str, float]] = []

    @property
    def width(self) -> float:
        return self.size[0]

    def text(
        self,
        x: float,
        baseline: float,
        text: str,
        *,
        size: float = BODY,
        bold: bool = False,
        colour: str = INK,
        align: str = "left",
    ) -> None:
        """``text`` on one line starting at ``x`` (``align`` right: ending at ``x``; center: centred on it)."""
        if not text:
            return
        if align != "left":
            width = _face(bold).width(text, size)
            x -= width if align == "right" else width / 2
        self.ink.strings.append(_String(x, baseline, text, size, bold, colour))

    def box(self, x: float, y: float, w: float, h: float, colour: str) -> None:
        self._boxes.append(([(x, y), (x + w, y), (x + w, y + h), (x, y + h)], colour))

    def rule(self, x0: float, y0: float, x1: float, y1: float, *, colour: str = RULE, width: float = 0.5) -> None:
        self._rules.append(([(x0, y0), (x1, y1)], colour, width))

    def axes(self, x: float, y: float, w: float, h: float) -> Axes:
        W, H = self.size
        return self.figure.add_axes((x / W, y / H, w / W, h / H))

    def finish(self) -> Figure:
        """The figure with the collected boxes, rules and strings added, ready for ``PdfPages.savefig``."""
        transform = self.figure.dpi_scale_trans
        if self._boxes:
            boxes = PolyCollection(
                [v for v, _ in self._boxes],
                facecolors=[c for _, c in self._boxes],
                edgecolors="none",
                linewidths=0,
                transform=transform,
                zorder=1,
            )
            self.figure.add_artist(boxes)
        if self._rules:
            rules = LineCollection(
                [v for v, _, _ in self._rules],
                colors=[c for _, c, _ in self._rules],
                linewidths=[w for _, _, w in self._rules],
                transform=transform,
                zorder=2,
            )
            self.figure.add_artist(rules)
        self.figure.add_artist(self.ink)
        return self.figure


# ----------------------------------------------------------------------------------------------- flow


class _Item:
    """A piece of the flow with a fixed height; ``sticky`` keeps it on the page of what follows it."""

    height: float = 0.0
    sticky: bool = False

    def draw(self, canvas: _Canvas, top: float) -> None:
        raise NotImplementedError


def _baseline(top: float, size: float, pitch: float) -> float:
    """The baseline of a line of ``size`` pt centred in a slot ``pitch`` inches high starting at ``top``."""
    em = size * PT
    return top - (pitch - em) / 2 - ASCENT * em


class _Gap(_Item):
    def __init__(self, height: float) -> None:
        self.height = height

    def draw(self, canvas: _Canvas, top: float) -> None:
        return None


class _Line(_Item):
    """One line of a paragraph (a wrapped paragraph is several, so it may run over a page)."""

    def __init__(self, text: str, *, size: float = BODY, bold: bool = False, colour: str = INK, indent: float = 0.0):
        self.text, self.size, self.bold, self.colour, self.indent = text, size, bold, colour, indent
        self.height = size * PT * 1.55

    def draw(self, canvas: _Canvas, top: float) -> None:
        y = _baseline(top, self.size, self.height)
        canvas.text(MARGIN + self.indent, y, self.text, size=self.size, bold=self.bold, colour=self.colour)


def _paragraph(text: str, width: float, **style: Any) -> list[_Item]:
    size = style.get("size", BODY)
    indent = style.get("indent", 0.0)
    lines = _wrap(text, width - indent, size, bold=style.get("bold", False), lines=1000)
    return [_Line(line, **style) for line in lines]


class _Heading(_Item):
    sticky = True

    def __init__(self, text: str, *, size: float = 13.0, before: float = 0.0, rule: bool = False) -> None:
        self.text, self.size, self.before, self.rule = text, size, before, rule
        self.height = before + size * PT * 1.7 + (0.06 if rule else 0.0)

    def draw(self, canvas: _Canvas, top: float) -> None:
        slot = self.size * PT * 1.7
        y = _baseline(top - self.before, self.size, slot)
        width = canvas.width - 2 * MARGIN
        canvas.text(MARGIN, y, _clip(self.text, width, self.size, bold=True), size=self.size, bold=True, colour=ACCENT)
        if self.rule:
            line_y = top - self.before - slot - 0.02
            canvas.rule(MARGIN, line_y, canvas.width - MARGIN, line_y, colour=ACCENT, width=1.0)


class _KeyValue(_Item):
    """A labelled value of the cover; a long value wraps under itself."""

    LABEL = 1.35

    def __init__(self, label: str, value: str, width: float, *, size: float = 9.0) -> None:
        self.label, self.size = label, size
        self.lines = _wrap(value, width - self.LABEL, size, lines=6)
        self.pitch = size * PT * 1.5
        self.height = self.pitch * len(self.lines) + 0.03

    def draw(self, canvas: _Canvas, top: float) -> None:
        y = _baseline(top, self.size, self.pitch)
        label = _clip(self.label, self.LABEL - 0.1, self.size, bold=True)
        canvas.text(MARGIN, y, label, size=self.size, bold=True, colour=GREY)
        for i, line in enumerate(self.lines):
            canvas.text(MARGIN + self.LABEL, y - i * self.pitch, line, size=self.size)


class _Contents(_Item):
    """The cover's list of sections and the pages they start on, known once the pages are laid out."""

    def __init__(self, names: list[str], starts: dict[str, int], *, size: float = 10.0) -> None:
        self.names, self.starts, self.size = names, starts, size
        self.pitch = size * PT * 1.7
        self.height = self.pitch * len(names)

    def draw(self, canvas: _Canvas, top: float) -> None:
        left, right = MARGIN + 0.2, canvas.width - MARGIN - 0.2
        face = _face(False)
        for i, name in enumerate(self.names):
            y = _baseline(top - i * self.pitch, self.size, self.pitch)
            page = f"第 {self.starts[name]} 页" if name in self.starts else DASH
            page_width = face.width(page, self.size)
            shown = _clip(name, right - left - page_width - 0.4, self.size)
            canvas.text(left, y, shown, size=self.size)
            canvas.text(right, y, page, size=self.size, align="right")
            leader = (left + face.width(shown, self.size) + 0.1, right - page_width - 0.1)
            canvas.rule(leader[0], y + 0.01, leader[1], y + 0.01, colour="#c0c4ca", width=0.4)


class _Chart(_Item):
    """A matplotlib chart drawn into a box of the flow."""

    def __init__(self, height: float, draw: Callable[[_Canvas, float, float, float, float], None]) -> None:
        self.height = height
        self._draw = draw

    def draw(self, canvas: _Canvas, top: float) -> None:
        self._draw(canvas, MARGIN, top - self.height, canvas.width - 2 * MARGIN, self.height)


@dataclass(frozen=True)
class _Col:
    header: str  # "\n" breaks a header
    width: float  # inches
    align: str = "left"
    lines: int = 1  # most lines of a cell; the rest is cut with "…"


class _Table:
    """Columns of fixed widths, a header that repeats on every page the table runs to, rows whose cells
    are wrapped or clipped to their column when the row is made (so the row's height is known)."""

    def __init__(self, columns: Sequence[_Col], caption: str | None, *, size: float = TABLE) -> None:
        self.columns, self.caption, self.size = tuple(columns), caption, size
        self.pitch = size * PT * CELL_PITCH
        self.lefts = [MARGIN + sum(c.width for c in self.columns[:i]) for i in range(len(self.columns))]
        self.count = 0

    def cell_lines(self, column: _Col, text: str, *, bold: bool = False, lines: int | None = None) -> list[str]:
        width = column.width - 2 * CELL_PAD_X
        return _wrap(text, width, self.size, bold=bold, lines=lines or column.lines)

    def height_of(self, cells: Sequence[list[str]]) -> float:
        most = max((len(c) for c in cells), default=1)
        return 2 * CELL_PAD_Y + (most - 1) * self.pitch + self.size * PT

    def header(self) -> _TableHeader:
        return _TableHeader(self)

    def row(self, values: Sequence[Any], *, colours: dict[int, str] | None = None) -> _TableRow:
        cells = [self.cell_lines(col, _s(value)) for col, value in zip(self.columns, values, strict=True)]
        self.count += 1
        return _TableRow(self, cells, colours or {}, zebra=self.count % 2 == 0)

    def draw_cells(
        self, canvas: _Canvas, top: float, cells: Sequence[list[str]], *, bold: bool, colours: dict[int, str]
    ) -> None:
        first = top - CELL_PAD_Y - ASCENT * self.size * PT
        for i, (col, lines) in enumerate(zip(self.columns, cells, strict=True)):
            left = self.lefts[i]
            if col.align == "right":
                x, align = left + col.width - CELL_PAD_X, "right"
            elif col.align == "center":
                x, align = left + col.width / 2, "center"
            else:
                x, align = left + CELL_PAD_X, "left"
            colour = colours.get(i, INK)
            for k, line in enumerate(lines):
                canvas.text(x, first - k * self.pitch, line, size=self.size, bold=bold, colour=colour, align=align)

    @property
    def right(self) -> float:
        return self.lefts[-1] + self.columns[-1].width


class _TableHeader(_Item):
    sticky = True

    def __init__(self, table: _Table) -> None:
        self.table = table
        self.cells = [table.cell_lines(c, c.header, bold=True, lines=3) for c in table.columns]
        self.height = table.height_of(self.cells)

    def draw(self, canvas: _Canvas, top: float) -> None:
        t = self.table
        canvas.box(MARGIN, top - self.height, t.right - MARGIN, self.height, HEADER_FILL)
        t.draw_cells(canvas, top, self.cells, bold=True, colours={})
        canvas.rule(MARGIN, top - self.height, t.right, top - self.height, width=0.6)


class _TableRow(_Item):
    def __init__(self, table: _Table, cells: list[list[str]], colours: dict[int, str], *, zebra: bool) -> None:
        self.table, self.cells, self.colours, self.zebra = table, cells, colours, zebra
        self.height = table.height_of(cells)

    def draw(self, canvas: _Canvas, top: float) -> None:
        t = self.table
        if self.zebra:
            canvas.box(MARGIN, top - self.height, t.right - MARGIN, self.height, ZEBRA_FILL)
        t.draw_cells(canvas, top, self.cells, bold=False, colours=self.colours)


def _table_items(table: _Table, rows: Iterable[_TableRow], *, empty: str = "（无）") -> list[_Item]:
    items: list[_Item] = []
    if table.caption:
        items.append(_Heading(table.caption, size=10.0, before=0.08))
    items.append(table.header())
    body = list(rows)
    items += body or [_Line(empty, size=table.size, colour=GREY)]
    items.append(_Gap(0.15))
    return items


@dataclass
class _Section:
    name: str | None  # in the contents; None: the cover
    items: list[_Item]
    size: tuple[float, float] = PORTRAIT


@dataclass
class _Page:
    size: tuple[float, float]
    placed: list[tuple[float, _Item]]


def _paginate(section: _Section) -> list[_Page]:
    """The section's items on pages of its size, from the top: an item that does not fit starts a page, a
    sticky one (heading, table header) goes over with what follows it, a table row that starts a page is
    preceded by its table's caption (续) and header."""
    top, bottom = section.size[1] - TOP_MARGIN, BOTTOM_MARGIN
    pages = [_Page(section.size, [])]
    y = top
    items = section.items
    for i, item in enumerate(items):
        if isinstance(item, _Gap) and not pages[-1].placed:
            continue
        need = item.height
        j = i + 1
        if item.sticky:
            while j < len(items) and items[j].sticky:
                need += items[j].height
                j += 1
            if j < len(items):
                need += items[j].height
        if y - need < bottom and pages[-1].placed:
            if isinstance(item, _Gap):
                continue
            pages.append(_Page(section.size, []))
            y = top
            if isinstance(item, _TableRow):
                caption = item.table.caption or section.name or ""
                for repeat in (_Line(f"{caption}（续）", size=9.0, bold=True, colour=GREY), item.table.header()):
                    pages[-1].placed.append((y, repeat))
                    y -= repeat.height
        pages[-1].placed.append((y, item))
        y -= item.height
    return pages


# ----------------------------------------------------------------------------------------------- sections


def _usable(size: tuple[float, float] = PORTRAIT) -> float:
    return size[0] - 2 * MARGIN


def _cover(snapshot: dict[str, Any], contents: _Contents) -> _Section:
    evaluation = _get(snapshot, "evaluation")
    basis = _get(snapshot, "basis")
    rule = _get(snapshot, "scoreboard", "rule")
    width = _usable()
    items: list[_Item] = [_Gap(0.9), _Line("xiangmap 定期评估报告", size=10.0, colour=GREY)]
    title = _title(snapshot)
    # one line in a slightly smaller size rather than a last character alone on the second
    size = next((s for s in (20.0, 18.0, 16.5) if _face(True).width(title, s) <= width), 20.0)
    items += [
        _Line(line, size=size, bold=True, colour=ACCENT) for line in _wrap(title, width, size, bold=True, lines=4)
    ]
    subtitle = f"{_s(_get(evaluation, 'kind_label'))}　{_s(_get(evaluation, 'period'))}"
    items += [_Gap(0.05), *_paragraph(subtitle, width, size=13.0), _Gap(0.35)]
    scope = _get(evaluation, "scope")
    plan = _get(scope, "plan_title")
    if plan is None and isinstance(scope, dict) and scope.get("plan_id") is None:
        plan = "全部计划"
    items += [
        _KeyValue("截至日期", f"{_date_label(_get(evaluation, 'as_of'))}（{_s(_get(evaluation, 'as_of'))}）", width),
        _KeyValue("评估范围", _s(plan), width),
        _KeyValue("评估编号", _s(_get(evaluation, "id")), width),
        _KeyValue("生成时间", _created_label(_get(evaluation, "created_at")), width),
        _KeyValue("生成人", _s(_get(evaluation, "created_by")), width),
        _Heading("计算依据", size=12.0, before=0.3, rule=True),
        _Gap(0.06),
        _KeyValue("数据版本", _s(_get(basis, "data_version")), width),
        _KeyValue("滞后容差", _tolerance(_get(basis, "delay_threshold_pct")), width),
    ]
    rules = _get(basis, "rules")
    if isinstance(rules, dict) and rules:
        for k, (path, digest) in enumerate(sorted(rules.items(), key=lambda p: str(p[0]))):
            items.append(_KeyValue("规则文件" if k == 0 else "", f"{_s(path)}　SHA-256 {_sha(digest)}", width))
    else:
        items.append(_KeyValue("规则文件", DASH, width))
    rule_text = f"{_s(_get(rule, 'name'))}　版本 {_s(_get(rule, 'version'))}　SHA-256 {_sha(_get(rule, 'sha256'))}"
    wall = _get(snapshot, "wall_map")
    items += [
        _KeyValue("考核规则", rule_text, width),
        _KeyValue("软件", _s(_get(basis, "software")), width),
        _KeyValue("挂图", f"{_s(_get(wall, 'name'))}　SHA-256 {_sha(_get(wall, 'sha256'))}", width),
        _KeyValue("快照格式", _s(_get(snapshot, "format")), width),
        _Heading("目录", size=12.0, before=0.3, rule=True),
        _Gap(0.06),
        contents,
    ]
    return _Section(None, items)


def _tolerance(value: Any) -> str:
    number = _float(value)
    return _s(value) if number is None else f"{number:g} 个百分点（低于已到期节点计划进度超过此值即为滞后）"


def _title(snapshot: dict[str, Any]) -> str:
    title = _get(snapshot, "evaluation", "title")
    return _s(title) if title is not None and str(title).strip() else "定期评估报告"


def _status_counts(value: Any) -> dict[str, Any]:
    return {cls: _get(value, cls) for cls in SCHEDULE_CLASSES}


def _summary(snapshot: dict[str, Any]) -> _Section:
    name = "一、总体情况"
    summary = _get(snapshot, "summary")
    width = _usable()
    projects = _get(summary, "projects")
    counts = _status_counts(_get(summary, "by_status"))
    text = (
        f"纳入评估任务 {_count(projects)} 项；已完成 {_count(counts['已完成'])} 项，完成率 "
        f"{_rate(_get(summary, 'completion_rate'))}；平均进度 {_percent(_get(summary, 'mean_percent'))}；"
        f"已开工进展缓慢及应开工未开工 {_count(_get(summary, 'delayed'))} 项。"
    )
    investment = _float(_get(summary, "investment_wan"))
    if investment is not None:
        text += f"计划投资 {investment:,.0f} 万元。"
    items: list[_Item] = [_Heading(name, rule=True), _Gap(0.05), *_paragraph(text, width), _Gap(0.1)]
    table = _Table(
        (_Col("进度分类", 1.9), _Col("任务数", 0.9, "right"), _Col("占比", 0.9, "right")), "（一）任务进度分类"
    )
    rows = [
        table.row((cls, _count(counts[cls]), _share(counts[cls], projects)), colours={0: STATUS_COLORS.get(cls, INK)})
        for cls in SCHEDULE_CLASSES
    ]
    rows.append(table.row(("合计", _count(projects), _share(projects, projects))))
    items += _table_items(table, rows)
    if any(_float(v) for v in counts.values()):
        items.append(_Chart(1.9, lambda c, x, y, w, h: _class_chart(c, x, y, w, h, counts, projects)))
        items.append(_Gap(0.15))
    items += _cases(snapshot, width)
    return _Section(name, items)


def _class_chart(
    canvas: _Canvas, x: float, y: float, w: float, h: float, counts: dict[str, Any], projects: Any
) -> None:
    """The five classes as horizontal bars in their map colours, each labelled with its count and share."""
    ax = canvas.axes(x + 1.25, y + 0.15, w - 2.2, h - 0.25)
    values = [_float(counts[c]) or 0.0 for c in SCHEDULE_CLASSES]
    positions = list(range(len(SCHEDULE_CLASSES)))
    ax.barh(positions, values, height=0.62, color=[STATUS_COLORS.get(c, "#777777") for c in SCHEDULE_CLASSES])
    ax.set_yticks(positions, labels=list(SCHEDULE_CLASSES), fontsize=8)
    ax.invert_yaxis()
    top = max(values) or 1.0
    ax.set_xlim(0, top * 1.05)
    for p, v, c in zip(positions, values, SCHEDULE_CLASSES, strict=True):
        ax.text(
            v + top * 0.01,
            p,
            f"{_count(counts[c])} 项（{_share(counts[c], projects)}）",
            va="center",
            fontsize=7.5,
            clip_on=False,
        )
    ax.tick_params(axis="x", labelsize=7, length=2)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _cases(snapshot: dict[str, Any], width: float) -> list[_Item]:
    cases = _get(snapshot, "cases")
    totals = _get(cases, "totals")
    closing = _get(cases, "time_to_close")
    text = (
        f"截至评估日：未销号 {_count(_get(totals, 'open'))} 件，其中逾期 {_count(_get(totals, 'overdue'))} 件；"
        f"已销号 {_count(_get(totals, 'closed'))} 件，撤销 {_count(_get(totals, 'withdrawn'))} 件；"
        f"违法违规 {_count(_get(totals, 'violations'))} 件。"
        f"销号用时（已销号 {_count(_get(closing, 'closed'))} 件）：中位 {_fixed(_get(closing, 'median_days'), 1)} 天，"
        f"平均 {_fixed(_get(closing, 'mean_days'), 1)} 天。"
    )
    items: list[_Item] = [_Heading("（二）案件情况", size=10.0, before=0.08), *_paragraph(text, width), _Gap(0.08)]
    number = 0.66
    table = _Table(
        (
            _Col("单位", width - 7 * number, lines=2),
            _Col("未销号", number, "right"),
            _Col("其中逾期", number, "right"),
            _Col("已销号", number, "right"),
            _Col("撤销", number, "right"),
            _Col("应整改", number, "right"),
            _Col("按期整改", number, "right"),
            _Col("违法违规", number, "right"),
        ),
        "案件按单位",
    )
    keys = ("open", "overdue", "closed", "withdrawn", "due", "closed_on_time", "violations")
    rows = [table.row((_get(u, "unit"), *(_count(_get(u, k)) for k in keys))) for u in _list(_get(cases, "by_unit"))]
    return items + _table_items(table, rows)


def _groups(snapshot: dict[str, Any]) -> _Section:
    name = "二、分类统计"
    width = _usable()
    items: list[_Item] = [_Heading(name, rule=True), _Gap(0.05)]
    items += _paragraph(
        "各表的“任务数”为该组任务数，其余列为各进度分类的任务数、完成率（已完成任务占比）与平均进度（最新上报百分比的"
        "平均）。一项任务有两个牵头单位时分别计入，按责任单位各行之和可能多于任务总数。",
        width,
        size=8.0,
        colour=GREY,
    )
    items.append(_Gap(0.05))
    for caption, key, label in (
        ("（一）按责任单位", "unit", "责任单位"),
        ("（二）按类别", "category", "类别"),
        ("（三）按区县", "district", "区县"),
        ("（四）按计划", "plan", "计划"),
    ):
        number = 0.6
        columns = [
            _Col(label, width - 8 * number, lines=2),
            _Col("任务数", number, "right"),
            _Col("正常推进", number, "right"),
            _Col("已开工\n进展缓慢", number, "right"),
            _Col("应开工\n未开工", number, "right"),
            _Col("已完成", number, "right"),
            _Col("暂停", number, "right"),
            _Col("完成率", number, "right"),
            _Col("平均进度", number, "right"),
        ]
        table = _Table(columns, caption)
        rows = []
        for group in _list(_get(snapshot, "groups", key)):
            title = _get(group, "title") if key == "plan" else None
            counts = _status_counts(_get(group, "by_status"))
            rows.append(
                table.row(
                    (
                        title if title is not None else _get(group, "key"),
                        _count(_get(group, "projects")),
                        *(_count(counts[c]) for c in SCHEDULE_CLASSES),
                        _rate(_get(group, "completion_rate")),
                        _percent(_get(group, "mean_percent")),
                    )
                )
            )
        items += _table_items(table, rows)
    return _Section(name, items)


def _scoreboard(snapshot: dict[str, Any]) -> _Section:
    name = "三、考核得分"
    width = _usable()
    board = _get(snapshot, "scoreboard")
    rule = _get(board, "rule")
    units = [u for u in _list(_get(board, "units")) if isinstance(u, dict)]
    # the parts in the order the first unit lists them, then any only later units have
    parts: dict[str, str] = {}
    for unit in units:
        for part in _list(unit.get("parts")):
            key = _s(_get(part, "part"))
            parts.setdefault(key, _s(_get(part, "label")) if _get(part, "label") is not None else key)
    weights = _get(rule, "weights")
    weight_text = "、".join(
        f"{parts.get(str(k), _s(k))} {_count(v)}" for k, v in (weights.items() if isinstance(weights, dict) else ())
    )
    items: list[_Item] = [_Heading(name, rule=True), _Gap(0.05)]
    items += _paragraph(
        f"考核规则：{_s(_get(rule, 'name'))}（版本 {_s(_get(rule, 'version'))}，规则文件 SHA-256 "
        f"{_sha(_get(rule, 'sha256'))}）。权重：{weight_text or DASH}。",
        width,
    )
    items += _paragraph("各项得分 = 权重 × 达成率，括号内为达成率的计算依据；总分为各项得分之和。", width, colour=GREY)
    items.append(_Gap(0.1))
    fixed = 0.45 + 1.55 + 0.6
    each = (width - fixed) / max(len(parts), 1)
    columns = [_Col("排名", 0.45, "right"), _Col("单位", 1.55, lines=2), _Col("总分", 0.6, "right")]
    columns += [_Col(f"{label}\n（{_part_weight(weights, key)}）", each, lines=3) for key, label in parts.items()]
    table = _Table(columns, None)
    ranked = sorted(units, key=lambda u: (_float(u.get("rank")) is None, _float(u.get("rank")) or 0.0))
    rows = []
    for unit in ranked:
        by_part = {_s(_get(p, "part")): p for p in _list(unit.get("parts"))}
        cells = [_count(unit.get("rank")), unit.get("unit"), _fixed(unit.get("score"), 2)]
        cells += [_part_cell(by_part.get(key)) for key in parts]
        rows.append(table.row(cells))
    items += _table_items(table, rows, empty="（没有参加考核的单位）")
    return _Section(name, items)


def _part_weight(weights: Any, key: str) -> str:
    value = _get(weights, key) if isinstance(weights, dict) else None
    return _count(value) if value is not None else DASH


def _part_cell(part: Any) -> _Lines | str:
    """One part's points with how they came: weight × value = points, and under it the basis."""
    if not isinstance(part, dict):
        return DASH
    value = _float(part.get("value"))
    shown = DASH if value is None else f"{value:.4f}".rstrip("0").rstrip(".")
    text = f"{_count(part.get('weight'))}×{shown}={_fixed(part.get('points'), 2)}"
    basis = part.get("basis")
    return text if basis is None or not str(basis).strip() else _Lines((text, f"（{_s(basis)}）"))


def _behind(snapshot: dict[str, Any]) -> _Section:
    name = "四、滞后及应开工未开工任务清单"
    width = _usable()
    tasks = [t for t in _list(_get(snapshot, "tasks")) if isinstance(t, dict) and t.get("status") in BEHIND_CLASSES]
    slow = sum(1 for t in tasks if t.get("status") == BEHIND_CLASSES[0])
    items: list[_Item] = [_Heading(name, rule=True), _Gap(0.05)]
    items += _paragraph(
        f"共 {len(tasks)} 项：{BEHIND_CLASSES[0]} {slow} 项，{BEHIND_CLASSES[1]} {len(tasks) - slow} 项，"
        "按任务序号排列。"
        "“进度/计划”为最新上报进度与截至评估日已到期节点的计划进度（%）。",
        width,
    )
    items.append(_Gap(0.1))
    fixed = (0.42, 2.0, 1.0, 0.85, 0.72, 0.85)
    table = _Table(
        (
            _Col("序号", fixed[0], "right"),
            _Col("任务", fixed[1], lines=3),
            _Col("牵头单位", fixed[2], lines=2),
            _Col("进度分类", fixed[3]),
            _Col("进度/计划", fixed[4], "center"),
            _Col("滞后情形", fixed[5], lines=2),
            _Col("滞后原因", width - sum(fixed), lines=3),
        ),
        None,
    )
    rows = []
    for task in tasks:
        category, reason = task.get("behind_category"), task.get("behind_reason")
        why = "：".join(_s(v) for v in (category, reason) if v is not None and str(v).strip()) or DASH
        rows.append(
            table.row(
                (
                    _count(task.get("no")),
                    task.get("title"),
                    task.get("lead_units"),
                    task.get("status"),
                    f"{_fixed(task.get('percent'), 1)} / {_fixed(task.get('planned_pct'), 1)}",
                    task.get("delay_label"),
                    why,
                ),
                colours={3: STATUS_COLORS.get(str(task.get("status")), INK)},
            )
        )
    items += _table_items(table, rows, empty="（截至评估日没有滞后或应开工未开工的任务）")
    return _Section(name, items)


class _WallMap(_Item):
    """The wall map, scaled to the page (never up past its pixels' worth), or why there is none."""

    def __init__(self, snapshot: dict[str, Any], image: np.ndarray | None, problem: str | None, height: float) -> None:
        self.snapshot, self.image, self.problem = snapshot, image, problem
        self.height = height

    def draw(self, canvas: _Canvas, top: float) -> None:
        wall = _get(self.snapshot, "wall_map")
        note = f"{_s(_get(wall, 'name'))}　SHA-256 {_sha(_get(wall, 'sha256'))}"
        width = canvas.width - 2 * MARGIN
        canvas.text(MARGIN, _baseline(top, BODY, 0.2), _clip(note, width, BODY), colour=GREY)
        box_top, box_bottom = top - 0.3, top - self.height
        if self.image is None:
            canvas.text(MARGIN, _baseline(box_top, 12.0, 0.3), self.problem or "无挂图", size=12.0)
            return
        rows, cols = self.image.shape[:2]
        scale = min(width / cols, (box_top - box_bottom) / rows)
        w, h = cols * scale, rows * scale
        x, y = MARGIN + (width - w) / 2, box_top - h
        ax = canvas.axes(x, y, w, h)
        ax.imshow(self.image, interpolation="none", aspect="auto")
        ax.set_axis_off()
        canvas.rule(x, y, x + w, y, width=0.4)
        canvas.rule(x, y + h, x + w, y + h, width=0.4)
        canvas.rule(x, y, x, y + h, width=0.4)
        canvas.rule(x + w, y, x + w, y + h, width=0.4)


def _decode(png: bytes | None) -> tuple[np.ndarray | None, str | None]:
    """The PNG as RGB pixels on white (no soft mask in the PDF), at most WALL_MAP_MAX_PX on its long side;
    or why not: None is "无挂图", unreadable bytes a line saying so rather than no report at all."""
    if png is None:
        return None, None
    try:
        with Image.open(io.BytesIO(png)) as opened:
            opened.load()
            picture = opened.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("the wall map cannot be read: %s", exc)
        return None, f"挂图无法读取（{type(exc).__name__}）"
    white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
    picture = Image.alpha_composite(white, picture).convert("RGB")
    longest = max(picture.size)
    if longest > WALL_MAP_MAX_PX:
        factor = WALL_MAP_MAX_PX / longest
        picture = picture.resize(
            (max(1, round(picture.width * factor)), max(1, round(picture.height * factor))), Image.Resampling.LANCZOS
        )
    return np.asarray(picture), None


def _wall_map(snapshot: dict[str, Any], png: bytes | None) -> _Section:
    name = "五、挂图作战"
    image, problem = _decode(png)
    size = LANDSCAPE if image is not None else PORTRAIT
    head: list[_Item] = [_Heading(name, rule=True), _Gap(0.05)]
    room = size[1] - TOP_MARGIN - BOTTOM_MARGIN - sum(item.height for item in head) - 0.01
    return _Section(name, [*head, _WallMap(snapshot, image, problem, room)], size)


# ----------------------------------------------------------------------------------------------- report


def _footer(canvas: _Canvas, snapshot: dict[str, Any], number: int, total: int) -> None:
    W = canvas.width
    canvas.rule(MARGIN, FOOTER_RULE, W - MARGIN, FOOTER_RULE, width=0.4)
    page = f"第 {number} / {total} 页"
    canvas.text(W - MARGIN, FOOTER_BASELINE, page, size=7.5, colour=GREY, align="right")
    as_of = f"　截至 {_s(_get(snapshot, 'evaluation', 'as_of'))}"
    room = W - 2 * MARGIN - _face(False).width(page, 7.5) - 0.3 - _face(False).width(as_of, 7.5)
    title = _clip(_title(snapshot), max(room, 0.5), 7.5)
    canvas.text(MARGIN, FOOTER_BASELINE, title + as_of, size=7.5, colour=GREY)


def _metadata(snapshot: dict[str, Any]) -> dict[str, Any]:
    evaluation = _get(snapshot, "evaluation")
    subject = (
        f"{_s(_get(evaluation, 'kind_label'))} {_s(_get(evaluation, 'period'))} 截至 {_s(_get(evaluation, 'as_of'))}"
    )
    author = _get(evaluation, "created_by")
    return {
        "Title": _title(snapshot),
        "Subject": subject,
        "Author": _s(author) if author is not None else None,
        "Creator": _s(_get(snapshot, "basis", "software")) if _get(snapshot, "basis", "software") else "xiangmap",
        "CreationDate": _creation_date(evaluation),
        "ModDate": None,
    }


def report_pdf(snapshot: dict[str, Any], wall_map_png: bytes | None) -> bytes:
    """The report of the evaluation ``snapshot`` (docs/evaluations.md) with ``wall_map_png`` (None: no wall
    map), as the bytes of a PDF: the same bytes for the same arguments, on any day."""
    use_cjk_font()  # before the rc context, which would undo the defaults it sets once for the process
    with _LOCK, matplotlib.rc_context(_RC):
        starts: dict[str, int] = {}
        contents = _Contents(
            ["一、总体情况", "二、分类统计", "三、考核得分", "四、滞后及应开工未开工任务清单", "五、挂图作战"], starts
        )
        sections = [
            _cover(snapshot, contents),
            _summary(snapshot),
            _groups(snapshot),
            _scoreboard(snapshot),
            _behind(snapshot),
            _wall_map(snapshot, wall_map_png),
        ]
        pages: list[_Page] = []
        for section in sections:
            if section.name is not None:
                starts[section.name] = len(pages) + 1
            pages += _paginate(section)
        encoder = _Encoder()
        out = io.BytesIO()
        with PdfPages(out, metadata=_metadata(snapshot)) as pdf:
            for number, page in enumerate(pages, start=1):
                canvas = _Canvas(page.size, encoder)
                for top, item in page.placed:
                    item.draw(canvas, top)
                _footer(canvas, snapshot, number, len(pages))
                pdf.savefig(canvas.finish())
        return out.getvalue()
