"""Browser tooling outside the runtime package: headless Chromium for tests, bench, screenshots."""
