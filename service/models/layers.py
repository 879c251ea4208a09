"""One table per layer, each with typed columns and a GiST-indexed EPSG:4326 geometry.

Lines are stored as MultiLineString and areas as MultiPolygon so that authoritative data
(which routinely has multi-part roads and districts with islands) loads without surgery;
see docs/decisions/0002-one-table-per-layer.md.
"""

from __future__ import annotations

from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import Date, Float, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import SRID, Base, FeatureColumns


def geom(kind: str) -> Mapped:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


class District(FeatureColumns, Base):
    __tablename__ = "districts"
    adcode: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    city: Mapped[str] = mapped_column(Text, nullable=False)
    city_adcode: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTIPOLYGON")


class Road(FeatureColumns, Base):
    __tablename__ = "roads"
    district: Mapped[str | None] = mapped_column(Text)
    road_class: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTILINESTRING")


class Stream(FeatureColumns, Base):
    __tablename__ = "streams"
    kind: Mapped[str | None] = mapped_column(Text)  # 江 / 河 / 港
    district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTILINESTRING")


class SewagePlant(FeatureColumns, Base):
    __tablename__ = "sewage_plants"
    phase: Mapped[str | None] = mapped_column(Text)
    capacity_m3_d: Mapped[float | None] = mapped_column(Float)
    district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("POINT")


class GreenHeartZone(FeatureColumns, Base):
    __tablename__ = "green_heart"
    scheme: Mapped[str] = mapped_column(Text, nullable=False)  # e.g. 2010-2030 / 2024
    subzone: Mapped[str] = mapped_column(Text, nullable=False)  # 禁止开发区 ... 核心保护区 ...
    subzone_en: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    regulation: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTIPOLYGON")


class QingshuitangArea(FeatureColumns, Base):
    __tablename__ = "qingshuitang"
    kind: Mapped[str | None] = mapped_column(Text)  # zone / subarea
    parent: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTIPOLYGON")


class DemoZone(FeatureColumns, Base):
    __tablename__ = "demo_zones"
    kind: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("MULTIPOLYGON")


class Site(FeatureColumns, Base):
    __tablename__ = "sites"
    kind: Mapped[str | None] = mapped_column(Text)  # park / lake / bridge / station / hill / area ...
    district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object] = geom("GEOMETRY")


LAYER_MODELS: dict[str, type[FeatureColumns]] = {
    m.__tablename__: m  # type: ignore[attr-defined]
    for m in (District, Road, Stream, SewagePlant, GreenHeartZone, QingshuitangArea, DemoZone, Site)
}
