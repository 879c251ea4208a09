"""Third-party web assets (Leaflet, Leaflet.markercluster and what Folium's templates reference; MapLibre GL
JS; Leaflet.draw for the report form; htmx for the web pages; Swagger UI for /docs), fetched once at setup
from their npm registry tarballs and served by xiangmap itself from /static/vendor/, so the maps, the pages
and /docs work on an offline intranet (docs/decisions/0042-offline-web-assets.md).

Versions are pinned and every tarball is checked against the registry's sha512 (SRI) and sha1 before a
single file is unpacked.  A marker file per package records what was installed: a second run finds
them all and returns at once, without touching the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine

log = logging.getLogger("xiangmap.assets")

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class NpmAsset:
    """One pinned npm package and the parts of it xiangmap serves."""

    name: str  # directory under /static/vendor/
    package: str
    version: str
    sha512: str  # the registry's ``dist.integrity`` (base64 after ``sha512-``)
    sha1: str  # the registry's ``dist.shasum``
    keep: tuple[tuple[str, str], ...]  # (path prefix inside the tarball, directory under vendor/<name>/)

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.package}/-/{self.package.split('/')[-1]}-{self.version}.tgz"

    @property
    def marker(self) -> Path:
        return VENDOR_DIR / self.name / f".installed-{self.version}"


ASSETS: tuple[NpmAsset, ...] = (
    NpmAsset(
        "leaflet",
        "leaflet",
        "1.9.4",
        "nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        "23fae724e282fa25745aff82ca4d394748db7d8d",
        (("package/dist/leaflet.js", ""), ("package/dist/leaflet.css", ""), ("package/dist/images/", "images/")),
    ),
    NpmAsset(
        "leaflet.markercluster",
        "leaflet.markercluster",
        "1.5.3",
        "vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
        "9cdb52a4eab92671832e1ef9899669e80efc4056",
        (
            ("package/dist/leaflet.markercluster.js", ""),
            ("package/dist/MarkerCluster.css", ""),
            ("package/dist/MarkerCluster.Default.css", ""),
        ),
    ),
    NpmAsset(
        "supercluster",
        "supercluster",
        "8.0.1",
        "IiOea5kJ9iqzD2t7QJq/cREyLHTtSmUT6gQsweojg9WH2sYJqZK9SswTu6jrscO6D1G5v5vYZ9ru/eq85lXeZQ==",
        "9946ba123538e9e9ab15de472531f604e7372df5",
        (("package/dist/supercluster.min.js", ""), ("package/LICENSE", "")),
    ),
    NpmAsset(
        "jquery",
        "jquery",
        "3.7.1",
        "m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        "083ef98927c9a6a74d05a6af02806566d16274de",
        (("package/dist/jquery.min.js", ""),),
    ),
    NpmAsset(
        "bootstrap",
        "bootstrap",
        "5.2.2",
        "dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==",
        "834e053eed584a65e244d8aa112a6959f56e27a0",
        (("package/dist/js/bootstrap.bundle.min.js", "js/"), ("package/dist/css/bootstrap.min.css", "css/")),
    ),
    NpmAsset(
        "fontawesome",
        "@fortawesome/fontawesome-free",
        "6.2.0",
        "CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==",
        "ba3510825b332816fe7190f28827f8cb33a298b5",
        (("package/css/all.min.css", "css/"), ("package/webfonts/", "webfonts/")),
    ),
    NpmAsset(
        "awesome-markers",
        "leaflet.awesome-markers",
        "2.0.5",
        "Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==",
        "b7b0210d87e2566359bf478c1ab3ab07c7246f30",
        (
            ("package/dist/leaflet.awesome-markers.js", ""),
            ("package/dist/leaflet.awesome-markers.css", ""),
            ("package/dist/images/", "images/"),
        ),
    ),
    NpmAsset(
        "leaflet.fullscreen",
        "leaflet.fullscreen",
        "3.0.0",
        "81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==",
        "e5e162b95c6219469c251006573fccbe4ef8cc55",
        (
            ("package/Control.FullScreen.js", ""),
            ("package/Control.FullScreen.css", ""),
            ("package/icon-fullscreen.svg", ""),
        ),
    ),
    # MapLibre GL JS for vector-tile pages (our style.json, docs/ogc.md): an ES module that loads its worker
    # module from beside itself (from another origin through a blob: import, so /static answers CORS)
    NpmAsset(
        "maplibre-gl",
        "maplibre-gl",
        "6.20.0",
        "7manvqXeNoN0mKRzenYDopkb3VW9j7iag45RvopkOVFZ7c+La7CBWtK8eBS5bKrI6NyxqAIxPxIG1PMcotcY1w==",
        "397b81d2eb13cf98c3109513ece0351406ae3ec9",
        (
            ("package/dist/maplibre-gl.mjs", ""),
            ("package/dist/maplibre-gl-worker.mjs", ""),
            ("package/dist/maplibre-gl.css", ""),
            ("package/LICENSE.txt", ""),
        ),
    ),
    # drawing the built part of a task on the report form's map (service/static/web/task-report.js)
    NpmAsset(
        "leaflet-draw",
        "leaflet-draw",
        "1.0.4",
        "rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==",
        "45be92f378ed253e7202fdeda1fcc71885198d46",
        (
            ("package/dist/leaflet.draw.js", ""),
            ("package/dist/leaflet.draw.css", ""),
            ("package/dist/images/spritesheet.png", "images/"),
            ("package/dist/images/spritesheet-2x.png", "images/"),
            ("package/dist/images/spritesheet.svg", "images/"),
        ),
    ),
    # the web pages' progressive enhancement (service/templates/web/base.html, docs/web.md)
    NpmAsset(
        "htmx",
        "htmx.org",
        "2.0.11",
        "Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
        "a85363c4c5af94cd634df04c4b83d06dd0e91aa7",
        (("package/dist/htmx.min.js", ""), ("package/LICENSE", "")),
    ),
    # /docs (service/web/routes.py): Swagger UI served from here, not from a CDN
    NpmAsset(
        "swagger-ui-dist",
        "swagger-ui-dist",
        "5.35.0",
        "U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
        "5c3b487ae5a2121b2c668d6f92b550707521876a",
        (
            ("package/swagger-ui-bundle.js", ""),
            ("package/swagger-ui.css", ""),
            ("package/favicon-32x32.png", ""),
            ("package/LICENSE", ""),
        ),
    ),
)


class AssetError(RuntimeError):
    """A download failed or did not match its pinned checksum."""


def verify(asset: NpmAsset, payload: bytes) -> None:
    """Refuse a tarball whose sha512 or sha1 differs from the pinned registry values."""
    sha512 = base64.b64encode(hashlib.sha512(payload).digest()).decode()
    if sha512 != asset.sha512:
        raise AssetError(f"{asset.package}@{asset.version}: sha512 mismatch (got {sha512[:16]}…)")
    sha1 = hashlib.sha1(payload).hexdigest()  # npm's legacy shasum, checked as well
    if sha1 != asset.sha1:
        raise AssetError(f"{asset.package}@{asset.version}: sha1 mismatch (got {sha1})")


def unpack(asset: NpmAsset, payload: bytes, target: Path) -> int:
    """Extract only the kept files, refusing any path that would leave ``target``."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            for prefix, subdir in asset.keep:
                if member.name == prefix or (prefix.endswith("/") and member.name.startswith(prefix)):
                    rest = member.name[len(prefix) :] if prefix.endswith("/") else Path(member.name).name
                    destination = (target / subdir / rest).resolve()
                    if not destination.is_relative_to(target.resolve()):
                        raise AssetError(f"{asset.package}: unsafe path {member.name!r} in the tarball")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    assert source is not None
                    destination.write_bytes(source.read())
                    count += 1
                    break
    return count


