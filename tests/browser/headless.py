"""Headless Chromium over the DevTools protocol on a pipe (``--remote-debugging-pipe``): no driver, no
websocket library.  Used by the browser tests, the screenshots in docs/ and bench/maps.py.

``offline=True`` makes every host name except the loopback fail to resolve, so a page that still needs
the internet shows it; every request the page makes is recorded in ``Page.requests``.

``webgl=True`` (MapLibre pages) renders WebGL in software with SwiftShader through ANGLE instead of
turning the GPU off: this machine has no GPU, and headless Chromium refuses software WebGL unless told.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
WEBGL_ARGS = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist")


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, or a wait timed out."""


class Browser:
    """One headless Chromium with a fresh profile, spoken to over fds 3 (commands) and 4 (replies)."""

    def __init__(
        self,
        *,
        width: int = 1400,
        height: int = 900,
        offline: bool = True,
        webgl: bool = False,
        chromium: str = CHROMIUM,
    ) -> None:
        self.profile = tempfile.mkdtemp(prefix="xm-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # park the child's ends above 10 so dup2 onto 3 and 4 cannot clobber one another
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            *(WEBGL_ARGS if webgl else ("--disable-gpu",)),
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
        ]
        if offline:
            args.append("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost")

        def wire() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(
            args, pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(child_in)
        os.close(child_out)
        self._lock = threading.Lock()
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._waiting: dict[int, threading.Event] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.width, self.height = width, height

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    self._replies[message["id"]] = message
                    event = self._waiting.pop(message["id"], None)
                    if event:
                        event.set()
                else:
                    self.events.append(message)

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            done = threading.Event()
            self._waiting[ident] = done
            message: dict[str, Any] = {"id": ident, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        if not done.wait(timeout):
            raise BrowserError(f"{method}: no answer in {timeout} s")
        reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Network.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return page

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, self.session, timeout=timeout, **params)

    @property
    def requests(self) -> list[str]:
        """Every URL this page asked for, in order."""
        return [
            e["params"]["request"]["url"]
            for e in self.browser.events
            if e.get("sessionId") == self.session and e.get("method") == "Network.requestWillBeSent"
        ]

    @property
    def failed(self) -> list[str]:
        """Request ids that failed (DNS, refused ...), with the error text."""
        return [
            f"{e['params']['requestId']}: {e['params'].get('errorText')}"
            for e in self.browser.events
            if e.get("sessionId") == self.session and e.get("method") == "Network.loadingFailed"
        ]

    @property
    def console_errors(self) -> list[str]:
        out = []
        for e in self.browser.events:
            if e.get("sessionId") != self.session:
                continue
            if e.get("method") == "Runtime.exceptionThrown":
                details = e["params"]["exceptionDetails"]
                out.append(str(details.get("exception", {}).get("description") or details.get("text")))
        return out

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        result = self.send(
            "Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.05) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
            except BrowserError:
                last = None
            if last:
                return last
            time.sleep(interval)
        raise BrowserError(f"waited {timeout} s for {expression!r}; last value {last!r}; errors {self.console_errors}")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
