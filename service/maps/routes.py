"""Routes for the Folium web maps, the GeoJSON they fetch, their scripts, and the printable wall map."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from service import data_version
from service.assets import STATIC_DIR
from service.dependencies import current_principal, get_session
from service.errors import RATE_LIMITED_RESPONSES, Problem
from service.maps import usecases
from service.progress.usecases import ProjectFilter, parse_as_of, project_filter
from service.rate_limits import rate_limited
from service.read_routing import run_read_session
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings

ProjectId = Annotated[int, PathParam(ge=1, le=2_147_483_647, description="project id")]

router = APIRouter(route_class=SessionReleasingRoute, tags=["maps"], dependencies=[Depends(current_principal)])

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "maps"
PAGE_ASSETS = {"progress_map.js": "text/javascript", "project_map.js": "text/javascript", "maps.css": "text/css"}
GEOJSON = "application/geo+json"
AsOf = Annotated[str | None, Query(description="state at this date (YYYY-MM or YYYY-MM-DD); default today")]
Basemap = Annotated[str | None, Query(description="osm | tianditu-vec | tianditu-img | none")]


def install(app: FastAPI) -> None:
    """Serve service/static (vendor libraries fetched at setup) at /static."""
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def compressed(request: Request, body: str, media_type: str) -> Response:
    """Gzip large bodies when the client accepts it (100 000 projects are ~10 MB of GeoJSON, ~1.5 MB gzipped)."""
    raw = body.encode()
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if len(raw) > 2048 and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            gzip.compress(raw, compresslevel=1), media_type=media_type, headers=headers | {"Content-Encoding": "gzip"}
        )
    return Response(raw, media_type=media_type, headers=headers)


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` in EPSG:4326, in the right order and roughly within China."""
    try:
        x0, y0, x1, y1 = (float(part) for part in value.split(","))
    except ValueError as exc:
        raise Problem(400, "bbox must be four numbers: minlon,minlat,maxlon,maxlat", parameter="bbox") from exc
    if not (70 <= x0 < x1 <= 140 and 0 <= y0 < y1 <= 60):
        raise Problem(400, "bbox must be minlon,minlat,maxlon,maxlat in degrees, min < max, in China", parameter="bbox")
    return x0, y0, x1, y1


@router.get("/maps/progress", response_class=HTMLResponse, summary="Web map of every project by status")
def progress_map(
    request: Request, basemap: Basemap = None, session: Session = Depends(get_session, scope="function")
) -> Response:
    chosen = usecases.chosen_basemap(basemap)

    def build() -> Built:
        page = usecases.progress_page(session, chosen, basemap)
        return Built(page.encode(), "text/html; charset=utf-8")

    return response_cache().respond(request, data_version.current(), ("map-progress-page", chosen, basemap), build)


@router.get("/maps/projects/{project_id}", response_class=HTMLResponse, summary="Web map of one project")
def project_map(
    project_id: ProjectId, basemap: Basemap = None, session: Session = Depends(get_session, scope="function")
) -> HTMLResponse:
    return HTMLResponse(usecases.project_page(session, project_id, basemap))


