"""The name and note a screening request may carry (issue 16): "清水塘东片区厂房" instead of "geojson" in the
report's title.  Bounded, single-line for the name, no control characters; blank means none."""

from __future__ import annotations

import unicodedata
from typing import Any

from service.errors import Problem

NAME_MAX = 100
NOTE_MAX = 2000


def _clean(value: Any, field: str, zh: str, most: int, *, lines: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Problem(400, f"{zh}须为文字 / {field}: must be a string", parameter=field)
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        return None
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed for ch in value):
        raise Problem(400, f"{zh}含有控制字符 / {field}: contains control characters", parameter=field)
    if len(value) > most:
        raise Problem(
            400,
            f"{zh}最多 {most} 个字，现为 {len(value)} 个 / {field}: at most {most} characters, got {len(value)}",
            parameter=field,
        )
    return value


def name_and_note(name: Any, note: Any) -> tuple[str | None, str | None]:
    """The checked (name, note): a 400 naming the field when one is too long or holds control characters."""
    return (
        _clean(name, "name", "名称", NAME_MAX, lines=False),
        _clean(note, "note", "备注", NOTE_MAX, lines=True),
    )


def labelled(answer: dict[str, Any], name: str | None, note: str | None) -> dict[str, Any]:
    """The answer with its name and note (both always present, None when not given)."""
    answer["name"] = name
    answer["note"] = note
    return answer


def report_title(default: str, name: str | None) -> str:
    return f"{name}（{default}）" if name else default
