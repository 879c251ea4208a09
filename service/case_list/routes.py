"""GET /cases (the page; JSON for ``Accept: application/json``), /cases.json and /cases/map.geojson: thin,
the query is service.cases.listing.  Filters are GET parameters, so a filtered list is a link one can send;
the map's data URL carries the same ones."""

from __future__ import annotations

import gzip
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from service.case_list import usecases
from service.cases.listing import MAP_LIMIT, MAX_PAGE_SIZE, PAGE_SIZE, VERDICT_CHOICES, CaseFilters, FilterError
from service.dependencies import current_principal, get_session
from service.errors import Problem
from service.response_policy import NO_STORE
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web.pages import SignInRequired, render

router = APIRouter(route_class=SessionReleasingRoute, tags=["cases"])
Text = Annotated[str | None, Query()]
GEOJSON = "application/geo+json"
FIELD_ZH = {
    "kind": "类型",
    "status": "状态",
    "unit": "责任单位",
    "severity": "严重程度",
    "verdict": "筛查结论",
    "found_from": "发现日期起",
    "found_to": "发现日期止",
    "q": "搜索",
    "page": "页码",
    "size": "每页条数",
    "limit": "条数上限",
    "bbox": "范围",
}


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _int(name: str, value: str | None, low: int = 1, high: int = 2_147_483_647) -> int | None:
    if _blank(value) is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise Problem(
            400,
            f"{FIELD_ZH.get(name, name)}须为 {low}–{high} 的整数 / {name} must be a whole number from {low} to {high},"
            f" not {value!r}",
            parameter=name,
        )
    return number


def _date(name: str, value: str | None) -> date | None:
    if _blank(value) is None:
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise Problem(
            400, f"{FIELD_ZH[name]}不是日期（YYYY-MM-DD） / {name} is not a date YYYY-MM-DD: {value!r}", parameter=name
        ) from None


def case_filters(
    kind: Text = None,
    status: Text = None,
    unit: Text = None,
    city: Text = None,
    district: Text = None,
    severity: Text = None,
    verdict: Text = None,
    found_from: Text = None,
    found_to: Text = None,
    q: Text = None,
) -> CaseFilters:
    """The filters from the query string; an empty value (the form's 全部) means any."""
    return CaseFilters(
        kind=_blank(kind),
        status=_blank(status),
        unit=_int("unit", unit),
        city=_blank(city),
        district=_blank(district),
        severity=_blank(severity),
        verdict=_blank(verdict),
        found_from=_date("found_from", found_from),
        found_to=_date("found_to", found_to),
        q=_blank(q),
    )


Filters = Annotated[CaseFilters, Depends(case_filters)]


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _caller(request: Request, principal: Principal, json: bool) -> Principal:
    if principal.role is None:
        if json:
            raise Problem(401, "请先登录 / sign in or send a bearer token to read cases", parameter="authorization")
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return principal


def _checked(call: Any) -> Any:
    try:
        return call()
    except FilterError as exc:
        raise Problem(400, str(exc), parameter=exc.field) from None


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("lat", "lon")}
    for key in ("found_on", "deadline"):
        out[key] = out[key].isoformat() if out[key] else None
    out["href"] = f"/cases/{row['id']}"
    return out


def _list(
    request: Request, filters: CaseFilters, page: str | None, size: str | None, principal: Principal, session: Session
) -> Response:
    json = _wants_json(request) or request.url.path.endswith(".json")
    caller = _caller(request, principal, json)
    number = _int("page", page) or 1
    per_page = _int("size", size, 1, MAX_PAGE_SIZE) or PAGE_SIZE
    found = _checked(lambda: usecases.case_page(session, filters, caller.role, caller.name, number, per_page))
    query = filters.query_items()

    def href(path: str, at: int) -> str:
        items = [*query, *([("size", str(per_page))] if per_page != PAGE_SIZE else []), ("page", str(at))]
        return f"{path}?{urlencode(items)}"

    if json:
        body = {
            "total": found.total,
            "page": found.page,
            "size": found.size,
            "pages": found.pages,
            "items": [_row_json(r) for r in found.rows],
            "links": {
                "next": href("/cases.json", found.page + 1) if found.page < found.pages else None,
                "prev": href("/cases.json", found.page - 1) if found.page > 1 else None,
                "map": f"/cases/map.geojson?{urlencode(query)}",
            },
        }
        return JSONResponse(body, headers={"Cache-Control": NO_STORE.decode(), "Vary": "Accept"})
    context: dict[str, Any] = {
        "filters": filters,
        "rows": found.rows,
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "next_href": href("/cases", found.page + 1) if found.page < found.pages else None,
        "prev_href": href("/cases", found.page - 1) if found.page > 1 else None,
        "choices": usecases.choices(session),
        "verdict_labels": VERDICT_CHOICES,
        "map_query": urlencode(query),
        "export_query": urlencode(query),
        "sees_none": caller.role not in ("editor", "inspector", "coordinator", "admin", "gis"),
    }
    template = "case_list/table.html" if request.headers.get("HX-Request") == "true" else "case_list/list.html"
    return render(request, template, context, headers={"Vary": "Accept, HX-Request"})


@router.get("/cases", response_class=HTMLResponse, summary="The cases the caller may see, filtered and paged")
@router.get("/cases.json", summary="The case list as JSON (the same filters and paging)")
def cases(
    request: Request,
    filters: Filters,
    page: Text = None,
    size: Text = None,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """The page, or JSON for /cases.json and for ``Accept: application/json`` (``_list`` decides)."""
    return _list(request, filters, page, size, principal, session)


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if _blank(value) is None:
        return None
    try:
        x0, y0, x1, y1 = (float(part) for part in str(value).split(","))
    except ValueError:
        raise Problem(400, "范围须为四个数 / bbox must be minlon,minlat,maxlon,maxlat", parameter="bbox") from None
    if not (70 <= x0 < x1 <= 140 and 0 <= y0 < y1 <= 60):
        raise Problem(
            400,
            "范围须为 最小经度,最小纬度,最大经度,最大纬度（中国境内） / bbox must be minlon,minlat,maxlon,maxlat in "
            "degrees, min < max, in China",
            parameter="bbox",
        )
    return x0, y0, x1, y1


@router.get(
    "/cases/map.geojson",
    summary="The filtered cases as light GeoJSON points (at most 100,000)",
    response_class=Response,
    responses={200: {"description": "a GeoJSON FeatureCollection", "content": {"application/geo+json": {}}}},
)
def case_map(
    request: Request,
    filters: Filters,
    limit: Text = None,
    bbox: Text = None,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    caller = _caller(request, principal, True)
    most = _int("limit", limit, 0, MAP_LIMIT)
    box = _bbox(bbox)
    body = _checked(
        lambda: usecases.case_map(session, filters, caller.role, caller.name, MAP_LIMIT if most is None else most, box)
    ).encode()
    # per caller, so never in the shared response cache, never in a proxy: private, revalidated each time
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Authorization, Cookie"}
    if len(body) > 2048 and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            gzip.compress(body, compresslevel=1), media_type=GEOJSON, headers=headers | {"Content-Encoding": "gzip"}
        )
    return Response(body, media_type=GEOJSON, headers=headers)
