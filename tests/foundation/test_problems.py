"""Every 4xx and 5xx is application/problem+json with type, title, status and detail."""

from __future__ import annotations

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _assert_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["detail"]
    return body


def test_unknown_path_is_404_problem(client) -> None:  # type: ignore[no-untyped-def]
    body = _assert_problem(client.get("/no/such/thing"), 404)
    assert "/no/such/thing" in body["detail"]


def test_wrong_method_is_405_problem(client) -> None:  # type: ignore[no-untyped-def]
    _assert_problem(client.post("/healthz"), 405)


def test_missing_token_401_and_wrong_role_403(client, auth) -> None:  # type: ignore[no-untyped-def]
    _assert_problem(client.get("/audit"), 401)
    _assert_problem(client.get("/audit", headers={"Authorization": "Bearer nope"}), 401)
    _assert_problem(client.get("/audit", headers=auth["editor"]), 403)
    assert client.get("/audit", headers=auth["admin"]).status_code == 200


def test_bad_parameter_is_400_naming_it(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = _assert_problem(client.get("/audit?limit=abc", headers=auth["admin"]), 400)
    assert "limit" in body["detail"]


@pytest.fixture
def own_app(engine):  # type: ignore[no-untyped-def]
    """A fresh app for tests that add routes, so the shared one (and its OpenAPI) stays as shipped."""
    from service.app import create_app

    return create_app()


def test_unexpected_error_is_500_problem_without_traceback(own_app) -> None:  # type: ignore[no-untyped-def]
    app = own_app
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/__boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = _assert_problem(c.get("/__boom"), 500)
    assert "secret internals" not in body["detail"] and "Traceback" not in body["detail"]


def test_openapi_and_docs(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "xiangmap"
    assert "/healthz" in spec.json()["paths"]
    assert client.get("/docs").status_code == 200


def test_security_headers_on_every_response(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/healthz", "/no/such/thing"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "SAMEORIGIN"


def test_oversize_body_is_413_problem_declared_or_streamed(own_app) -> None:  # type: ignore[no-untyped-def]
    app = own_app
    from fastapi import APIRouter

    from service.settings import get_settings

    router = APIRouter()

    @router.post("/__echo_size")
    async def echo_size(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.include_router(router)
    client = TestClient(app)
    assert client.post("/__echo_size", content=b"12345").json() == {"size": 5}

    too_big = b"x" * (get_settings().max_body_mb * 1024 * 1024 + 1)
    r = client.post("/healthz", content=too_big, headers={"content-type": "application/json"})
    body = _assert_problem(r, 413)
    assert "limit" in body["detail"]

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(get_settings().max_body_mb + 1):
            yield b"y" * (1024 * 1024)

    streamed = client.post("/__echo_size", content=chunks(), headers={"content-type": "application/json"})
    _assert_problem(streamed, 413)
