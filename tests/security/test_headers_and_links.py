"""Headers and share links: a Content-Security-Policy on every response that the maps still draw under,
no-store on private answers (ETags of public ones kept), and signed share links that work when
``XIANGMAP_PRIVATE_READS`` is on while nothing else opens without a token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.browser.headless import Browser, Page

ZHAOSHAN = {"geometry": {"type": "Point", "coordinates": [113.0171, 27.9739]}, "buffer_m": 200}
TILE_HOSTS = ("https://tile.openstreetmap.org", "https://*.tianditu.gov.cn")


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.fixture(scope="module")
def private_client(engine: Engine) -> Iterator[TestClient]:
    """An app created with private reads on, beside the run's public one, on the same database."""
    from service.app import create_app
    from service.settings import Settings

    with TestClient(create_app(Settings(private_reads=True))) as c:
        yield c


@pytest.fixture(scope="module")
def screening(client, auth) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = client.post("/screening", json=ZHAOSHAN, headers=auth["inspector"])
    assert r.status_code == 201
    return r.json()  # type: ignore[no-any-return]


# --- share links with private reads ----------------------------------------------------------------
def test_shared_map_link_opens_without_a_token_when_reads_are_private(private_client: TestClient, auth) -> None:  # type: ignore[no-untyped-def]
    made = private_client.post("/screening", json=ZHAOSHAN, headers=auth["inspector"])
    assert made.status_code == 201
    sid, shared = made.json()["id"], made.json()["links"]["map_shared"]
    assert shared.startswith(f"/maps/screening/{sid}?expires=")

    page = private_client.get(shared)  # what a browser sends: no Authorization header
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "leaflet" in page.text.lower()
    # private reads are on in this app: the same map without the link, and the catalogue, need a token
    assert private_client.get(f"/maps/screening/{sid}").status_code == 401
    assert private_client.get("/collections").status_code == 401


def test_with_private_reads_everything_else_still_needs_a_token(private_client: TestClient, auth) -> None:  # type: ignore[no-untyped-def]
    made = private_client.post("/screening", json=ZHAOSHAN, headers=auth["inspector"]).json()
    sid, shared = made["id"], made["links"]["map_shared"]
    query = parse_qs(urlsplit(shared).query)
    expires, sig = query["expires"][0], query["sig"][0]
    signed = f"expires={expires}&sig={sig}"

    refused = [
        f"/maps/screening/{sid}",  # no link, no token
        f"/maps/screening/{sid}?expires={expires}&sig={'0' * len(sig)}",  # tampered
        f"/maps/screening/{sid}?expires={int(expires) + 1}&sig={sig}",  # another expiry
        f"/maps/screening/{sid + 1}?{signed}",  # another map
        f"{shared}&basemap=none",  # a parameter the signature does not cover
        f"{shared}&sig={sig}",  # sig twice
        f"/screenings/{sid}?{signed}",  # the record behind the map
        f"/projects?{signed}",
        f"/collections/projects/items?{signed}",
        "/maps/progress",
        "/collections",
    ]
    for path in refused:
        r = private_client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer"), path
    assert private_client.get("/collections", headers=auth["viewer"]).status_code == 200
    assert private_client.get(f"/maps/screening/{sid}", headers=auth["inspector"]).status_code == 200
    assert private_client.get("/healthz").status_code == 200


