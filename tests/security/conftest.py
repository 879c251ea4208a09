"""Fixtures of the security tests: a project row that slipped in before the geometry guard existed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.security.geometry_helpers import SlippedIn


@pytest.fixture
def slipped_in(engine: Engine) -> Iterator[SlippedIn]:
    """The row is put back as it was after the test."""
    row = SlippedIn(engine)
    try:
        yield row
    finally:
        row.restore()


@pytest.fixture(scope="module")
def project_id(engine: Engine) -> int:
    return SlippedIn(engine).id
