"""Web assets: pinned npm tarballs verified by sha512 and sha1, unpacked safely, served from /static/vendor."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from service.assets import ASSETS, AssetError, NpmAsset, fetch_assets, unpack, verify
from service.common.web_maps import ExternalAssetError, localise


def test_every_asset_is_installed_and_a_second_run_needs_no_network(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import httpx

    def no_network(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a second run must not touch the network")

    monkeypatch.setattr(httpx, "Client", no_network)
    assert "already in service/static/vendor" in fetch_assets(engine)


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/vendor/fontawesome/webfonts/fa-solid-900.woff2",
        "/static/vendor/leaflet/images/layers.png",
    ],
)
def test_vendor_files_are_served(client, path: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 200 and len(r.content) > 100


def test_a_tampered_tarball_is_refused() -> None:
    leaflet = next(a for a in ASSETS if a.name == "leaflet")
    with pytest.raises(AssetError, match="sha512 mismatch"):
        verify(leaflet, b"not the leaflet tarball")


def _tarball(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = 3
        archive.addfile(info, io.BytesIO(b"bad"))
    return buffer.getvalue()


def test_unpack_refuses_paths_leaving_the_target(tmp_path: Path) -> None:
    asset = NpmAsset("x", "x", "1.0.0", "", "", (("package/dist/", ""),))
    with pytest.raises(AssetError, match="unsafe path"):
        unpack(asset, _tarball("package/dist/../../../../escape.js"), tmp_path / "x")
    assert not (tmp_path / "escape.js").exists()


def test_localise_rewrites_cdn_links_and_refuses_unknown_ones() -> None:
    page = (
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
        '<link rel="stylesheet" href="https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css"/>'
    )
    assert localise(page) == '<script src="/static/vendor/leaflet/leaflet.js"></script>'
    with pytest.raises(ExternalAssetError, match="unpkg"):
        localise('<script src="https://unpkg.com/something.js"></script>')