# --- Content-Security-Policy -------------------------------------------------------------------------
def test_every_response_has_a_content_security_policy(client, auth, screening) -> None:  # type: ignore[no-untyped-def]
    answers = {
        "page": client.get("/maps/progress"),
        "shared map": client.get(screening["links"]["map_shared"]),
        "html": client.get("/collections", headers={"Accept": "text/html"}),
        "json": client.get("/collections"),
        "error": client.get("/collections/nope"),
        "unauthorised": client.get("/audit"),
        "static": client.get("/static/vendor/leaflet/leaflet.js"),
        "too large": client.post("/geocode", content=b"x" * (11 * 1024 * 1024)),
    }
    for name, r in answers.items():
        assert r.headers.get_list("content-security-policy") and len(r.headers.get_list("content-security-policy")) == 1
        policy = directives(r.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"], name
        assert policy["script-src"] == ["'self'", "'unsafe-inline'"], name
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"], name
        assert policy["form-action"] == ["'self'"] and policy["frame-ancestors"] == ["'self'"], name
        assert policy["connect-src"] == ["'self'"], name
        assert {"'self'", "data:", "blob:", *TILE_HOSTS} <= set(policy["img-src"]), name
    assert answers["too large"].status_code == 413


def test_docs_and_pdf_get_the_policy_they_can_work_with(client) -> None:  # type: ignore[no-untyped-def]
    docs = client.get("/docs")
    # Swagger UI from /static/vendor (issue 15): no CDN in the page, none in its policy
    assert docs.status_code == 200 and "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in docs.text
    assert "cdn.jsdelivr.net" not in docs.text and "fastapi.tiangolo.com" not in docs.text
    policy = directives(docs.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'", "'unsafe-inline'"] and policy["object-src"] == ["'none'"]
    pdf = client.get("/maps/progress.pdf", params={"paper": "A4"})
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf")
    # Chrome shows a PDF through a plugin that object-src 'none' on the PDF itself would block
    assert pdf.headers["content-security-policy"] == "frame-ancestors 'self'"


# --- Cache-Control -----------------------------------------------------------------------------------
def test_private_answers_are_no_store(client, auth, screening, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    sid = screening["id"]
    with engine.connect() as conn:
        located = conn.execute(text("SELECT id FROM projects WHERE geom IS NOT NULL ORDER BY id LIMIT 1")).scalar_one()
    batch = client.post("/screening/batch", json={"project_ids": [located]}, headers=auth["inspector"])
    assert batch.status_code == 201
    answers = {
        "audit": client.get("/audit", headers=auth["admin"]),
        "audit refused": client.get("/audit"),
        "screening answer": client.post("/screening", json=ZHAOSHAN, headers=auth["inspector"]),
        "batch answer": batch,
        "screenings": client.get("/screenings", headers=auth["inspector"]),
        "screening": client.get(f"/screenings/{sid}", headers=auth["inspector"]),
        "recheck": client.get(f"/screenings/{sid}/recheck", headers=auth["inspector"]),
        "report": client.get(f"/screenings/{sid}/report.html", headers=auth["inspector"]),
        "batch report": client.get(batch.json()["links"]["csv"], headers=auth["inspector"]),
        "rules": client.get("/screening/rules", headers=auth["inspector"]),
        "shared map": client.get(screening["links"]["map_shared"]),
        "map by token": client.get(f"/maps/screening/{sid}", headers=auth["inspector"]),
        "project screening": client.get(f"/projects/{located}/screening", headers=auth["inspector"]),
    }
    for name, r in answers.items():
        assert r.status_code < 300 or name == "audit refused", (name, r.status_code)
        assert r.headers.get_list("cache-control") == ["no-store"], name


def test_public_pages_and_tiles_keep_their_etags_and_get_the_policy(client) -> None:  # type: ignore[no-untyped-def]
    paths = (
        "/maps/progress",
        "/collections/projects/items?limit=5",
        "/maps/data/projects.geojson",
        "/collections/districts/tiles/WebMercatorQuad/10/429/833",
    )
    for path in paths:
        first = client.get(path)
        assert first.status_code == 200 and "no-store" not in first.headers.get("cache-control", ""), path
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag, path
        assert "no-store" not in again.headers.get("cache-control", ""), path
        assert directives(again.headers["content-security-policy"])["frame-ancestors"] == ["'self'"], path


# --- in Chromium -------------------------------------------------------------------------------------
VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs /usr/bin/chromium")
    with Browser(width=1100, height=800, offline=True) as b:
        yield b


def _page(browser: Browser, url: str) -> Page:
    page = browser.new_page()
    page.send("Page.addScriptToEvaluateOnNewDocument", source=VIOLATIONS)
    page.goto(url)
    return page


def _csp_blocked(browser: Browser, page: Page) -> list[str]:
    return [
        e["params"].get("blockedReason", "")
        for e in browser.events
        if e.get("sessionId") == page.session
        and e.get("method") == "Network.loadingFailed"
        and e["params"].get("blockedReason") == "csp"
    ]


@pytest.mark.browser
@pytest.mark.parametrize("basemap", ["osm", "tianditu-vec"])
def test_progress_map_draws_under_the_policy(browser: Browser, live_server: str, monkeypatch, basemap: str) -> None:  # type: ignore[no-untyped-def]
    from service.settings import get_settings

    monkeypatch.setattr(get_settings(), "tianditu_key", "testkey123")
    page = _page(browser, f"{live_server}/maps/progress?basemap={basemap}")
    page.wait_for("window.XM && XM.state.drawn && XM.state.loads >= 1 && XM.state.facets", timeout=60)
    assert page.evaluate("XM.state.errors") == [] and page.console_errors == []
    tiles = "tile.openstreetmap.org" if basemap == "osm" else "tianditu.gov.cn"
    page.wait_for(f"document.querySelectorAll('img.leaflet-tile[src*=\"{tiles}\"]').length > 0")
    assert any(tiles in u for u in page.requests)  # the tiles were asked for (offline: they fail in DNS)
    assert page.evaluate("window.__csp") == [] and _csp_blocked(browser, page) == []

    # a script from another origin (localhost is not 127.0.0.1) is refused
    other = live_server.replace("127.0.0.1", "localhost")
    assert _inject(page, "script", other + "/maps/assets/progress_map.js") == "blocked"
    violations = page.wait_for("window.__csp.length >= 1 && window.__csp")
    assert any(v.startswith("script-src") and "localhost" in v for v in violations), violations


def _inject(page: Page, tag: str, url: str) -> str:
    """Add a <script> or <img> loading ``url``; 'loaded' or 'blocked'."""
    return str(
        page.evaluate(
            "new Promise(function (done) {"
            f"  var e = document.createElement('{tag}'); e.src = {json.dumps(url)};"
            "  e.onload = function () { done('loaded'); }; e.onerror = function () { done('blocked'); };"
            "  document.body.appendChild(e); })"
        )
    )


@pytest.mark.browser
def test_shared_screening_map_draws_under_the_policy(browser: Browser, live_server: str, screening) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, live_server + screening["links"]["map_shared"])
    page.wait_for("document.querySelectorAll('.leaflet-interactive').length > 0", timeout=60)
    assert page.evaluate("document.querySelectorAll('.leaflet-control-layers').length") == 1
    assert page.console_errors == []
    assert page.evaluate("window.__csp") == [] and _csp_blocked(browser, page) == []
    # what the page's own origin serves loads; an image from elsewhere (a way out for data) does not
    same = live_server + "/static/vendor/leaflet/images/marker-icon.png"
    assert _inject(page, "img", same) == "loaded"
    other = same.replace("127.0.0.1", "localhost")
    assert _inject(page, "img", other) == "blocked"
    assert any(v.startswith("img-src") for v in page.wait_for("window.__csp.length >= 1 && window.__csp"))
