"""The data version (migration 0009): one number that changes at the commit of any change to served data.

Read it *before* the data a response is built from: a response cached under version v then holds
data at least as new as v, never older (docs/decisions/0083-responses-cached-by-data-version.md).
"""

from __future__ import annotations

from sqlalchemy import Engine

from service.database import read_one

# the time of the bump makes the pair unique even across a database recreated from scratch
VERSION_SQL = "SELECT version::text || '@' || extract(epoch FROM changed_at)::text FROM data_version"


def current(engine: Engine | None = None) -> str:
    """The current data version; one single-row read."""
    row = read_one(VERSION_SQL, engine=engine)
    if row is None:
        raise RuntimeError("data_version is empty: run `xiangmap db upgrade`")
    return str(row[0])
