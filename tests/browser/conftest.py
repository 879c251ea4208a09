"""Fixtures of the browser tests: one Chromium per module (Playwright driving Debian's /usr/bin/chromium, no
browser download), a desk-sized and a phone-sized offline page, and the screenshot folder
(``XIANGMAP_SCREENSHOTS``, default the run's temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.playwright_kit import CHROMIUM, Offline


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("XIANGMAP_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def desk(chromium: object) -> Iterator[Offline]:
    page = Offline(chromium, 1280, 800)
    yield page
    page.close()


@pytest.fixture
def phone(chromium: object) -> Iterator[Offline]:
    page = Offline(chromium, 390, 844)
    yield page
    page.close()
