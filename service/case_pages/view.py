"""The case page's context in Chinese: labels for the verdict, the place, the timeline's actions; the
files grouped by the step that brought them; the distance from a photo's EXIF position said in metres or
kilometres.  Plain functions over what ``service.cases.usecases.get_case`` answers (no HTTP, no SQL)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

VERDICT_ZH = {
    "prohibited": "禁止建设（位于禁止开发区/核心保护区）",
    "needs_approval": "需审批（位于限制开发区等）",
    "allowed": "允许（位于保护区内，按规定管控）",
    "not_applicable": "不适用（位于保护区内，但不是建设活动）",
    "outside": "不涉及保护区",
}
VERDICT_CLASS = {
    "prohibited": "stop",
    "needs_approval": "caution",
    "allowed": "clear",
    "not_applicable": "clear",
    "outside": "clear",
}
SHORT_VERDICT = {
    "prohibited": "禁止",
    "needs_approval": "需审批",
    "allowed": "允许",
    "not_applicable": "不适用",
    "outside": "区外",
}
POSITION_ZH = {"gps": "手机定位", "drawn": "地图标注", "file": "上传文件", "project": "所涉项目的位置"}
CRS_ZH = {"WGS84": "WGS84", "GCJ-02": "GCJ-02（高德、腾讯）", "BD-09": "BD-09（百度）"}
ACTION_ZH = {
    "register": "登记",
    "assign": "交办",
    "start": "开始整改",
    "submit": "申请销号",
    "accept": "核查通过，销号",
    "reject": "核查不通过，退回整改",
    "withdraw": "撤销",
    "edit": "修改",
    "note": "备注",
    "file": "补充材料",
}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
CITY_ORDER = ("长沙市", "株洲市", "湘潭市")


def distance_label(metres: float) -> str:
    return f"{metres:.0f} 米" if metres < 1000 else f"{metres / 1000:.1f} 公里"


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value or "")


def shape_file(f: dict[str, Any]) -> dict[str, Any]:
    distance = f.get("exif_distance_m")
    taken = f.get("exif_taken_at")
    return {
        "id": f["id"],
        "filename": f["filename"],
        "media_type": f.get("media_type", ""),
        "size": f.get("size") or 0,
        "image": f.get("media_type") in IMAGE_TYPES,
        "distance_m": distance,
        "distance_label": distance_label(float(distance)) if distance is not None else "",
        "taken_at": taken.strftime("%Y-%m-%d %H:%M") if isinstance(taken, datetime) else (taken or ""),
        "event_id": f.get("event_id"),
    }


def _overlap(zone: dict[str, Any]) -> str:
    m2, pct = zone.get("overlap_m2"), zone.get("overlap_pct")
    if not m2:
        return "点位于区内" if zone.get("verdict") else ""
    area = f"{m2 / 10000:.2f} 公顷" if m2 >= 1000 else f"{m2:.0f} 平方米"
    return f"{area}（{pct:.0f}%）" if pct is not None else area


def _details(details: dict[str, Any] | None) -> list[str]:
    """The lines a step's details add to its timeline entry (unit, deadline, severity, re-screening)."""
    if not details:
        return []
    lines = []
    unit = details.get("responsible_unit_name") or details.get("responsible_unit")
    if unit and not isinstance(unit, int):
        lines.append(f"责任单位：{unit}")
    if details.get("deadline"):
        lines.append(f"整改期限：{details['deadline']}")
    if details.get("severity"):
        lines.append(f"严重程度：{details['severity']}")
    if details.get("verdict"):
        lines.append(f"筛查结论：{SHORT_VERDICT.get(details['verdict'], details['verdict'])}")
    return lines


