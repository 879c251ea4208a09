"""What the maps routes call: the pages (with the basemap the settings allow), and the wall map as
(bytes, media type).  Reads only, so no audit entry and no commit; the HTTP response is the route's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from service.common.web_maps import resolve_basemap
from service.maps import data, pages
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

    return printable.wall_map(session, req)
