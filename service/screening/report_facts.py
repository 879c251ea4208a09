"""What every screening report states about one site, once, so the HTML, the PDF and the shared map say the
same (issue 18): the site and its note, the inspector, the date whose rules applied, the category and how it was
chosen, the input CRS and the coordinates as received, the verdict, and per zone the regulation, the clause (with
its article where the rules file gives one) and who approves; and the disclaimer.

Read from the recorded answer only, so a report printed later states what was seen then.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from service.models import Screening

CHINA = ZoneInfo("Asia/Shanghai")
VERDICT_ZH = {
    "prohibited": "禁止",
    "needs_approval": "需审批",
    "allowed": "允许",
    "not_applicable": "不适用（非建设活动）",
    "outside": "区外",
}
DISCLAIMER = (
    "说明：保护区边界为近似示意（官方边界未公开），规则为 xiangmap 对条例的摘要；本结论是筛查意见，"
    "不代替主管部门的审查，须以条例官方文本和主管部门意见为准。"
    " / The zone boundaries are approximations and the rules are xiangmap's summary of the regulations: this is a"
    " screening, not the authority's decision."
)


def site_name(result: dict[str, Any]) -> str:
    return result.get("name") or (result.get("project") or {}).get("title") or result["input"]["source"]


def category_reason(category: dict[str, Any]) -> str:
    """How the category was chosen, in the words an inspector signs."""
    source = category.get("source") or ("inferred" if category.get("inferred") else "given")
    if category.get("id") == "unspecified":
        return "未能确定类别：各分区按默认规则判断，请督查人员核定类别"
    if source == "inspector":
        who = category.get("set_by") or "督查人员"
        when = (category.get("set_at") or "")[:10]
        return f"{who} 于 {when} 核定：{category.get('reason') or '—'}"
    if source == "inferred":
        words = "、".join(category.get("words") or []) or str(category.get("given") or "")
        confidence = category.get("confidence")
        text = f"按任务文字推断（依据：{words or '—'}"
        text += f"；置信度 {confidence:.0%}）" if isinstance(confidence, int | float) else "）"
        if category.get("needs_review"):
            text += "；置信度低，须督查人员核定"
        return text
    return f"提交时指定：{category.get('given') or category.get('zh')}"


def _coordinates(received: Any) -> str:
    if not received:
        return "—"
    if isinstance(received, dict):
        parts = []
        for key in ("first", "point", "bbox"):
            if key in received and received[key] is not None:
                value = received[key]
                shown = ", ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in value)
                parts.append(f"{'首点' if key in ('first', 'point') else '范围'} ({shown})")
        return "；".join(parts) or str(received)
    if isinstance(received, list | tuple):
        return "(" + ", ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in received) + ")"
    return str(received)


def _warnings(warnings: list[Any]) -> list[str]:
    out = []
    for w in warnings or []:
        out.append(w.get("message") or w.get("detail") or str(w) if isinstance(w, dict) else str(w))
    return out


def site_facts(screening: Screening) -> list[tuple[str, str]]:
    """(label, value) lines for the head of a site's report, in reading order."""
    result = screening.result
    project = result.get("project") or {}
    category = result["category"]
    source = result["input"]
    crs = source.get("crs") or "—"
    declared = source.get("crs_declared")
    facts = [("场地名称", site_name(result))]
    if result.get("note"):
        facts.append(("备注", " ".join(str(result["note"]).split())))
    if project:
        facts.append(("项目", f"{project.get('id')} · {project.get('key') or ''}"))
        if project.get("location_note"):
            facts.append(("定位", f"近似定位：{project['location_note']}"))
    facts += [
        ("筛查记录", f"#{screening.id} · {screening.created_at.astimezone(CHINA):%Y-%m-%d %H:%M}（北京时间）"),
        ("筛查人", screening.actor),
        ("适用日期", f"{result['date']}（按该日有效的条例和分区）"),
        ("类别", f"{category.get('zh')}（{category.get('id')}）"),
        ("类别依据", category_reason(category)),
        ("输入坐标系", crs + ("（未声明，按 WGS84 处理）" if declared is False else "")),
        ("收到的坐标", _coordinates(source.get("coordinates_received"))),
    ]
    if source.get("repairs"):
        facts.append(("几何修复", "；".join(source["repairs"])))
    for warning in _warnings(source.get("warnings") or []):
        facts.append(("提示", warning))
    facts.append(("结论", f"{VERDICT_ZH.get(result['verdict'], result['verdict'])}（{result['verdict']}）"))
    return facts


def zone_citations(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per zone the site touches or comes near: the zone, its verdict, and what it rests on."""
    out = []
    for entry in result["layers"]:
        regulations = {s.get("scheme"): s for s in entry.get("schemes") or []}
        for z in entry["zones"]:
            scheme = regulations.get(z.get("scheme")) or {}
            out.append(
                {
                    "layer": entry.get("title_zh") or entry["layer"],
                    "zone": z["name"] + (f" · {z['subzone']}" if z.get("subzone") else ""),
                    "inside": z["inside"],
                    "overlap_m2": z["overlap_m2"],
                    "overlap_pct": z["overlap_pct"],
                    "distance_m": z["distance_m"],
                    "verdict": z["verdict"],
                    "verdict_zh": VERDICT_ZH.get(z["verdict"], z["verdict"]),
                    "regulation": z.get("regulation") or scheme.get("regulation") or "—",
                    "in_force": scheme.get("valid_from"),
                    "article": z.get("article"),
                    "clause": z.get("clause") or "—",
                    "by": z.get("needs_approval_by"),
                    "rules_file": z.get("rules_file"),
                }
            )
    return out
