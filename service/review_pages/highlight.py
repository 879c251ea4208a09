"""The task text with its spans marked, built from (start, end) offsets and escaped piece by piece.

The text comes from a planner's spreadsheet and may hold anything (``<script>`` included): every piece
between and inside the marks is escaped here, and the result is Markup only because of that.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Span:
    """One highlighted stretch: ``kind`` is the CSS class (match, ambiguous, unknown), ``title`` its tooltip."""

    start: int
    end: int
    kind: str
    title: str


def highlight(text: str, spans: list[Span]) -> Markup:
    """``text`` with each span in ``<mark class="hl-KIND" title="...">``; overlapping or out-of-range spans are
    dropped (the first one of an overlap kept: the caller lists the stored matches first)."""
    kept: list[Span] = []
    for span in spans:
        if not 0 <= span.start < span.end <= len(text):
            continue
        if any(span.start < k.end and k.start < span.end for k in kept):
            continue
        kept.append(span)
    out: list[str] = []
    at = 0
    for span in sorted(kept, key=lambda s: s.start):
        out.append(str(escape(text[at : span.start])))
        out.append(
            f'<mark class="hl hl-{escape(span.kind)}" title="{escape(span.title)}">'
            f"{escape(text[span.start : span.end])}</mark>"
        )
        at = span.end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))