def download(asset: NpmAsset, client: httpx.Client) -> bytes:
    """The package's tarball, refused unless it matches the pinned checksums (also used for data packages)."""
    response = client.get(asset.url)
    if response.status_code != 200:
        raise AssetError(f"{asset.url}: HTTP {response.status_code}")
    verify(asset, response.content)
    return response.content


def install(asset: NpmAsset, client: httpx.Client) -> int:
    payload = download(asset, client)
    target = VENDOR_DIR / asset.name
    staging = VENDOR_DIR / f".{asset.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = unpack(asset, payload, staging)
    if count == 0:
        raise AssetError(f"{asset.package}@{asset.version}: none of the expected files are in the tarball")
    (staging / asset.marker.name).write_text(f"{asset.package}@{asset.version} sha512-{asset.sha512}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return count


def missing_assets() -> list[NpmAsset]:
    return [asset for asset in ASSETS if not asset.marker.exists()]


def fetch_assets(engine: Engine | None = None) -> str:
    """Setup step: download what is missing (the network is used only then), verify, unpack."""
    todo = missing_assets()
    if not todo:
        return f"{len(ASSETS)} packages already in service/static/vendor"
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    files = 0
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        for asset in todo:
            try:
                files += install(asset, client)
            except httpx.HTTPError as exc:  # offline: say so, setup goes on; a checksum mismatch still raises
                log.warning("could not fetch %s: %s", asset.url, exc)
                missing = ", ".join(a.package for a in missing_assets())
                return f"NOT fetched ({type(exc).__name__}): {missing}; the maps need them, rerun setup online"
            log.info("installed %s@%s", asset.package, asset.version)
    return f"{len(todo)} packages fetched from the npm registry ({files} files), {len(ASSETS) - len(todo)} present"
