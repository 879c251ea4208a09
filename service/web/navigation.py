"""Where a page may send the browser next: local paths only (no open redirect), and the landing page."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.routing import Match
from starlette.types import ASGIApp

FALLBACK_LANDING = "/maps/progress"
LEDGER = "/ledger"


def safe_next(value: str | None) -> str | None:
    """``value`` when it is a path on this site, else None.

    Refused: anything with a scheme or a host (``https://evil``, ``//evil``), a backslash (browsers read
    ``/\\evil`` as ``//evil``), control characters or white space, and paths not starting with ``/``.
    """
    if not value or len(value) > 2000 or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def has_route(app: ASGIApp, path: str) -> bool:
    """True when the app answers GET ``path`` with a route (a page another branch may not have added yet).

    Asked the way Starlette routes a request (``route.matches``), since included routers need not list
    their paths; answers are kept per app, whose routes do not change once it runs.
    """
    known: dict[str, bool] = _known(app)
    if path not in known:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": []}
        known[path] = any(route.matches(scope)[0] == Match.FULL for route in getattr(app, "routes", ()))
    return known[path]


def _known(app: ASGIApp) -> dict[str, bool]:
    state = getattr(app, "state", None)
    if state is None:
        return {}
    if not hasattr(state, "web_routes_known"):
        state.web_routes_known = {}
    return state.web_routes_known  # type: ignore[no-any-return]


def landing(app: ASGIApp) -> str:
    """The page after sign-in without ``next``: the ledger once it exists, else the progress map."""
    return LEDGER if has_route(app, LEDGER) else FALLBACK_LANDING


EVALUATIONS = "/evaluations"
NAV = (("台账", LEDGER), ("地图", FALLBACK_LANDING), ("评估", EVALUATIONS), ("数据", "/collections"))
# links shown only to the roles that can use them: the monthly sheet is for editors and up, and so is
# importing a plan (an editor their own unit's, decision 0183; the 两型办 planners and admins any plan)
MONTHLY_SHEET = "/ledger/monthly-sheet"
PLAN_UPLOAD = "/plans/upload"
CASES = "/cases"  # the case list; the patrol form is /cases/new
ROLE_NAV = (
    (("案件", CASES), ("editor", "inspector", "gis", "coordinator", "admin")),
    (("月报", MONTHLY_SHEET), ("editor", "coordinator", "admin")),
    (("导入计划", PLAN_UPLOAD), ("editor", "coordinator", "admin")),
    (("待定位", "/review"), ("editor", "coordinator", "admin")),  # who may place a task (PUT .../location)
    (("图层", "/gis/layers"), ("gis", "admin")),  # who may publish, replace and retire layers (issue 20)
)


def nav_items(app: ASGIApp, current: str, role: str | None = None) -> list[dict[str, object]]:
    """The top bar's links (with ``role``'s own); one whose page does not exist yet is shown greyed, not as a
    dead link.  The current one is the longest link the path starts with (/ledger/monthly-sheet is 月报)."""
    links = [*NAV, *(link for link, roles in ROLE_NAV if role in roles)]
    current_href = max((href for _, href in links if current.startswith(href)), key=len, default=None)
    return [
        {"label": label, "href": href, "live": has_route(app, href), "current": href == current_href}
        for label, href in links
    ]
