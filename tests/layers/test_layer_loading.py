"""Loading and replacing layers from real files made here: every format, CRS handling, repair, rollback.

Domain-level loads run inside a transaction that is rolled back at the end, so the shared test
database keeps exactly the bundled layers; the CLI and HTTP tests commit and clean up after themselves.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli.main import app as cli
from service.common.chinese_crs import wgs84_to_bd09, wgs84_to_gcj02
from service.database import session_scope
from service.errors import Problem
from service.layers.files import LayerFileError
from service.layers.loader import load_layer_file
from service.layers.mapping import RowError

STATION = (113.1517, 27.8381)  # 株洲火车站, WGS84
PREFIX = "测试"


@pytest.fixture
def conn(rolled_back_session: Session) -> Session:
    return rolled_back_session


def load(conn: Session, layer: str, path: Path, **options: object):  # type: ignore[no-untyped-def]
    return load_layer_file(conn, layer, path, actor="test", kind="cli", **options)  # type: ignore[arg-type]


def roads_frame(crs: int | None = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": [f"{PREFIX}一路", f"{PREFIX}二路"], "等级": ["主干路", "次干路"], "别名": ["一路;甲路", ""]},
        geometry=[LineString([(113.10, 27.86), (113.12, 27.87)]), LineString([(113.13, 27.85), (113.14, 27.86)])],
        crs=crs,
    )


def feature(conn: Connection | Session, layer: str, name: str) -> dict:
    row = (
        conn.execute(
            text(
                "SELECT *, ST_AsText(geom) AS wkt, ST_X(ST_PointOnSurface(geom)) AS x, "
                f"ST_Y(ST_PointOnSurface(geom)) AS y FROM {layer} WHERE name = :n"
            ),
            {"n": name},
        )
        .mappings()
        .one()
    )
    return dict(row)


def test_geojson_upserts_by_key_and_a_second_load_changes_nothing(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "roads.geojson"
    roads_frame().to_file(path, driver="GeoJSON")
    first = load(conn, "roads", path, source="测绘院 2024")
    assert (first.inserted, first.updated, first.rows) == (2, 0, 2)
    road = feature(conn, "roads", f"{PREFIX}一路")
    assert road["road_class"] == "主干路" and road["aliases"] == ["一路", "甲路"] and road["source"] == "测绘院 2024"
    assert road["wkt"].startswith("MULTILINESTRING") and road["key"] == f"{PREFIX}一路"
    second = load(conn, "roads", path, source="测绘院 2024")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)


def test_geopackage_with_its_own_crs_is_reprojected(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "plants.gpkg"
    frame = gpd.GeoDataFrame(
        {"name": [f"{PREFIX}污水处理厂"], "phase": ["一期"], "capacity": ["50000"]},
        geometry=[Point(STATION)],
        crs=4326,
    ).to_crs(4547)
    pyogrio.write_dataframe(frame, path, layer="plants", driver="GPKG")
    report = load(conn, "sewage_plants", path)
    plant = feature(conn, "sewage_plants", f"{PREFIX}污水处理厂")
    assert report.source_crs == "EPSG:4547"
    assert plant["capacity_m3_d"] == 50000.0 and plant["phase"] == "一期"
    assert (plant["x"], plant["y"]) == pytest.approx(STATION, abs=1e-7)


def write_zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path, name: str, **options: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{name}.shp", **options)  # type: ignore[arg-type]
    archive = folder.parent / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in folder.iterdir():
            out.write(part, part.name)
    return archive


def test_gbk_shapefile_with_chinese_names(conn: Session, tmp_path: Path) -> None:
    archive = write_zipped_shapefile(roads_frame(), tmp_path / "shp", "道路", encoding="GBK")
    with zipfile.ZipFile(archive) as z:
        assert z.read("道路.cpg").decode().strip() == "GBK"
        assert f"{PREFIX}一路".encode("gbk") in z.read("道路.dbf")  # really GBK bytes on disk
    report = load(conn, "roads", archive)
    assert report.rows == 2
    assert feature(conn, "roads", f"{PREFIX}二路")["road_class"] == "次干路"


def test_kml(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "sites.kml"
    frame = gpd.GeoDataFrame({"名称": [f"{PREFIX}公园"], "kind": ["park"]}, geometry=[Point(STATION)], crs=4326)
    pyogrio.write_dataframe(frame, path, driver="KML")
    load(conn, "sites", path)
    site = feature(conn, "sites", f"{PREFIX}公园")
    assert site["kind"] == "park" and (site["x"], site["y"]) == pytest.approx(STATION, abs=1e-7)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_file_without_crs_is_refused_unless_told(conn: Session, tmp_path: Path) -> None:
    frame = roads_frame().to_crs(4547).set_crs(None, allow_override=True)
    archive = write_zipped_shapefile(frame, tmp_path / "noprj", "roads_noprj")
    with zipfile.ZipFile(archive) as z:
        assert not any(n.endswith(".prj") for n in z.namelist())
    with pytest.raises(LayerFileError, match="no coordinate reference system") as refused:
        load(conn, "roads", archive)
    assert refused.value.status == 400
    load(conn, "roads", archive, crs="EPSG:4547")
    road = feature(conn, "roads", f"{PREFIX}一路")
    assert 113.09 < road["x"] < 113.13 and 27.85 < road["y"] < 27.88


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_gcj02_and_bd09_files_land_on_the_true_position(conn: Session, tmp_path: Path, crs, forward) -> None:  # type: ignore[no-untyped-def]
    shifted = forward(*STATION)
    path = tmp_path / f"{crs}.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": f"{PREFIX}{crs}站", "kind": "station"},
                        "geometry": {"type": "Point", "coordinates": list(shifted)},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    report = load(conn, "sites", path, crs=crs)
    error_m = conn.execute(
        text(
            "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_Point(:x, :y), 4326)::geography) "
            "FROM sites WHERE name = :n"
        ),
        {"x": STATION[0], "y": STATION[1], "n": f"{PREFIX}{crs}站"},
    ).scalar_one()
    assert report.source_crs.startswith({"gcj02": "GCJ-02", "bd09": "BD-09"}[crs])
    assert error_m < 0.01  # the offset (hundreds of metres) is gone to the centimetre


def test_broken_polygon_is_repaired_and_reported(conn: Session, tmp_path: Path) -> None:
    bowtie = Polygon([(113.00, 27.90), (113.02, 27.92), (113.02, 27.90), (113.00, 27.92), (113.00, 27.90)])
    assert not bowtie.is_valid
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"name": [f"{PREFIX}片区"], "kind": ["测试"]}, geometry=[bowtie], crs=4326).to_file(path)
    report = load(conn, "demo_zones", path)
    assert len(report.repairs) == 1
    assert report.repairs[0]["row"] == 1 and "Self-intersection" in report.repairs[0]["reason"]
    zone = feature(conn, "demo_zones", f"{PREFIX}片区")
    assert zone["wkt"].startswith("MULTIPOLYGON")
    assert conn.execute(text("SELECT ST_IsValid(geom) FROM demo_zones WHERE name = :n"), {"n": zone["name"]}).scalar()


def table_state(conn: Connection | Session, layer: str) -> tuple:
    return tuple(
        conn.execute(
            text(
                "SELECT count(*), md5(string_agg(key || name || md5(ST_AsBinary(geom)), ',' ORDER BY key)) "
                f"FROM {layer}"
            )
        ).one()
    )


def test_a_load_failing_halfway_leaves_the_table_untouched(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"name": f"{PREFIX}一区", "subzone": "核心保护区", "scheme": "2024", "valid_from": "2024-09-01"},
        {"name": f"{PREFIX}二区", "subzone": "融合发展区", "scheme": "2024", "valid_from": "2024-09-01"},
        {"name": f"{PREFIX}三区", "subzone": "融合发展区", "scheme": "2024", "valid_from": "九月"},
    ]
    square = Polygon([(113.0, 27.9), (113.01, 27.9), (113.01, 27.91), (113.0, 27.91)])
    path = tmp_path / "gh.geojson"
    gpd.GeoDataFrame(rows, geometry=[square] * 3, crs=4326).to_file(path)
    with engine.connect() as conn:
        before = table_state(conn, "green_heart")
    with pytest.raises(RowError) as failed, session_scope(engine) as session:
        load(session, "green_heart", path, replace=True)
    assert failed.value.extra["row"] == 3 and failed.value.extra["column"] == "valid_from"
    assert "row 3" in failed.value.detail and "九月" in failed.value.detail
    with engine.connect() as conn:
        assert table_state(conn, "green_heart") == before


def test_a_failing_geometry_names_its_row(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "mixed.geojson"
    frame = gpd.GeoDataFrame(
        {"name": [f"{PREFIX}甲", f"{PREFIX}乙"]},
        geometry=[Polygon([(113, 27.9), (113.01, 27.9), (113.01, 27.91)]), Point(113, 27.9)],
        crs=4326,
    )
    frame.to_file(path)
    with pytest.raises(RowError, match="row 2") as failed:
        load(conn, "demo_zones", path)
    assert "Point" in failed.value.detail


def test_attribute_mapping_and_missing_required_column(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "districts.geojson"
    square = Polygon([(113.0, 27.9), (113.01, 27.9), (113.01, 27.91), (113.0, 27.91)])
    gpd.GeoDataFrame({"XZQMC": [f"{PREFIX}区"], "PAC": ["156430299"]}, geometry=[square], crs=4326).to_file(path)
    report = load(conn, "districts", path, mapping={"XZQMC": "name"})
    district = feature(conn, "districts", f"{PREFIX}区")
    assert report.inserted == 1
    assert (district["adcode"], district["city"], district["key"]) == ("430299", "株洲市", "430299")
    gpd.GeoDataFrame({"PAC": ["430298"]}, geometry=[square], crs=4326).to_file(tmp_path / "noname.geojson")
    with pytest.raises(RowError, match=r"row 1.*column name.*required"):
        load(conn, "districts", tmp_path / "noname.geojson")


def test_unsupported_and_unreadable_files(conn: Session, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(LayerFileError) as unsupported:
        load(conn, "roads", tmp_path / "notes.txt")
    assert unsupported.value.status == 415
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerFileError) as unreadable:
        load(conn, "roads", tmp_path / "broken.geojson")
    assert unreadable.value.status == 422


def test_replace_removes_features_the_file_does_not_have(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "roads.geojson"
    roads_frame().to_file(path)
    with pytest.raises(Problem) as unconfirmed:  # a replace that removes says how many, and waits for that number
        load(conn, "roads", path, replace=True)
    assert unconfirmed.value.status == 409 and unconfirmed.value.extra["would_remove"] > 20
    count = unconfirmed.value.extra["would_remove"]
    report = load(conn, "roads", path, replace=True, confirm_remove=count, orphan_projects=True)
    names = set(conn.execute(text("SELECT name FROM roads")).scalars())
    assert names == {f"{PREFIX}一路", f"{PREFIX}二路"} and report.deleted == count


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        for layer in ("roads", "sites"):
            conn.execute(text(f"DELETE FROM {layer} WHERE name LIKE :p"), {"p": f"{PREFIX}%"})


def test_cli_loads_with_a_progress_bar_and_reports(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    path = tmp_path / "roads.geojson"
    roads_frame().to_file(path)
    result = CliRunner().invoke(
        cli, ["layers", "load", "roads", str(path), "--source", "测绘院", "--map", "等级=road_class"]
    )
    assert result.exit_code == 0, result.output
    assert "roads: 2 rows, 2 new" in result.output
    with engine.connect() as conn:
        assert feature(conn, "roads", f"{PREFIX}一路")["source"] == "测绘院"
        audit = conn.execute(
            text("SELECT actor, action FROM audit_log WHERE entity = 'layer:roads' ORDER BY id DESC")
        ).first()
    assert tuple(audit) == ("cli", "load")


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_cli_refuses_a_file_without_crs(tmp_path: Path) -> None:
    archive = write_zipped_shapefile(roads_frame().set_crs(None, allow_override=True), tmp_path / "n", "n")
    result = CliRunner().invoke(cli, ["layers", "load", "roads", str(archive)])
    assert result.exit_code == 2
    assert "no coordinate reference system" in result.output and "nothing loaded" in result.output


def test_bundled_data_never_overwrites_a_verified_feature(conn: Session) -> None:
    from service.settings import PROJECT_ROOT

    conn.execute(
        text(
            "UPDATE districts SET verified = true, source = '测绘院', "
            "geom = ST_Multi(ST_Buffer(ST_Centroid(geom), 0.01)) "
            "WHERE adcode = '430204'"
        )
    )
    bundled = PROJECT_ROOT / "geodata" / "layers" / "districts.geojson"
    report = load_layer_file(conn, "districts", bundled, actor="setup", kind="bundled", previous_keys={"430204"})
    assert report.skipped_verified == ["430204"] and report.deleted == 0
    assert conn.execute(text("SELECT source FROM districts WHERE adcode = '430204'")).scalar_one() == "测绘院"


def test_a_single_point_multipoint_goes_into_a_point_layer(conn: Session, tmp_path: Path) -> None:
    from shapely.geometry import MultiPoint

    path = tmp_path / "plants.gpkg"
    frame = gpd.GeoDataFrame({"name": [f"{PREFIX}厂"]}, geometry=[MultiPoint([STATION])], crs=4326)
    frame.to_file(path, driver="GPKG")
    load(conn, "sewage_plants", path)
    assert feature(conn, "sewage_plants", f"{PREFIX}厂")["wkt"].startswith("POINT")


def test_cli_lists_the_layers(engine: Engine) -> None:
    result = CliRunner().invoke(cli, ["layers", "list"])
    assert result.exit_code == 0, result.output
    assert "green_heart" in result.output and "districts" in result.output and "bundled" in result.output


def test_gbk_shapefile_without_cpg_needs_its_encoding(conn: Session, tmp_path: Path) -> None:
    folder = tmp_path / "nocpg"
    folder.mkdir()
    pyogrio.write_dataframe(roads_frame(), folder / "roads.shp", encoding="GBK")
    (folder / "roads.cpg").unlink()
    archive = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in folder.iterdir():
            out.write(part, part.name)
    load(conn, "roads", archive, encoding="GBK")
    assert feature(conn, "roads", f"{PREFIX}一路")["road_class"] == "主干路"


def test_metres_labelled_as_degrees_are_caught(conn: Session, tmp_path: Path) -> None:
    path = tmp_path / "mislabelled.gpkg"
    roads_frame().to_crs(4547).set_crs(4326, allow_override=True).to_file(path, driver="GPKG")
    with pytest.raises(LayerFileError, match="outside longitude/latitude") as wrong:
        load(conn, "roads", path)
    assert wrong.value.extra["parameter"] == "crs"
    load(conn, "roads", path, crs="EPSG:4547")
    assert 113.09 < feature(conn, "roads", f"{PREFIX}一路")["x"] < 113.13
