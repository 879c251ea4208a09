"""The report form as typed: its values kept for showing again, read into a ``ReportIn``, its errors per field.

Every message is Chinese first with the English after it; each belongs to the field it is about (the
form shows it next to that field), or to the form as a whole (``FORM``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from service.common.percent import PercentError, parse_percent
from service.errors import Problem

FORM = "_form"  # errors that belong to no one field
FIELDS = (
    "period",
    "status",
    "percent",
    "investment_wan",
    "note",
    "behind_category",
    "behind_reason",
    "done_geom",
    "done_file",
    "evidence",
)
LABELS = {
    "period": "月份",
    "status": "状态",
    "percent": "完成比例",
    "investment_wan": "累计完成投资",
    "note": "进展说明",
    "behind_category": "滞后原因类别",
    "behind_reason": "滞后原因",
    "done_geom": "已建部分",
    "done_file": "已建部分文件",
    "evidence": "佐证材料",
}
STATUSES = ("推进中", "已完成", "滞后", "暂停", "未启动")
# pydantic's own wording, said in Chinese (the English follows)
PYDANTIC_ZH = {
    "missing": "必填",
    "string_too_long": "太长",
    "float_parsing": "不是数字",
    "greater_than_equal": "不能小于 0",
    "less_than_equal": "不能大于 100",
    "finite_number": "必须是有限数",
}


@dataclass
class ReportForm:
    """What the person typed (strings, as typed), and the errors found in it."""

    period: str = ""
    status: str = ""
    percent: str = ""
    investment_wan: str = ""
    note: str = ""
    behind_category: str = ""
    behind_reason: str = ""
    done_geom: str = ""  # the drawn part, GeoJSON text written by the map script
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, values: dict[str, str | None]) -> ReportForm:
        return cls(**{k: (values.get(k) or "") for k in cls.__dataclass_fields__ if k != "errors"})

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name if name in FIELDS else FORM, []).append(message)

    def add_problem(self, problem: Problem, *, built_from_file: bool = False) -> None:
        """A refusal of the report (progress rules, the done geometry) next to the field it names, in Chinese;
        a built part read from a file is refused beside the file input."""
        where = str(problem.extra.get("pointer") or problem.extra.get("parameter") or "").strip("/").split("/")[0]
        if where == "done_geom" and built_from_file:
            where = "done_file"
        self.add(where, chinese(problem.detail, where))

    def body(self) -> dict[str, Any] | None:
        """The report body (what ``ReportIn`` reads) when the typed values make one; else None, errors added."""
        body: dict[str, Any] = {
            "period": self.period.strip(),
            "status": self.status.strip(),
            "percent": self.percent.strip() or None,
            "investment_wan": _number(self.investment_wan),
            "note": self.note,
            "behind_reason": self.behind_reason,
            "behind_category": self.behind_category.strip() or None,
        }
        if not body["period"]:
            self.add("period", "请选择填报月份 / the month is required")
        if not body["status"]:
            self.add("status", "请选择状态 / the status is required")
        if body["percent"] is None:
            self.add("percent", "请填写完成比例，如 80%、80 或 0.8 / percent is required (80%, 80 or 0.8)")
        else:
            try:  # read here too, so its error shows beside the others (ReportIn reads it the same way)
                parse_percent(body["percent"])
            except PercentError as exc:
                self.add("percent", str(exc))
        if self.investment_wan.strip() and body["investment_wan"] is None:
            self.add(
                "investment_wan",
                f"累计完成投资“{self.investment_wan.strip()}”不是数字（单位万元） / "
                f"investment {self.investment_wan.strip()!r} is not a number (万元)",
            )
        if self.done_geom.strip():
            try:
                body["done_geom"] = json.loads(self.done_geom)
            except json.JSONDecodeError:
                self.add("done_geom", "地图上绘制的已建部分无法读取，请重新绘制 / the drawn part is not GeoJSON")
        return None if self.errors else body

    def add_validation_errors(self, errors: list[Any]) -> None:
        """pydantic's errors of ``ReportIn`` (``ValidationError.errors()``), each next to its field."""
        for err in errors:
            self.add(_field_of(err), _message(err))


def _number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("万元").strip()
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def _field_of(err: Any) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    if not loc:  # the model's own rule: status and percent disagree
        return "status"
    return loc[0]


def _message(err: Any) -> str:
    name = _field_of(err)
    english = str(err.get("msg", "")).removeprefix("Value error, ")
    if err.get("type") == "value_error" and "/" in english:
        return english  # already Chinese / English (percent)
    label = LABELS.get(name, name)
    zh = PYDANTIC_ZH.get(str(err.get("type")), "有误")
    if name == "status" and not err.get("loc"):
        zh = "状态与完成比例不一致（已完成须为 100%，未启动须为 0%）"
    elif name == "period":
        zh = "不是月份，请写成 2018-06"
    elif name == "status":
        zh = f"须为 {'、'.join(STATUSES)} 之一"
    return f"{label}{zh} / {name}: {english}"


_CJK = re.compile(r"[\u4e00-\u9fff]")
# what the progress area says in English about a done geometry (service.progress.reports), said in Chinese
_SAID = (
    (
        r"lies more than (\S+) m from the project's planned geometry",
        "已建部分偏离本任务的计划范围超过 {0} 米，请沿计划线路或范围绘制",
    ),
    (r"has no location yet", "本任务尚未定位，暂不能填报已建部分（请先在复核队列中定位）"),
    (r"only for linear and areal projects", "本任务是点位，不需要填报已建部分"),
    (r"must be a LineString or MultiLineString", "本任务是线状任务，已建部分须画成线（路段、河段）"),
    (r"must be a Polygon or MultiPolygon", "本任务是面状任务，已建部分须画成面（片区）"),
    (r"is not a valid geometry", "已建部分的图形无效（如自相交），请重新绘制"),
    (r"longitude, latitude", "已建部分的坐标须为经纬度（EPSG:4326）"),
    (r"not a readable GeoJSON geometry", "已建部分无法读取，请重新绘制"),
    (r"out of range|outside the service area", "已建部分超出服务范围，请检查坐标"),
    (r"vertices|parts|rings", "已建部分的点数过多，请简化后再传"),
    (r"precondition|ETag|changed since", "本任务刚被他人更新，请刷新后重新填报"),
)


def chinese(detail: str, field: str) -> str:
    """``detail`` with Chinese first: as it is when it has Chinese already, else the Chinese for it, then it."""
    if _CJK.search(detail):
        return detail
    for pattern, zh in _SAID:
        found = re.search(pattern, detail)
        if found:
            return f"{zh.format(*found.groups())} / {detail}"
    return f"{LABELS.get(field, '填报内容')}未通过检查 / {detail}"
