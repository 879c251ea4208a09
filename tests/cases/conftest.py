"""Fixtures of the case register's tests: accounts per role (two inspectors, editors of two units, a viewer),
a point inside the 绿心 core zone from the bundled layer, and photos made with Pillow."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text


@dataclass(frozen=True)
class CaseWorld:
    headers: dict[str, dict[str, str]]  # account key: Authorization header
    names: dict[str, str]
    unit_a: int
    unit_b: int
    unit_a_name: str
    core: tuple[float, float]  # lon, lat inside the Green Heart core (核心保护区 / 禁止开发区)
    core_subzone: str


ACCOUNTS = {
    "inspector": ("case-insp-a", "inspector"),
    "inspector2": ("case-insp-b", "inspector"),
    "coordinator": ("case-coord", "coordinator"),
    "editor": ("case-editor-a", "editor"),
    "other_editor": ("case-editor-b", "editor"),
    "viewer": ("case-viewer", "viewer"),
}


@pytest.fixture(scope="session")
def world(engine: Engine) -> CaseWorld:
    from service.database import session_scope
    from service.security import create_user
    from service.units import usecases as units

    headers, names = {}, {}
    with session_scope() as session:
        for key, (name, role) in ACCOUNTS.items():
            headers[key] = {"Authorization": f"Bearer {create_user(session, name, role)}"}
            names[key] = name
        session.commit()
    with session_scope() as session:
        unit_a = units.find_unit_id(session, "株洲市石峰区人民政府")
        unit_b = units.find_unit_id(session, "株洲市芦淞区人民政府")
        units.assign_user(session, "test", names["editor"], unit_a)
    with session_scope() as session:
        units.assign_user(session, "test", names["other_editor"], unit_b)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p), subzone FROM (SELECT ST_PointOnSurface(geom) AS p, subzone FROM"
                " screening_zone_parts WHERE layer = 'green_heart' AND subzone IN ('核心保护区', '禁止开发区')"
                " AND (valid_to IS NULL OR valid_to > CURRENT_DATE) ORDER BY ST_Area(geom) DESC LIMIT 1) s"
            )
        ).one()
        name_a = conn.execute(text("SELECT name FROM units WHERE id = :id"), {"id": unit_a}).scalar_one()
    return CaseWorld(headers, names, unit_a, unit_b, name_a, (float(row[0]), float(row[1])), row[2])


def jpeg(
    *, gps: tuple[float, float] | None = None, taken: str | None = None, size: tuple[int, int] = (64, 48)
) -> bytes:
    """A real JPEG; with ``gps`` (lon, lat) and ``taken`` ('2026:03:01 10:20:30') in its EXIF."""
    from PIL import Image

    image = Image.new("RGB", size, (20, 120, 40))
    exif = image.getexif()
    if gps is not None:
        lon, lat = gps

        def dms(v: float) -> tuple[float, float, float]:
            d = int(abs(v))
            m = int((abs(v) - d) * 60)
            return float(d), float(m), round((abs(v) - d - m / 60) * 3600, 4)

        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
    if taken is not None:
        exif.get_ifd(0x8769)[36867] = taken
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
