"""Resource limits for callers, anonymous ones above all (decision 0094).

Texts for the geocoder and CQL2 filters are bounded with a 4xx that names the limit; the expensive
endpoints count requests per client (address, or token holder) and answer 429 with Retry-After.
The rest of the suite runs with the rate limits off (tests/conftest.py); the apps here turn them on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.settings import Settings

PROBLEM = "application/problem+json"
TILE = "/collections/projects/tiles/WebMercatorQuad/8/107/208"
DOWNLOAD = "/collections/projects/download.geojson"
ITEMS = "/collections/projects/items"


def _problem(response: httpx.Response, status: int, parameter: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if parameter is not None:
        assert body["parameter"] == parameter
    return body


# --- geocoder texts -------------------------------------------------------------------------------
def test_geocode_text_over_the_limit_is_413_naming_it(client: TestClient) -> None:
    long_text = "株洲市天元区" * 3300  # 19,800 characters: the load that cut items throughput 300-fold
    body = _problem(client.post("/geocode", json={"text": long_text}), 413, "text")
    assert "19800 characters, at most 4000" in body["detail"]
    assert body["fault"] == "text_too_long"
    at_limit = client.post("/geocode", json={"text": ("推进株洲市天元区湘江风光带建设," * 300)[:4000]})
    assert at_limit.status_code == 200, at_limit.text[:300]
    assert at_limit.json()["matches"]


def test_geocode_city_and_lead_unit_are_bounded(client: TestClient) -> None:
    body = _problem(client.post("/geocode", json={"text": "株洲市", "city": "市" * 5000}), 400)
    assert "city" in body["detail"]


# --- CQL2 filters ----------------------------------------------------------------------------------
def _or_text(terms: int) -> str:
    return " OR ".join(f"title = 'x{i}'" for i in range(terms))


def _or_json(terms: int) -> str:
    # 1,000 JSON terms make a URL longer than httpx sends (64 kB); 400 are 17,000 characters
    args = [{"op": "=", "args": [{"property": "title"}, f"x{i}"]} for i in range(min(terms, 400))]
    return json.dumps({"op": "or", "args": args}, separators=(",", ":"))


def _compact_or(terms: int) -> str:
    return " OR ".join(f"id={i}" for i in range(terms))  # 1,000 terms in under 10,000 characters


def _nested_not_json(levels: int) -> str:
    node: Any = {"op": "=", "args": [{"property": "id"}, 1]}
    for _ in range(levels):
        node = {"op": "not", "args": [node]}
    return json.dumps(node)


@pytest.mark.parametrize("path", [ITEMS, TILE, DOWNLOAD], ids=["items", "tile", "download"])
@pytest.mark.parametrize(
    ("lang", "make"), [("cql2-text", _or_text), ("cql2-json", _or_json)], ids=["cql2-text", "cql2-json"]
)
def test_a_thousand_or_terms_is_400_naming_the_length_limit(
    app: FastAPI, path: str, lang: str, make: Callable[[int], str]
) -> None:
    with TestClient(app, raise_server_exceptions=False) as plain:  # the code before this fix answered 500
        body = _problem(plain.get(path, params={"filter": make(1000), "filter-lang": lang}), 400, "filter")
    assert "characters, at most 10000" in body["detail"]


@pytest.mark.parametrize("path", [ITEMS, TILE, DOWNLOAD], ids=["items", "tile", "download"])
def test_a_compact_thousand_terms_is_400_naming_the_node_limit(app: FastAPI, path: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as plain:
        response = plain.get(path, params={"filter": _compact_or(1000)})
        body = _problem(response, 400, "filter")
        assert "more than the 1000 terms" in body["detail"]
        # a long OR list within the limits is written as one list, not recursed through
        two_hundred = " OR ".join(f"year={1900 + i}" for i in range(200))
        fine = plain.get(ITEMS, params={"filter": two_hundred, "limit": 500})
    assert fine.status_code == 200, fine.text[:300]
    assert fine.json()["numberReturned"] > 0


@pytest.mark.parametrize("path", [ITEMS, TILE, DOWNLOAD], ids=["items", "tile", "download"])
def test_deep_nesting_is_400_before_and_after_parsing(app: FastAPI, path: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as plain:
        brackets = "(" * 3000 + "id=1" + ")" * 3000
        before = _problem(plain.get(path, params={"filter": brackets}), 400, "filter")
        assert "brackets nested more than 66 deep" in before["detail"]
        assert "at most 30 levels" in before["detail"]
        deep = _nested_not_json(31)  # fits the bracket bound, but the tree is 33 levels deep
        after = _problem(plain.get(path, params={"filter": deep, "filter-lang": "cql2-json"}), 400, "filter")
        assert "nested deeper than the 30 levels" in after["detail"]


def test_a_parser_out_of_stack_is_400() -> None:
    from service.errors import Problem
    from service.ogc.cql import FilterLimits, parse_filter

    unbounded = FilterLimits(max_chars=10**7, max_nodes=10**7, max_depth=10**7)
    nested = '{"op":"not","args":[' * 5000 + '{"op":"=","args":[{"property":"id"},1]}' + "]}" * 5000
    with pytest.raises(Problem) as caught:  # json and pygeofilter recurse per level
        parse_filter(nested, "cql2-json", unbounded)
    assert caught.value.status == 400
    assert "nested too deeply to parse" in caught.value.detail


# --- rate limits -------------------------------------------------------------------------------------
def _limited_app(**overrides: Any) -> FastAPI:
    """An app with small allowances, starting from no counts: they are shared in PostgreSQL (decision 0320)."""
    from sqlalchemy import text

    from service.app import create_app
    from service.database import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM rate_limit_counts"))

    values: dict[str, Any] = {
        "rate_limits_enabled": True,
        "rate_limit_geocode": "3/minute",
        "rate_limit_screening": "2/minute",
        "rate_limit_downloads": "2/minute",
        "rate_limit_download_reads": "3/minute",
        "rate_limit_token_factor": 2,
        "rate_limit_tarpit_s": 0,
    }
    values.update(overrides)
    return create_app(Settings(**values))


@pytest.fixture
def limited(engine: Any) -> Iterator[TestClient]:
    with TestClient(_limited_app()) as c:
        yield c


def _assert_429(response: httpx.Response, detail_part: str) -> int:
    body = _problem(response, 429)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 120  # per minute: the two-window count may hold a burst past the window (0320)
    assert body["retry_after"] == retry_after
    assert body["fault"] == "rate_limited"
    assert detail_part in body["detail"], body["detail"]
    return retry_after


def test_anonymous_geocoding_is_limited_per_address(limited: TestClient) -> None:
    codes = [limited.post("/geocode", json={"text": "株洲市天元区"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = limited.post("/geocode", json={"text": "株洲市天元区"})
    _assert_429(refused, "too many geocoding (POST /geocode) from address testclient: at most 3 per minute")
    assert "a token holder may send more" in refused.json()["detail"]
    # other groups keep their own count
    assert limited.get(DOWNLOAD).status_code == 200


def test_an_anonymous_flood_is_refused_before_its_body_is_read(engine: Any) -> None:
    """Over the allowance, the anonymous 429 comes before the body is read: not even broken JSON is looked at,
    and the connection is closed after it (a flood must reconnect); under the allowance the same body is a 400."""
    with TestClient(_limited_app(rate_limit_geocode="1/minute", rate_limit_tarpit_s=0.05)) as c:
        broken = {"content": b'{"text": "unfinished', "headers": {"Content-Type": "application/json"}}
        assert c.post("/geocode", **broken).status_code == 400  # counted, then parsed and refused
        refused = c.post("/geocode", **broken)
        _assert_429(refused, "too many geocoding (POST /geocode) from address testclient: at most 1 per minute")
        assert refused.headers["connection"] == "close"
        assert "content-security-policy" in refused.headers  # the security headers wrap it as any answer
        viewer_ok = c.post("/geocode", json={"text": "株洲市"}, headers={"Authorization": "Bearer nope"})
        assert viewer_ok.status_code == 401  # token holders are not counted by address, but by their token


def test_a_token_holder_has_the_higher_allowance_under_its_own_key(
    limited: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    for _ in range(3):
        assert limited.post("/geocode", json={"text": "株洲市"}).status_code == 200
    assert limited.post("/geocode", json={"text": "株洲市"}).status_code == 429
    viewer = auth["viewer"]  # same address, but counted by user: 3 x 2
    codes = [limited.post("/geocode", json={"text": "株洲市"}, headers=viewer).status_code for _ in range(6)]
    assert codes == [200] * 6
    _assert_429(
        limited.post("/geocode", json={"text": "株洲市"}, headers=viewer),
        "from token holder 'test-viewer': at most 6 per minute",
    )


def test_screening_batches_and_downloads_are_limited(limited: TestClient, auth: dict[str, dict[str, str]]) -> None:
    inspector = auth["inspector"]
    first_id = limited.get("/projects?limit=1").json()["items"][0]["id"]
    batch = {"project_ids": [first_id]}
    codes = [limited.post("/screening/batch", json=batch, headers=inspector).status_code for _ in range(4)]
    assert codes == [201] * 4  # 2 x 2 for a token holder
    _assert_429(limited.post("/screening/batch", json=batch, headers=inspector), "too many screenings")
    assert [limited.get(DOWNLOAD).status_code for _ in range(2)] == [200, 200]
    _assert_429(limited.get(DOWNLOAD), "too many downloads")
    # GDAL's /vsicurl/ opens a file by a HEAD and byte ranges: those count apart, with their own allowance
    ranged = {"Range": "bytes=0-99"}
    assert [
        limited.head(DOWNLOAD).status_code,
        *(limited.get(DOWNLOAD, headers=ranged).status_code for _ in range(2)),
    ] == [
        200,
        206,
        206,
    ]
    _assert_429(limited.get(DOWNLOAD, headers=ranged), "byte-range and HEAD reads")


def test_the_limited_operations_document_429(limited: TestClient) -> None:
    paths = limited.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/geocode", "post"),
        ("/screening", "post"),
        ("/screening/batch", "post"),
        ("/collections/{collectionId}/download.{fmt}", "get"),
        ("/maps/progress.{fmt}", "get"),
    ]:
        assert "429" in paths[path][method]["responses"], path


@pytest.fixture
def limited_behind_proxy(engine: Any) -> Iterator[str]:
    """The limited app served by uvicorn trusting a proxy on loopback, as `xiangmap serve` does by default."""
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(
        _limited_app(), host="127.0.0.1", port=port, log_level="warning", forwarded_allow_ips="127.0.0.1"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_addresses_behind_a_trusted_proxy_are_counted_apart(limited_behind_proxy: str) -> None:
    with httpx.Client(base_url=limited_behind_proxy, timeout=30) as c:
        one = {"X-Forwarded-For": "203.0.113.7"}
        other = {"X-Forwarded-For": "198.51.100.9"}
        for _ in range(3):
            assert c.post("/geocode", json={"text": "株洲市"}, headers=one).status_code == 200
        _assert_429(c.post("/geocode", json={"text": "株洲市"}, headers=one), "from address 203.0.113.7")
        assert c.post("/geocode", json={"text": "株洲市"}, headers=other).status_code == 200


def test_the_anonymous_route_table_matches_the_limited_routes(limited: TestClient) -> None:
    """ANONYMOUS_ROUTES (matched before the body is read) and the routes' rate_limited() dependencies (which
    document a 429) are two descriptions of one thing: each limited operation must be in the table, and
    each row of the table must be a limited operation."""
    import re

    from service.rate_limits import ANONYMOUS_ROUTES, anonymous_group

    documented = [
        (method.upper(), re.sub(r"\{fmt\}", "pdf", re.sub(r"\{(?!fmt\})[^}]+\}", "1", path)))
        for path, operations in limited.get("/openapi.json").json()["paths"].items()
        for method, operation in operations.items()
        if "429" in operation.get("responses", {})
    ]
    assert len(documented) >= 5
    assert [op for op in documented if anonymous_group(*op) is None] == []
    for methods, pattern, group in ANONYMOUS_ROUTES:
        assert any(m in methods and pattern.match(path) for m, path in documented), (group, pattern.pattern)
