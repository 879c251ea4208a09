"""What a person does in the browser review queue: read the queue, open a task, and decide where it lies.

Every decision is ``service.projects.usecases.set_location`` (row lock, If-Match, audit entry, commit, status
``manual``): the page adds no way of writing a location of its own, so what the API guarantees (audited,
never overwritten by a geocoding run) holds for the page too.  A refused decision raises
:class:`DecisionRefused` with the message to show beside the form; nothing is stored then.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from service.errors import Problem
from service.geocoding import usecases as geocoding
from service.projects import usecases as projects
from service.projects.usecases import FeatureRef, LocationIn
from service.review_pages import queries
from service.review_pages.highlight import Span, highlight

PER_PAGE = 20
LAYER_LABELS = {
    "roads": "道路",
    "streams": "河流",
    "sewage_plants": "污水处理厂",
    "sites": "地点",
    "qingshuitang": "清水塘片区",
    "demo_zones": "示范区",
    "green_heart": "绿心",
    "districts": "区县",
    "cities": "城市",
    "admin_divisions": "行政区划",
}
REASON_LABELS = {
    "not_in_gazetteer": "地名库中没有这个地名",
    "extended_name": "地名后接更长的名称，不是该地",
    "shared_suffix": "并列的地名中有一个地名库没有",
    "other_city": "外市的同名地名",
    "no_boundary": "该行政区无边界数据",
}
# a geometry a person drew: a point or a line is where the work is (as a road or a plant of a layer, 1); an
# area drawn is "in this area" (as a zone of a layer, 2).  The person may say otherwise (decision 0300).
DRAWN_PRECISION = {"Point": 1, "MultiPoint": 1, "LineString": 1, "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}
DRAW_PRECISIONS = (1, 2, 3, 5)
NO_PLACE_NOTE = "不指向具体地点：牵头单位（{unit}）的全域性工作，按其驻地记为精度 8（人工判定）"


class DecisionRefused(Exception):
    """A decision not stored: ``message`` is shown beside the form, ``status`` is the page's answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _layer_label(layer: str | None) -> str:
    return LAYER_LABELS.get(layer or "", layer or "绘制")


def _match_title(m: dict[str, Any]) -> str:
    return f"{_layer_label(m['layer'])}：{m['name']} · 精度 {m['precision']}"


def _why(reasons: dict[str, Any], matches: list[dict[str, Any]]) -> list[str]:
    """The reasons in a line each, for the queue's list."""
    lines = [f"“{a['text']}”有 {len(a['candidates'])} 处同名" for a in reasons["ambiguous"]]
    lines += [
        f"“{u['text']}”：{REASON_LABELS.get(str(u.get('reason')), str(u.get('reason')))}" for u in reasons["unresolved"]
    ]
    weak = [m for m in matches if m["method"] != "seat" and m["span_start"] is not None]
    if not lines and weak:
        lines.append("匹配把握不足：" + "、".join(m["matched_text"] or m["name"] for m in weak))
    if not lines and reasons["nothing_found"]:
        lines.append("文中没有找到地点")
    return lines or ["待人工确认"]