@router.get("/maps/assets/{name}", include_in_schema=False)
def page_asset(name: str) -> FileResponse:
    if name not in PAGE_ASSETS:
        raise Problem(404, f"no map asset {name!r}", parameter="name")
    return FileResponse(TEMPLATES / name, media_type=PAGE_ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get(
    "/maps/data/projects.geojson", summary="Projects with their state at as_of (light: status, percent, precision)"
)
def projects_data(
    request: Request,
    as_of: AsOf = None,
    filters: ProjectFilter = Depends(project_filter),
) -> Response:
    day, threshold = parse_as_of(as_of), get_settings().delay_threshold_pct
    key = ("map-projects", day.isoformat(), threshold, repr(filters))

    def on(session: Session) -> Response:  # a read that may be slightly stale: a hot standby when there is one
        def build() -> Built:
            body = usecases.projects_geojson(session, day, threshold, filters).encode()
            return Built(body, GEOJSON, {"Cache-Control": "no-cache"}, compress=True)

        return response_cache().respond(request, data_version.current(session.get_bind()), key, build)

    return run_read_session(on)


@router.get("/maps/data/projects/{project_id}.json", summary="What a project's popup shows")
def project_popup(
    project_id: ProjectId, as_of: AsOf = None, session: Session = Depends(get_session, scope="function")
) -> dict:
    return usecases.project_popup(session, project_id, parse_as_of(as_of), get_settings().delay_threshold_pct)


@router.get(
    "/maps/data/projects/{project_id}/features.geojson", summary="A project's planned, done, located parts and zones"
)
def project_features(
    request: Request,
    project_id: ProjectId,
    as_of: AsOf = None,
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return compressed(request, usecases.project_features(session, project_id, parse_as_of(as_of)), GEOJSON)


@router.get("/maps/data/districts.geojson", summary="Districts with their completion rate at as_of")
def districts_data(
    request: Request,
    as_of: AsOf = None,
    filters: ProjectFilter = Depends(project_filter),
) -> Response:
    day, threshold = parse_as_of(as_of), get_settings().delay_threshold_pct

    return run_read_session(
        lambda session: compressed(request, usecases.districts_choropleth(session, day, threshold, filters), GEOJSON)
    )


@router.get("/maps/data/layers/{layer}.geojson", summary="A reference layer for the maps, simplified")
def layer_data(request: Request, layer: str) -> Response:
    return run_read_session(lambda session: compressed(request, usecases.overlay_geojson(session, layer), GEOJSON))


@router.get(
    "/maps/data/cases.geojson", summary="The cases the caller may see (status, overdue), for the map's case layer"
)
def cases_data(
    request: Request,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    # who may see which case differs per caller: never in the shared response cache, never kept by a proxy
    response = compressed(request, usecases.cases_geojson(session, principal.role, principal.name), GEOJSON)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Accept-Encoding, Authorization, Cookie"
    return response


@router.get("/maps/data/facets.json", summary="Filter choices and report periods for the map page")
def facets(session: Session = Depends(get_session, scope="function")) -> dict:
    return usecases.facets(session)


@router.get(
    "/maps/progress.{fmt}",
    summary="Printable wall map (PNG or PDF) with title, legend, scale, north arrow",
    dependencies=[rate_limited("print")],
    responses=RATE_LIMITED_RESPONSES,
)
def printable(
    fmt: str,
    as_of: AsOf = None,
    size: Annotated[str | None, Query(description="paper size A0, A1, A2, A3 or A4 (landscape by default)")] = None,
    paper: Annotated[str | None, Query(description="the former name of size (A0-A4)")] = None,
    page: Annotated[int, Query(ge=1, le=1000, description="PNG only: the sheet (1 the map, 2.. the task table)")] = 1,
    orientation: Annotated[str, Query(description="landscape or portrait")] = "landscape",
    dpi: Annotated[int, Query(ge=72, le=300, description="PNG resolution")] = 150,
    title: Annotated[str | None, Query(max_length=80, description="map title")] = None,
    bbox: Annotated[
        str | None, Query(description="extent minlon,minlat,maxlon,maxlat (default: the plan's city)")
    ] = None,
    filters: ProjectFilter = Depends(project_filter),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    from service.maps import printable as printing

    if fmt not in ("png", "pdf"):
        raise Problem(404, f"no printable format {fmt!r}; use .png or .pdf", parameter="format")
    chosen_size, size_name = (size, "size") if size is not None else (paper or "A3", "paper")
    if chosen_size.strip().upper() not in printing.PAPERS:
        raise Problem(
            400,
            f"纸张尺寸应为 A0-A4 / {size_name} must be one of {', '.join(printing.PAPERS)}, not {chosen_size!r}",
            parameter=size_name,
        )
    chosen_size = chosen_size.strip().upper()
    if orientation not in ("landscape", "portrait"):
        raise Problem(400, f"orientation must be landscape or portrait, not {orientation!r}", parameter="orientation")
    if fmt == "png":
        width_mm, height_mm = printing.PAPERS[chosen_size]
        pixels = (width_mm / 25.4 * dpi) * (height_mm / 25.4 * dpi)
        if pixels > printing.MAX_PIXELS:
            raise Problem(
                400,
                f"{chosen_size} 在 {dpi} dpi 下图像过大，请降低 dpi 或下载 PDF / {chosen_size} at {dpi} dpi is "
                f"{pixels / 1e6:.0f} million pixels, over {printing.MAX_PIXELS // 1_000_000} million: "
                "lower dpi or use .pdf",
                parameter="dpi",
            )
    chosen_as_of = parse_as_of(as_of)
    extent = parse_bbox(bbox) if bbox else None
    req = printing.PrintRequest(
        fmt=fmt,
        paper=chosen_size,
        orientation=orientation,
        dpi=dpi,
        title=title,
        as_of=chosen_as_of,
        filters=filters,
        threshold_pct=get_settings().delay_threshold_pct,
        bbox=extent,
        page=page,
    )
    try:
        body, media = usecases.wall_map(session, req)
    except printing.PageOutOfRange as exc:
        raise Problem(400, f"没有第 {page} 页（共 {exc.total} 页）/ {exc}", parameter="page") from exc
    name = f"xiangmap-progress-{chosen_as_of.isoformat()}.{fmt}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"'})
