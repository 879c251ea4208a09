"""What the maps routes call: the pages (with the basemap the settings allow), the GeoJSON and JSON the
web maps fetch, and the wall map as (bytes, media type).  Reads only, so no audit entry and no commit;
the HTTP response is the route's.

The derived progress state (its SQL, the statistics, the transaction tuning) comes from
``service.progress.usecases`` here and is passed into the drawing and the GeoJSON queries, so the maps'
domain modules never reach into another area.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from service.cases import listing as case_listing
from service.common.web_maps import resolve_basemap
from service.maps import data, pages
from service.progress import usecases as progress
from service.progress.usecases import ProjectFilter
from service.settings import get_settings

if TYPE_CHECKING:
    from service.maps.printable import PrintRequest


def chosen_basemap(requested: str | None) -> str:
    """The basemap a page opens on: the one asked for if this server can show it, else the configured one."""
    settings = get_settings()
    return resolve_basemap(requested, settings.map_basemap, settings.tianditu_key)


def progress_page(session: Session, chosen: str, requested: str | None) -> str:
    """/maps/progress: the page (rendered once per combination, pages.progress_page) noting demo progress."""
    return pages.progress_page(chosen, get_settings().tianditu_key, requested, data.has_demo_progress(session))


def project_page(session: Session, project_id: int, requested: str | None) -> str:
    """/maps/projects/{id}; a Problem 404 when there is no such project."""
    project = data.project_for_page(session, project_id)
    return pages.project_page(project, chosen_basemap(requested), get_settings().tianditu_key)


def wall_map(session: Session, req: PrintRequest) -> tuple[bytes, str]:
    """The printable wall map as (bytes, media type)."""
    from service.maps import printable  # matplotlib and geopandas load on the first print, not at start-up

    state = progress.state_query(req.as_of, req.threshold_pct, req.filters)
    progress.tune_for_state_queries(session)
    return printable.wall_map(session, req, state)


def wall_map_png(
    session: Session, *, as_of: date, threshold_pct: float, filters: ProjectFilter, title: str, paper: str = "A3"
) -> bytes:
    """The wall map's first sheet (the map and the head of its task table) as a PNG, as an evaluation freezes
    it: landscape, 150 dpi, read in the caller's transaction (so it shows the same moment as its figures)."""
    from service.maps import printable

    req = printable.PrintRequest(
        fmt="png",
        paper=paper,
        orientation="landscape",
        dpi=150,
        title=title,
        as_of=as_of,
        filters=filters,
        threshold_pct=threshold_pct,
    )
    state = progress.state_query(as_of, threshold_pct, filters)
    return printable.render(session, req, state)


def projects_geojson(session: Session, as_of: date, threshold_pct: float, filters: ProjectFilter) -> str:
    """/maps/data/projects.geojson: the filtered projects with their state at ``as_of``."""
    state_sql, params = progress.state_query(as_of, threshold_pct, filters)
    progress.tune_for_state_queries(session)
    return data.projects_geojson(session, state_sql, params)


def project_popup(session: Session, project_id: int, as_of: date, threshold_pct: float) -> dict[str, Any]:
    """What a project's popup shows at ``as_of``; a Problem 404 when there is no such project."""
    state_sql, params = progress.state_query(as_of, threshold_pct, ProjectFilter(project_id=project_id))
    return data.project_popup(session, project_id, state_sql, params)


def project_features(session: Session, project_id: int, as_of: date) -> str:
    """A project's planned, done and located parts and the protected zones near it, as GeoJSON."""
    return data.project_features(session, project_id, as_of)


def districts_choropleth(session: Session, as_of: date, threshold_pct: float, filters: ProjectFilter) -> str:
    """Districts with their completion rate at ``as_of`` (the progress statistics grouped by district)."""
    summary = progress.stats(session, "district", as_of, threshold_pct, filters, spatial=False)
    return data.districts_choropleth(session, as_of, summary)


def overlay_geojson(session: Session, layer: str) -> str:
    """One reference layer for the maps, simplified; a Problem 404 for a layer the maps do not offer."""
    return data.overlay_geojson(session, layer)


def facets(session: Session) -> dict[str, Any]:
    """The filter choices and report periods the progress page offers."""
    return data.facets(session)


def cases_geojson(session: Session, role: str | None, actor: str) -> str:
    """/maps/data/cases.geojson: the cases this caller may see (service.cases.access), as the case list's map
    sends them (status, overdue, severity, number); empty for a viewer or an anonymous caller."""
    return case_listing.map_geojson(session, case_listing.CaseFilters(), role, actor)
