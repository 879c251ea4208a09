"""The Jinja2 environment of the web pages: templates under service/templates, autoescaped.

One environment for every page so that the base layout, the form macros and the filters are the same
everywhere.  Autoescape is on for ``.html`` (and for strings rendered from code): a user name or a task
text with ``<script>`` in it is shown as text.  Undefined names fail loudly in tests
(``StrictUndefined``) instead of rendering as empty.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

ROLE_LABELS = {
    "viewer": "查看",
    "editor": "编辑",
    "inspector": "督察",
    "gis": "地理信息",
    "admin": "管理员",
    "coordinator": "统筹",
}


def role_label(role: str | None) -> str:
    """The role in Chinese; a role this table does not know yet is shown as it is stored."""
    if role is None:
        return "访客"
    return ROLE_LABELS.get(role, role)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["role_label"] = role_label
    env.filters["local_time"] = local_time
    return env


def local_time(value: object) -> str:
    """A timestamp as Beijing time (UTC+8, the users' clock), to the minute."""
    from datetime import datetime, timedelta, timezone

    if not isinstance(value, datetime):
        return ""
    return value.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
