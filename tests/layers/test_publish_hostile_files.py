"""Odd and hostile files sent to the layer preview and publish: a clear 4xx (or a publish), never a 500."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.layers.published_kit import drop_published


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _fc(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def _pt(coords: list, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": coords}}


FILES = {
    "empty.geojson": b"",
    "broken.geojson": b'{"type": "FeatureCollection", "features": [',
    "nothing.geojson": _fc(),
    "huge.geojson": _fc(_pt([1e308, 1e308], n=1)),
    "lonlat-swapped.geojson": _fc(_pt([28.2, 112.9], n=1), _pt([28.3, 113.0], n=2)),
    "3d.geojson": _fc(_pt([112.9, 28.2, 55.0], n=1)),
    "no-coords.csv": "编号,名称\nA,一\n".encode(),
    "only-dbf.zip": _zip({"x.dbf": b"\x03" + b"\x00" * 40}),
    "empty.zip": _zip({}),
    "entities.kml": (
        b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
        b"<Point><coordinates>112.9,28.2</coordinates></Point></Placemark></kml>"
    ),
    "mixed.geojson": _fc(
        _pt([112.9, 28.2], n=1),
        {
            "type": "Feature",
            "properties": {"n": 2},
            "geometry": {"type": "LineString", "coordinates": [[112.9, 28.2], [113.0, 28.3]]},
        },
    ),
    "long-names.geojson": _fc(_pt([112.9, 28.2], **{"很长的字段名" * 8: 1, "名称": "a", "名称 ": "b", "名 称": "c"})),
    "many-fields.geojson": _fc(_pt([112.9, 28.2], **{f"f{i}": i for i in range(600)})),
    "path-name../../etc/passwd.geojson": _fc(_pt([112.9, 28.2], n=1)),
    "wkt.csv": 'WKT,名称\n"POLYGON((112.9 28.2,113.0 28.2,113.0 28.3,112.9 28.2))",三角地\n'.encode(),
    "gbk-no-cpg.csv": "编号,名称,经度,纬度\nA1,岳麓山,112.93,28.19\n".encode("gbk"),
}
MUST_PUBLISH = {"wkt.csv", "gbk-no-cpg.csv", "3d.geojson", "mixed.geojson", "long-names.geojson"}


@pytest.fixture
def layer_id(owner_engine: Engine) -> Iterator[str]:
    name = f"odd_{uuid.uuid4().hex[:8]}"
    yield name
    drop_published(owner_engine, name)


@pytest.mark.parametrize("name", sorted(FILES))
def test_an_odd_file_is_a_4xx_or_publishes(client, auth, layer_id: str, name: str) -> None:  # type: ignore[no-untyped-def]
    up = client.post("/layers/uploads", files={"file": (name, FILES[name])}, headers=auth["gis"])
    assert up.status_code < 500, up.text
    if up.status_code >= 400:
        assert name not in MUST_PUBLISH, up.text
        assert up.json()["detail"], up.text
        assert "/etc/passwd" not in up.text or name.startswith("path-name")
        return
    body = {"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": "奇怪的文件", "crs": "EPSG:4326"}
    published = client.post("/layers", json=body, headers=auth["gis"])
    assert published.status_code < 500, published.text
    if published.status_code >= 400:
        assert name not in MUST_PUBLISH, published.text
        assert published.json()["detail"]
    else:
        items = client.get(f"/collections/{layer_id}/items")
        assert items.status_code == 200 and items.json()["features"]
        assert "root:" not in items.text  # no external entity was ever read
