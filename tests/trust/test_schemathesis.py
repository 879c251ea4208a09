"""Schemathesis against /openapi.json: no 5xx anywhere, and every response matches the schema.

Bounded (a few examples per operation, derandomized).  Writes are exercised anonymously, so the
protected ones are refused before they can change stored data (public computations such as
POST /geocode still run); reads run with an admin token so that the protected read paths are covered too.
The operations are driven through Hypothesis directly
rather than schemathesis' pytest plugin, which does not support pytest 9 yet.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
# binary downloads and HTML pages are checked by their own tests with real clients
SKIP_PATH_PARTS = ("/tiles/", "/download", ".png", ".pdf", "/maps/")


@pytest.fixture(scope="session")
def api_schema(app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(api_schema):  # type: ignore[no-untyped-def]
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not any(part in operation.path for part in SKIP_PATH_PARTS):
            yield operation


def _exercise(operation, admin_headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Run a bounded Hypothesis search over one operation; raises on the first failing example."""
    is_read = operation.method.upper() in READ_METHODS

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers=admin_headers if is_read else None)
        case.validate_response(response, checks=CHECKS)

    run()


def test_api_never_5xx_and_matches_schema(api_schema, auth) -> None:  # type: ignore[no-untyped-def]
    operations = list(_operations(api_schema))
    assert len(operations) > 5
    failures: list[str] = []
    for operation in operations:
        try:
            _exercise(operation, auth["admin"])
        except BaseException as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