def queue(session: Session, plan: str | None, page: int) -> dict[str, Any]:
    """One page of the tasks waiting for a person, newest plan first, each with why it waits."""
    page = max(page, 1)
    total, rows = queries.queue_page(session, plan, PER_PAGE, (page - 1) * PER_PAGE)
    matches = queries.stored_matches(session, [r["id"] for r in rows])
    tasks = [(r["task_text"], r["city"] or None, r["lead_units"]) for r in rows]
    reasons = geocoding.explain_for_review(session, tasks) if rows else []
    items = [
        r | {"matches": matches[r["id"]], "why": _why(why, matches[r["id"]])}
        for r, why in zip(rows, reasons, strict=True)
    ]
    pages = max(1, -(-total // PER_PAGE))
    return {
        "items": items,
        "total": total,
        "page": page,
        "pages": pages,
        "plan": plan or "",
        "plans": queries.plans_waiting(session),
    }


def _project(session: Session, project_id: int) -> dict[str, Any]:
    project = projects.get_project(session, project_id)
    if project is None:
        raise Problem(404, f"任务 {project_id} 不存在 / task {project_id} does not exist", parameter="project_id")
    return project


def _candidates(session: Session, project: dict[str, Any], reasons: dict[str, Any]) -> list[dict[str, Any]]:
    """The features a person may accept: the stored matches on a layer, then every feature of an ambiguous name."""
    matched = [(m["layer"], m["feature_key"]) for m in project["locations"] if m["method"] != "manual" and m["layer"]]
    ambiguous = [(None, key) for a in reasons["ambiguous"] for key in a["candidates"]]
    found = queries.features_by_key(session, [(layer, key) for layer, key in matched if key] + ambiguous)
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for m in project["locations"]:
        ref = (m["layer"], m["feature_key"])
        if m["method"] == "manual" or ref not in found or ref in seen:
            continue
        seen.add(ref)
        out.append(found[ref] | {"precision": m["precision"], "source": f"文中“{m['matched_text'] or m['name']}”"})
    for a in reasons["ambiguous"]:
        for key in a["candidates"]:
            for ref, feature in found.items():
                if ref[1] == key and ref not in seen:
                    seen.add(ref)
                    out.append(feature | {"source": f"“{a['text']}”的同名地点之一"})
    for n, c in enumerate(out, start=1):
        c["n"] = n
        c["value"] = f"{c['layer']}:{c['key']}"
        c["layer_label"] = _layer_label(c["layer"])
    return out


def _spans(project: dict[str, Any], reasons: dict[str, Any]) -> list[Span]:
    spans = [
        Span(m["span"][0], m["span"][1], "match", _match_title(m))
        for m in project["locations"]
        if m["span"] and m["method"] != "manual"
    ]
    spans += [
        Span(a["span"][0], a["span"][1], "ambiguous", f"多处同名：{len(a['candidates'])} 个候选")
        for a in reasons["ambiguous"]
    ]
    spans += [
        Span(u["span"][0], u["span"][1], "unknown", REASON_LABELS.get(str(u.get("reason")), str(u.get("reason"))))
        for u in reasons["unresolved"]
        if u.get("span")
    ]
    return spans


def task(session: Session, project_id: int) -> dict[str, Any]:
    """The task to decide: its text with every span marked, the candidates, the stored matches and the reasons."""
    project = _project(session, project_id)
    plan = queries.plan_of(session, project["plan"])
    reasons = geocoding.explain_for_review(
        session, [(project["task_text"], plan["city"] or None, project["lead_units"])]
    )[0]
    matches = [
        m | {"layer_label": _layer_label(m["layer"]), "title": _match_title(m)}
        for m in project["locations"]
        if m["method"] != "manual"
    ]
    return {
        "task": project,
        "plan_title": plan["title"],
        "marked_text": highlight(project["task_text"], _spans(project, reasons)),
        "matches": matches,
        "why": _why(reasons, [_flat(m) for m in project["locations"]]),
        "candidates": _candidates(session, project, reasons),
        "in_review": project["location_status"] in queries.REVIEW_STATES,
        "draw_precisions": DRAW_PRECISIONS,
    }


def _flat(m: dict[str, Any]) -> dict[str, Any]:
    span = m["span"] or [None, None]
    return m | {"span_start": span[0], "span_end": span[1]}


def candidates_geojson(session: Session, project_id: int) -> dict[str, Any]:
    """The candidates as a FeatureCollection for the page's map (the number is the one in the list)."""
    page = task(session, project_id)
    features = [
        {
            "type": "Feature",
            "geometry": c["geometry"],
            "properties": {"n": c["n"], "value": c["value"], "name": c["name"], "layer": c["layer_label"]},
        }
        for c in page["candidates"]
        if c["geometry"] is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def _etag(project_id: int, version: str) -> str | None:
    """The If-Match of the page as read: two people deciding the same task, the second is told (412)."""
    return f'"p{project_id}-v{int(version)}"' if version.strip().isdigit() else None


def _decide(session: Session, actor: str, project_id: int, body: LocationIn, version: str) -> dict[str, Any]:
    try:
        return projects.set_location(session, actor, project_id, body, _etag(project_id, version))
    except Problem as problem:
        session.rollback()
        if problem.status == 412:
            raise DecisionRefused("该任务已被他人修改，请刷新页面后再决定 / changed since you opened it", 409) from None
        if problem.status == 404:
            raise
        raise DecisionRefused(problem.detail) from None


def _note(typed: str, default: str) -> str:
    typed = typed.strip()
    return f"{default}；{typed}" if typed else default


def accept(
    session: Session, actor: str, project_id: int, choices: list[str], version: str, note: str
) -> dict[str, Any]:
    """Place the task on the candidate features ticked (a task may name many places: 城际铁路、沪昆高铁 ...), at
    the coarsest of their precisions, as the geocoder codes a union."""
    page = task(session, project_id)
    offered = {c["value"]: c for c in page["candidates"]}
    picked = [v for v in dict.fromkeys(choices) if v]
    if not picked or any(v not in offered for v in picked):
        raise DecisionRefused("请在列表中勾选候选地点 / tick one or more of the candidates")
    chosen = [offered[v] for v in picked]
    names = "、".join(f"{c['layer_label']} {c['name']}" for c in chosen)
    body = LocationIn(
        features=[FeatureRef(layer=c["layer"], key=c["key"]) for c in chosen],
        precision=max(c["precision"] for c in chosen),
        note=_note(note, f"复核采用候选：{names}"),
    )
    return _decide(session, actor, project_id, body, version)


def draw(
    session: Session, actor: str, project_id: int, geometry: str, precision: str, version: str, note: str
) -> dict[str, Any]:
    """Place the task on a geometry the person drew; precision by its type unless the person chose one."""
    _project(session, project_id)
    if not geometry.strip():
        raise DecisionRefused("请先在地图上画出点、线或面 / draw a point, a line or an area first")
    try:
        shape = json.loads(geometry)
    except ValueError:
        raise DecisionRefused("绘制的图形无法读取，请重画 / the drawn geometry is not JSON") from None
    if not isinstance(shape, dict) or shape.get("type") not in DRAWN_PRECISION:
        raise DecisionRefused("只能保存一个点、线或面 / a point, line or polygon only")
    code = DRAWN_PRECISION[shape["type"]]
    if precision.strip():
        if not precision.strip().isdigit() or int(precision) not in DRAW_PRECISIONS:
            raise DecisionRefused(f"精度须为 {'、'.join(map(str, DRAW_PRECISIONS))} 之一 / precision out of range")
        code = int(precision)
    body = LocationIn(geometry=shape, precision=code, note=_note(note, "复核人工绘制"))
    return _decide(session, actor, project_id, body, version)


def no_place(session: Session, actor: str, project_id: int, version: str, note: str) -> dict[str, Any]:
    """The task names no place: the lead unit's whole-area work, at its seat with precision 8 (decision 0300).

    The seat is the one the geocoder falls back to for a text naming nothing (the lead unit's government, else
    the plan city's, else the province's), so a person's "no place" and the geocoder's "nothing found" are
    stored alike, except that the person's is ``manual`` and never geocoded again.
    """
    project = _project(session, project_id)
    city = queries.plan_of(session, project["plan"])["city"]
    lead = (project["lead_units"] or [None])[0]
    found = geocoding.geocode_text(session, "", city or None, lead)
    seat = next((m for m in found["matches"] if m["layer"] in queries.LAYER_MODELS), None)
    if seat is None:
        raise DecisionRefused("找不到牵头单位的驻地，请在地图上画出位置 / no seat found for the lead unit: draw it")
    body = LocationIn(
        features=[FeatureRef(layer=seat["layer"], key=seat["feature_id"])],
        precision=8,
        note=_note(note, NO_PLACE_NOTE.format(unit=lead or "未填")),
    )
    return _decide(session, actor, project_id, body, version)
