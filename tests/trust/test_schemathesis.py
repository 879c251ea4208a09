"""Schemathesis against /openapi.json: no 5xx anywhere, and every response matches the schema.

Bounded (a few examples per operation).  Writes are exercised anonymously (they must answer 401, never
5xx); reads run with an admin token so that the protected read paths are covered too.  Nothing here
can change stored data: anonymous writes are refused before they touch the database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture(scope="session")
def api_schema(app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api_never_5xx_and_matches_schema(case, auth) -> None:  # type: ignore[no-untyped-def]
    if case.method.upper() in READ_METHODS:
        response = case.call(headers=auth["admin"])
    else:
        response = case.call()
        assert response.status_code in (400, 401, 404, 405, 413, 415, 422), (case.method, case.path, response.text)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
    case.validate_response(response, checks=[not_a_server_error])
