"""What the browser tests share: a page that works offline (every non-loopback request aborted, CSP
violations kept) and signing in through the login form.  The fixtures over it are in conftest.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.web.conftest import WebUser

CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class Offline:
    """A page of its own browser context, with every non-loopback request aborted and CSP reports kept."""

    def __init__(self, browser: object, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.aborted: list[str] = []
        self.csp: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.aborted.append(url)
            route.abort()  # type: ignore[attr-defined]

    def _console(self, message: object) -> None:
        if "Content Security Policy" in message.text:  # type: ignore[attr-defined]
            self.csp.append(message.text)  # type: ignore[attr-defined]

    def horizontal_overflow(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))

    def close(self) -> None:
        self.context.close()


def sign_in(view: Offline, live_server: str, user: WebUser, next_path: str = "/me") -> None:
    view.page.goto(f"{live_server}/login?next={next_path}")
    view.page.get_by_label("用户名").fill(user.name)
    view.page.get_by_label("密码").fill(user.password)
    view.page.get_by_role("button", name="登录").click()
    view.page.wait_for_url(f"{live_server}{next_path}")
