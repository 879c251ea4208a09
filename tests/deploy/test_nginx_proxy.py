"""The example nginx site (docs/deploy/nginx/xiangmap.conf) in front of two app processes (issue 21).

Two uvicorn processes of the service on their own ports stand for two app machines: each has only the
test database in common with the other.  nginx runs the shipped site file, with only the app addresses,
listen ports, certificate, cache and log paths replaced, inside a main nginx.conf shaped like Debian's
(whose http block turns gzip on, for JSON too here).  Which process answered a request is read from
its uvicorn access log.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from service.sessions import COOKIE as SESSION_COOKIE
from tests.web.conftest import csrf_of, make_user

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "deploy" / "nginx" / "xiangmap.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
OPENSSL = shutil.which("openssl")
MVT = "application/vnd.mapbox-vector-tile"
ACCESS_LINE = re.compile(rb' - "(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/[\d.]+" (\d{3})')

pytestmark = [
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (apt-get install nginx; scripts/bootstrap.sh test does it)"
    ),
    pytest.mark.skipif(OPENSSL is None, reason="openssl (for the test's self-signed certificate) is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _substitute(site: str, pattern: str, replacement: str, expected: int) -> str:
    """``re.subn`` that fails when the shipped file no longer has the line the test replaces."""
    result, found = re.subn(pattern, replacement, site, flags=re.MULTILINE)
    assert found == expected, f"{SITE.name}: {pattern!r} matched {found} times, expected {expected}"
    return result


def render_site(*, apps: list[int], http: int, https: int, cert: Path, key: Path, cache: Path, logs: Path) -> str:
    """The shipped site with this machine's addresses and paths; every other line stays as it is."""
    site = SITE.read_text(encoding="utf-8")
    ports = iter(apps)
    site, found = re.subn(
        r"^(\s*)server \S+:8000\b", lambda m: f"{m.group(1)}server 127.0.0.1:{next(ports)}", site, flags=re.M
    )
    assert found == len(apps), f"{SITE.name}: {found} app machines in the upstream, expected {len(apps)}"
    site = _substitute(site, r"^\s*listen \[::\]:\d+[^;]*;\n", "", 2)  # the test binds the loopback only
    site = _substitute(site, r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{http};", 1)
    site = _substitute(site, r"^(\s*)listen 443 ", rf"\1listen 127.0.0.1:{https} ", 1)
    site = _substitute(site, r"^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};", 1)
    site = _substitute(site, r"^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};", 1)
    site = _substitute(site, r"^proxy_cache_path \S+", f"proxy_cache_path {cache}", 1)
    site = _substitute(site, r"^(\s*access_log\s+)\S+;", rf"\g<1>{logs / 'site-access.log'};", 1)
    return _substitute(site, r"^(\s*error_log\s+)\S+;", rf"\g<1>{logs / 'site-error.log'};", 1)


def main_conf(tmp: Path, site: Path) -> str:
    """A main nginx.conf like Debian's, including the site; its own pid, logs and temp paths."""
    temp = "\n".join(
        f"    {name}_temp_path {tmp / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;  # the test's files are in root's private tmp\n" if os.geteuid() == 0 else ""
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.exists() else ""
    return f"""{user}worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} notice;
events {{ worker_connections 256; }}
http {{
{mime}    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {tmp / "access.log"};
    # Debian's gzip, with the gzip_types line its nginx.conf has commented out turned on: the site's own
    # `gzip off` must win (the projects API's strong ETags, the downloads' ranges)
    gzip on;
    gzip_types text/plain text/css application/json application/javascript text/xml application/xml text/javascript;
{temp}
    include {site};
}}
"""


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process started in its own session, and whatever it started (nginx's workers)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of its group, if any


@dataclass
class Deployment:
    https: str
    http: str
    https_port: int
    ca: Path
    app_ports: list[int]
    app_logs: list[Path]

    def client(self, **kwargs: object) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca))
        return httpx.Client(base_url=self.https, verify=context, follow_redirects=False, timeout=60, **kwargs)  # type: ignore[arg-type]

    def access_lines(self) -> list[list[tuple[str, int]]]:
        """Per app process: (path, status) of every request its access log shows."""
        return [
            [(m.group(1).decode(), int(m.group(2))) for m in ACCESS_LINE.finditer(log.read_bytes())]
            for log in self.app_logs
        ]

    def send(
        self, client: httpx.Client, method: str, url: str, *, upstream: bool = True, **kwargs: object
    ) -> tuple[httpx.Response, int | None]:
        """The answer and the index of the app process that logged it (None: none did, e.g. a cache hit)."""
        before = [len(lines) for lines in self.access_lines()]
        response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        deadline = time.monotonic() + (3 if upstream else 0.2)
        while True:
            grown = [i for i, lines in enumerate(self.access_lines()) if len(lines) > before[i]]
            if grown or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert len(grown) <= 1, f"one request, logged by {grown}"
        return response, (grown[0] if grown else None)


def _wait_for_app(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app process on port {port} exited: {log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"app process on port {port} did not answer /healthz: {log.read_text(errors='replace')[-3000:]}")


def _wait_for_port(process: subprocess.Popen[bytes], port: int, error_log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {error_log.read_text(errors='replace') if error_log.exists() else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    pytest.fail("nginx did not listen")


@pytest.fixture(scope="module")
def deployment(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    assert NGINX is not None and OPENSSL is not None
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # two "machines": the environment the tests run with (DATABASE_URL, XIANGMAP_APP_DATABASE_URL set
        # by tests/conftest.py), uvicorn trusting X-Forwarded-* from the proxy's address as README says
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "FORWARDED_ALLOW_IPS": "127.0.0.1"}
        ports, logs = [_free_port(), _free_port()], [tmp / "app-0.log", tmp / "app-1.log"]
        for port, log in zip(ports, logs, strict=True):
            command = [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app"]
            command += ["--host", "127.0.0.1", "--port", str(port)]
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        for process, port, log in zip(processes, ports, logs, strict=True):
            _wait_for_app(process, port, log)

        http, https = _free_port(), _free_port()
        site = tmp / "xiangmap.conf"
        site.write_text(
            render_site(apps=ports, http=http, https=https, cert=cert, key=key, cache=tmp / "cache", logs=tmp),
            encoding="utf-8",
        )
        conf = tmp / "nginx.conf"
        conf.write_text(main_conf(tmp, site), encoding="utf-8")
        base = [NGINX, "-p", f"{tmp}/", "-c", str(conf), "-e", str(tmp / "error.log")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            [*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        processes.append(nginx)
        _wait_for_port(nginx, https, tmp / "error.log")
        yield Deployment(f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", https, cert, ports, logs)
    finally:
        for process in reversed(processes):  # nginx first, then the app processes
            _stop(process)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """(z, y, x) of the WebMercatorQuad tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    y = int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n)
    return z, y, x


def cache_valid_seconds() -> int:
    """How long the shipped site keeps a tile before it revalidates it with the app."""
    found = re.search(r"^\s*proxy_cache_valid 200 (\d+)s;", SITE.read_text(encoding="utf-8"), flags=re.M)
    assert found, "proxy_cache_valid 200 <n>s; in the site"
    return int(found.group(1))


def test_plain_http_is_redirected_to_https(deployment: Deployment) -> None:
    answer = httpx.get(f"{deployment.http}/collections?f=json", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["location"] == "https://127.0.0.1/collections?f=json"


def test_tls_1_2_and_1_3_with_http2(deployment: Deployment) -> None:
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=str(deployment.ca))
        context.minimum_version = context.maximum_version = version
        context.set_alpn_protocols(["h2", "http/1.1"])
        with (
            socket.create_connection(("127.0.0.1", deployment.https_port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() == version.name.replace("v1_", "v1.")
            assert tls.selected_alpn_protocol() == "h2"


def test_reads_come_gzipped_from_the_app_and_spread_over_both_machines(deployment: Deployment) -> None:
    served: set[int | None] = set()
    with deployment.client() as client:
        for _ in range(4):
            answer, by = deployment.send(client, "GET", "/healthz")
            assert answer.status_code == 200 and answer.json()["database"] == "up"
            assert "x-cache-status" not in answer.headers  # only tiles and styles pass the cache
            served.add(by)
        page, by = deployment.send(client, "GET", "/collections/districts/items", headers={"Accept-Encoding": "gzip"})
        served.add(by)
        assert page.status_code == 200, page.text
        assert page.headers["content-encoding"] == "gzip"  # the app's, passed through
        assert "accept-encoding" in page.headers["vary"].lower()
        assert page.json()["type"] == "FeatureCollection" and page.json()["features"]
        assert "x-cache-status" not in page.headers
        plain, by = deployment.send(
            client, "GET", "/collections/districts/items", headers={"Accept-Encoding": "identity"}
        )
        served.add(by)
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert plain.json()["features"] == page.json()["features"]
        # the projects API's strong ETag (If-Match) is neither gzipped nor weakened on the way
        project_id = client.get("/projects", params={"limit": 1}).json()["items"][0]["id"]
        project = client.get(f"/projects/{project_id}", headers={"Accept-Encoding": "gzip"})
        assert project.status_code == 200 and "content-encoding" not in project.headers
        assert project.headers["etag"].startswith('"'), project.headers["etag"]
    assert served == {0, 1}, f"answered by {served}: the upstream spreads requests over both machines"


def test_a_session_and_its_csrf_token_hold_on_either_machine(deployment: Deployment) -> None:
    user = make_user("deploy-editor", "editor")
    with deployment.client() as browser:
        form, _ = deployment.send(browser, "GET", "/login")
        assert form.status_code == 200
        data = {"username": user.name, "password": user.password, "next": "", "csrf_token": csrf_of(form.text)}
        signed, _ = deployment.send(browser, "POST", "/login", data=data)
        assert signed.status_code == 303, signed.text
        cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
        assert "secure" in cookie.lower()  # uvicorn took X-Forwarded-Proto: https from the proxy

        served: set[int | None] = set()
        for _ in range(4):
            page, by = deployment.send(browser, "GET", "/me")
            assert page.status_code == 200 and user.name in page.text, page.text[:500]
            served.add(by)
        assert served == {0, 1}, f"the signed-in pages were answered by {served}"

        crossed = False
        for _ in range(6):  # a token read from one machine, sent to the other
            page, token_from = deployment.send(browser, "GET", "/me")
            token = csrf_of(page.text)
            posted, posted_to = deployment.send(
                browser, "POST", "/geocode", json={"text": "株洲市"}, headers={"X-CSRF-Token": token}
            )
            assert posted.status_code == 200, posted.text
            if posted_to != token_from:
                crossed = True
                break
        assert crossed, "the token's POST never landed on the other machine"
        refused, _ = deployment.send(
            browser, "POST", "/geocode", json={"text": "株洲市"}, headers={"X-CSRF-Token": "wrong"}
        )
        assert refused.status_code == 403

        out, _ = deployment.send(browser, "POST", "/logout", data={"csrf_token": token})
        assert out.status_code == 303
        for _ in range(2):  # signed out on both machines
            after, _ = deployment.send(browser, "GET", "/me")
            assert after.status_code in (302, 303, 307) and "/login" in after.headers["location"]


def test_tiles_are_cached_by_etag_and_revalidated(
    deployment: Deployment, engine: Engine, tokens: dict[str, str]
) -> None:
    z, y, x = tile_of(112.94, 28.23, 8)  # Changsha
    url = f"/collections/districts/tiles/WebMercatorQuad/{z}/{y}/{x}"
    valid = cache_valid_seconds()
    with deployment.client(headers={"Accept-Encoding": "gzip"}) as client:
        first, by = deployment.send(client, "GET", url)
        stored_at = time.monotonic()
        assert first.status_code == 200 and first.headers["content-type"] == MVT, first.text
        assert first.headers["x-cache-status"] == "MISS" and by is not None
        etag = first.headers["etag"]
        assert etag.startswith('W/"')
        assert first.headers["cache-control"] == "public, no-cache"  # the app's, for the browser
        for port in deployment.app_ports:  # the tag is the data version's: the same from either machine
            direct = httpx.get(f"http://127.0.0.1:{port}{url}", headers={"Accept-Encoding": "gzip"}, timeout=60)
            assert direct.headers["etag"] == etag

        again, by = deployment.send(client, "GET", url, upstream=False)
        assert again.headers["x-cache-status"] == "HIT" and by is None, "served by nginx alone"
        assert again.headers["etag"] == etag and again.content == first.content
        assert again.headers.get("content-encoding") == first.headers.get("content-encoding")

        unchanged, by = deployment.send(client, "GET", url, headers={"If-None-Match": etag}, upstream=False)
        assert unchanged.status_code == 304 and unchanged.headers["etag"] == etag and by is None

        # a token or a session cookie: straight to the app, and never stored
        for headers in ({"Authorization": "Bearer x"}, {"Authorization": f"Bearer {tokens['viewer']}"}):
            bypassed, by = deployment.send(client, "GET", url, headers=headers)
            assert bypassed.headers["x-cache-status"] == "BYPASS" and by is not None
        assert bypassed.status_code == 200 and bypassed.headers["cache-control"] == "private, no-cache"
        cookie, by = deployment.send(client, "GET", url, headers={"Cookie": f"{SESSION_COOKIE}=not-a-session"})
        assert cookie.headers["x-cache-status"] == "BYPASS" and by is not None
        still, _ = deployment.send(client, "GET", url, upstream=False)
        assert still.headers["x-cache-status"] == "HIT" and still.headers["etag"] == etag

        # past proxy_cache_valid (whole seconds: nginx expires an entry once its second has passed) nginx
        # asks the app with If-None-Match: 304, the stored tile stays
        time.sleep(max(0.0, stored_at + valid + 1.5 - time.monotonic()))
        revalidated, by = deployment.send(client, "GET", url)
        refreshed_at = time.monotonic()
        assert revalidated.headers["x-cache-status"] == "REVALIDATED", revalidated.headers
        assert revalidated.status_code == 200 and revalidated.headers["etag"] == etag
        assert by is not None and deployment.access_lines()[by][-1] == (url, 304)

        # an edit: a new data version, a new ETag once the stored tile is due again
        with engine.begin() as conn:
            conn.execute(text("UPDATE projects SET title = title WHERE id = (SELECT min(id) FROM projects)"))
        time.sleep(max(0.0, refreshed_at + valid + 1.5 - time.monotonic()))
        edited, by = deployment.send(client, "GET", url)
        assert edited.headers["x-cache-status"] == "EXPIRED" and by is not None
        assert edited.status_code == 200 and edited.headers["etag"] != etag
        assert deployment.access_lines()[by][-1] == (url, 200)


def test_styles_are_cached_with_links_to_the_proxy(deployment: Deployment) -> None:
    with deployment.client(headers={"Accept-Encoding": "gzip"}) as client:
        first, _ = deployment.send(client, "GET", "/styles/default")
        assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS", first.text[:300]
        second, by = deployment.send(client, "GET", "/styles/default", upstream=False)
        assert second.headers["x-cache-status"] == "HIT" and by is None
        sources = first.json()["sources"]
        assert sources and all(s["url"].startswith(f"{deployment.https}/") for s in sources.values()), sources
        # the tileset metadata shares the location but has no ETag: never stored
        for _ in range(2):
            metadata, by = deployment.send(client, "GET", "/collections/districts/tiles/WebMercatorQuad")
            assert metadata.status_code == 200 and "etag" not in metadata.headers
            assert metadata.headers["x-cache-status"] == "MISS" and by is not None
