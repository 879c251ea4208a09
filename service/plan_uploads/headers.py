"""The columns of an office plan sheet: the Chinese headers people write (and their variants), and the
register's English names, each to one field of a task.

A header is compared in a normal form: full-width to half-width, traditional to simplified, white space,
brackets, colons and asterisks removed, lower case; so ``责任单位（牵头）``, ``责任单位(牵头)`` and
``责 任 单 位 牵头`` are one name.
"""

from __future__ import annotations

import re
import unicodedata

from service.common.chinese_text import to_simplified

# field -> the headers that name it (normal forms are computed below); the order of FIELDS is the preview's
FIELDS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号", "任务编号", "序", "number", "no"),
    "title": ("重点任务", "主要任务", "工作任务", "改革任务", "任务名称", "重点工作", "项目名称", "改革事项", "title"),
    "task_text": (
        "任务内容",
        "具体内容",
        "工作内容",
        "主要内容",
        "具体任务",
        "具体工作",
        "工作措施",
        "主要措施",
        "工作举措",
        "目标任务",
        "task_text",
    ),
    "lead_units": ("牵头单位", "牵头部门", "责任单位牵头", "牵头责任单位", "主责单位", "牵头", "lead_units"),
    "responsible_units": (
        "责任单位",
        "配合单位",
        "协办单位",
        "参与单位",
        "责任部门",
        "配合部门",
        "协同单位",
        "责任单位配合",
        "配合",
        "responsible_units",
    ),
    "deadline": (
        "完成时限",
        "时间节点",
        "完成时间",
        "时限要求",
        "时限",
        "完成期限",
        "时间要求",
        "进度安排",
        "deadline",
        "deadline_text",
    ),
    "category": ("类别", "领域", "分类", "类型", "category"),
    "notes": ("备注", "说明", "notes"),
    "section": ("section", "板块"),
}

LABELS = {
    "number": "序号",
    "title": "重点任务",
    "task_text": "任务内容",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "deadline": "完成时限",
    "category": "类别",
    "notes": "备注",
    "section": "板块",
}

_STRIP = re.compile(r"[\s()（）\[\]【】<>《》:：*＊、,，.。/]")


def normal(header: object) -> str:
    text = unicodedata.normalize("NFKC", to_simplified(str(header or "")))
    return _STRIP.sub("", text).lower()


ALIASES: dict[str, str] = {normal(alias): name for name, aliases in FIELDS.items() for alias in aliases}


def field_of(header: object) -> str | None:
    """The field a header names, or None."""
    return ALIASES.get(normal(header))


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