def case_context(found: dict[str, Any]) -> dict[str, Any]:
    """``get_case``'s answer shaped for cases/page.html: ``case``, ``events`` (oldest first), ``steps``."""
    case = dict(found.get("case", found))
    screening = case.get("screening") or {}
    verdict = case.get("verdict") or screening.get("verdict")
    files = [shape_file(f) for f in found.get("files", case.get("files", []))]
    by_event: dict[Any, list[dict[str, Any]]] = {}
    for f in files:
        by_event.setdefault(f["event_id"], []).append(f)
    events = []
    raw_events = sorted(found.get("events", case.get("events", [])), key=lambda e: (e["at"], e["id"]))
    for i, e in enumerate(raw_events):
        own = by_event.get(e["id"], [])
        if i == 0:
            own = own + by_event.get(None, [])  # files of the case itself came with its registration
        events.append(
            {
                "id": e["id"],
                "action": e["action"],
                "label": ACTION_ZH.get(e["action"], e["action"]),
                "from_status": e.get("from_status"),
                "to_status": e.get("to_status"),
                "actor": e.get("actor", ""),
                "actor_unit": e.get("actor_unit") or e.get("actor_unit_name"),
                "at": e["at"],
                "note": e.get("note") or "",
                "details_lines": [] if e["action"] == "register" else _details(e.get("details")),
                "files": own,
            }
        )
    project = case.get("project")
    if project is None and case.get("project_id"):
        project = {"id": case["project_id"], "title": case.get("project_title") or f"任务 {case['project_id']}"}
    zones = [
        {
            "name": z.get("zone") or z.get("name") or "",
            "subzone": z.get("subzone"),
            "overlap": _overlap(z),
            "verdict": SHORT_VERDICT.get(z.get("verdict", ""), z.get("verdict", "")),
        }
        for z in screening.get("zones", [])
    ]
    crs = case.get("position_crs") or "WGS84"
    position = POSITION_ZH.get(case.get("position_source", ""), case.get("position_source", ""))
    if case.get("position_source") == "gps":
        position += f"（{CRS_ZH.get(crs, crs)}）"
    shaped = case | {
        "found_on": _day(case.get("found_on")),
        "deadline": _day(case.get("deadline")) or None,
        "responsible_unit": case.get("responsible_unit_name") or _name(case.get("responsible_unit")),
        "found_unit": case.get("found_unit_name") or _name(case.get("found_unit")),
        "verdict": verdict,
        "verdict_label": VERDICT_ZH.get(verdict or "", verdict or ""),
        "verdict_class": VERDICT_CLASS.get(verdict or "", "clear"),
        "zones": zones,
        "screening_id": case.get("screening_id") or screening.get("screening_id"),
        "screening_note": _screening_note(screening),
        "position_label": position,
        "accuracy_m": case.get("accuracy_m"),
        "project": project,
        "overdue": bool(case.get("overdue")),
        "closed_at": case.get("closed_at"),
        "etag": str(found.get("etag") or case.get("etag") or case.get("version") or ""),
    }
    return {"case": shaped, "events": events}


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("name")
    return value if isinstance(value, str) else None


def _screening_note(screening: dict[str, Any]) -> str:
    if not screening:
        return ""
    parts = [f"按 {screening['date']} 有效的分区筛查"] if screening.get("date") else []
    if screening.get("subzones"):
        parts.append("涉及分区：" + "、".join(screening["subzones"]))
    if not screening.get("zones") and screening.get("nearest_distance_m") is not None:
        parts.append(f"距最近的保护区约 {distance_label(float(screening['nearest_distance_m']))}")
    return "；".join(parts)


def unit_choices(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The unit register for a select, grouped by city (the three cities first, then the province's units);
    a unit that has ended takes no new case."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for u in sorted(units, key=lambda u: u.get("name") or ""):
        if not u.get("valid_to"):
            groups.setdefault(u.get("city") or "", []).append(u)

    def order(city: str) -> tuple[int, str]:
        return (CITY_ORDER.index(city) if city in CITY_ORDER else (3 if city else 4), city)

    return [{"city": city or "省直及其他", "units": groups[city]} for city in sorted(groups, key=order)]
