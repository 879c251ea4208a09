"""The patrol form (巡查登记) as typed: values kept as strings for showing again, errors per field in Chinese.

The form only checks what a browser can get wrong before the case register sees it (a field left empty,
a date that is not a date, a place that is not GeoJSON); the register (``service.cases.usecases``) checks
the rest and names the field it refuses, which :meth:`PatrolForm.add` puts next to that field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FORM = "_form"  # errors that belong to no one field
KINDS = ("巡查发现", "违法违规", "督察问题")
SEVERITIES = ("一般", "较重", "严重")
SOURCES = ("gps", "drawn", "file")
FIELDS = (
    "kind",
    "title",
    "description",
    "severity",
    "found_on",
    "geom",
    "place_file",
    "photos",
    "responsible_unit_id",
    "rectification",
    "deadline",
    "project_id",
)
# the register's names for some fields, as its refusals name them
ALIASES = {
    "responsible_unit": "responsible_unit_id",
    "geometry": "geom",
    "position": "geom",
    "files": "photos",
}
MAX_TITLE = 200


@dataclass
class PatrolForm:
    """What the inspector typed, drew or let the phone find (strings), and the errors found in it."""

    kind: str = ""
    title: str = ""
    description: str = ""
    severity: str = "一般"
    found_on: str = ""
    geom: str = ""  # GeoJSON geometry in WGS84, written by static/web/case-form.js
    position_source: str = ""  # gps / drawn / file
    accuracy_m: str = ""  # the phone's accuracy (gps only)
    responsible_unit_id: str = ""
    rectification: str = ""
    deadline: str = ""
    project_id: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, values: dict[str, str | None]) -> PatrolForm:
        return cls(**{k: (values.get(k) or "").strip() for k in cls.__dataclass_fields__ if k != "errors"})

    @classmethod
    def defaults(cls, role: str | None, today: date) -> PatrolForm:
        return cls(kind="巡查发现" if role == "inspector" else "", found_on=today.isoformat())

    def add(self, name: str | None, message: str) -> None:
        key = ALIASES.get(name or "", name or "")
        self.errors.setdefault(key if key in FIELDS else FORM, []).append(message)

    def check(self, *, has_place_file: bool, today: date) -> None:
        """The browser-side mistakes, each next to its field; what the register checks is left to it."""
        if self.kind not in KINDS:
            self.add("kind", "请选择案件类别（巡查发现、违法违规或督察问题） / choose the kind")
        if not self.title:
            self.add("title", "请填写标题 / the title is required")
        elif len(self.title) > MAX_TITLE:
            self.add("title", f"标题不超过 {MAX_TITLE} 字（现为 {len(self.title)} 字） / at most {MAX_TITLE}")
        if self.severity not in SEVERITIES:
            self.add("severity", "请选择严重程度 / choose the severity")
        found = self._date("found_on", required=True)
        if found and found > today:
            self.add("found_on", f"发现日期 {found.isoformat()} 晚于今天 / the finding date is in the future")
        deadline = self._date("deadline", required=False)
        if found and deadline and deadline < found:
            self.add(
                "deadline",
                f"整改期限 {deadline.isoformat()} 早于发现日期 {found.isoformat()} / deadline before the finding",
            )
        if self.kind == "督察问题" and not self.project_id:
            self.add("project_id", "督察问题须选择所涉改革任务 / a supervision problem names its reform task")
        for name in ("responsible_unit_id", "project_id"):
            value = getattr(self, name)
            if value and (not value.isdigit() or len(value) > 18):
                self.add(name, "请从列表中选择 / choose one from the list")
        if not has_place_file:
            if not self.geom:
                self.add("geom", "请确定位置：使用当前位置、在地图上标点或画范围，或上传文件 / the place is required")
            else:
                self._check_geom()
        if self.accuracy_m:
            try:
                accuracy = float(self.accuracy_m)
            except ValueError:
                accuracy = -1.0
            if not math.isfinite(accuracy) or accuracy < 0:
                self.add("geom", "定位精度无效 / the accuracy is not a distance in metres")

    def _date(self, name: str, *, required: bool) -> date | None:
        value = getattr(self, name)
        if not value:
            if required:
                self.add(name, "请填写日期 / the date is required")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(name, f"“{value}”不是日期，请按 2026-03-01 的格式填写 / not a date (YYYY-MM-DD)")
            return None

    def _check_geom(self) -> None:
        try:
            geometry = json.loads(self.geom)
        except ValueError:
            self.add("geom", "位置数据无法读取，请重新标注 / the place is not GeoJSON")
            return
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Point", "Polygon", "MultiPolygon"):
            self.add("geom", "位置须为一个点或一个范围 / the place is a point or an area")
            return
        for lon, lat in _positions(geometry.get("coordinates")):
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                self.add("geom", f"坐标 {lon}, {lat} 超出经纬度范围 / a position out of range")
                return

    def geometry(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.geom) if self.geom else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def accuracy(self) -> float | None:
        try:
            return float(self.accuracy_m) if self.accuracy_m else None
        except ValueError:
            return None


def _positions(value: Any) -> list[tuple[float, float]]:
    """Every (lon, lat) pair in nested GeoJSON coordinates; a malformed one becomes an out-of-range pair."""
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, int | float) for v in value[:2]):
        return [(float(value[0]), float(value[1]))]
    if isinstance(value, list) and value:
        return [p for part in value for p in _positions(part)]
    return [(999.0, 999.0)]


@dataclass
class StepForm:
    """One step's form on the case page as typed: note, deadline, unit, the ETag it was shown with."""

    action: str = ""
    note: str = ""
    deadline: str = ""
    responsible_unit_id: str = ""
    etag: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str | None, message: str) -> None:
        key = ALIASES.get(name or "", name or "")
        key = "files" if key == "photos" else key
        self.errors.setdefault(key if key in ("note", "deadline", "responsible_unit_id", "files") else FORM, []).append(
            message
        )
