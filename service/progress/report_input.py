"""One monthly progress report as submitted (API body, import row), validated before it touches the database.

Shared by ``POST /projects/{id}/progress`` and ``xiangmap progress import`` so both accept and reject
exactly the same things, with messages that name the field.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.common.percent import PercentError, parse_percent
from service.common.strict_numbers import Number
from service.models.plans import BEHIND_CATEGORIES, PROGRESS_STATUSES

STATUS_ALIASES = {
    "not_started": "未启动",
    "in_progress": "推进中",
    "done": "已完成",
    "completed": "已完成",
    "delayed": "滞后",
    "suspended": "暂停",
    "未开工": "未启动",
    "进行中": "推进中",
    "在建": "推进中",
    "完成": "已完成",
}
_MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月)?\s*(?:[-/.]\s*(\d{1,2})\s*日?)?\s*$")


def parse_period(value: Any) -> date:
    """A month: ``2018-06``, ``2018-06-01``, ``2018/6``, ``2018年6月`` or a date (truncated to its month)."""
    if isinstance(value, datetime):
        return value.date().replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.match(str(value or ""))
    if not match:
        raise ValueError(
            f"月份“{value}”无法识别，请写成 2018-06 / "
            f"period {value!r} is not a month; write it as YYYY-MM (e.g. 2018-06)"
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"月份“{value}”：{month} 月不存在 / period {value!r}: month {month} is not between 1 and 12")
    if not 1990 <= year <= 2100:
        raise ValueError(
            f"月份“{value}”：年份 {year} 不在 1990-2100 之间 / period {value!r}: year {year} is out of range 1990-2100"
        )
    return date(year, month, 1)


def parse_status(value: Any) -> str:
    text = str(value or "").strip()
    status = STATUS_ALIASES.get(text.lower(), text)
    if status not in PROGRESS_STATUSES:
        raise ValueError(
            f"状态“{text}”不是 {'、'.join(PROGRESS_STATUSES)} 之一 / "
            f"status {text!r} is not one of {', '.join(PROGRESS_STATUSES)}"
        )
    return status


class ReportIn(BaseModel):
    """A report body: period (month), status, percent, investment done (万元), note, done geometry (GeoJSON)."""

    model_config = ConfigDict(extra="forbid")

    period: date = Field(description="the reported month, YYYY-MM")
    status: str = Field(description="未启动 / 推进中 / 已完成 / 滞后 / 暂停 (or not_started ... suspended)")
    percent: Number = Field(ge=0, le=100, description="percent complete, 0-100")
    investment_wan: Number | None = Field(default=None, ge=0, description="cumulative investment done, 万元")
    note: str | None = Field(default=None, max_length=4000)
    behind_reason: str | None = Field(
        default=None, max_length=2000, description="the unit's own reason when the task is behind (滞后原因)"
    )
    behind_category: str | None = Field(
        default=None, description="why it is behind: 资金 用地 审批 拆迁 设计 其他 (滞后原因类别)"
    )
    done_geom: dict[str, Any] | None = Field(
        default=None, description="GeoJSON geometry (EPSG:4326) of the part done: built road section, treated reach ..."
    )

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> date:
        return parse_period(value)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> str:
        return parse_status(value)

    @field_validator("percent", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        """80%, 80 and 0.8 all mean 80 percent (service.common.percent, decision 0175)."""
        if isinstance(value, bool) or value is None:
            return value  # Number refuses booleans with its own message; a missing percent is pydantic's
        try:
            return parse_percent(value)
        except PercentError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("behind_category", mode="before")
    @classmethod
    def _behind_category(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or value.strip() not in BEHIND_CATEGORIES:
            choices = "、".join(BEHIND_CATEGORIES)
            raise ValueError(f"滞后原因类别须为 {choices} 之一 / behind_category must be one of {choices}")
        return value.strip()

    @field_validator("note", "behind_reason", mode="after")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("percent", "investment_wan", mode="after")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("done_geom", mode="after")
    @classmethod
    def _geometry(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        allowed = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")
        if kind not in allowed:
            raise ValueError(f"done_geom must be a GeoJSON {', '.join(allowed)} geometry, not {kind!r}")
        if "coordinates" not in value:
            raise ValueError("done_geom has no coordinates")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ReportIn:
        if self.status == "已完成" and self.percent < 100:
            raise ValueError(
                f"状态为已完成时完成比例须为 100%，填的是 {self.percent:g}% / "
                f"status 已完成 (done) needs percent 100, got {self.percent:g}"
            )
        if self.status == "未启动" and self.percent > 0:
            raise ValueError(
                f"状态为未启动时完成比例须为 0，填的是 {self.percent:g}% / "
                f"status 未启动 (not started) needs percent 0, got {self.percent:g}"
            )
        return self
