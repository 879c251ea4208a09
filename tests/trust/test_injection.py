"""Hostile query parameters never reach SQL unescaped.

A list of injection attempts is thrown at every user-controlled parameter of the read API (OGC items,
CQL2 text and JSON, sortby, properties, bbox, datetime, crs, property equality, ids, the project
register and the stats).  Each answer must be a 2xx or a 4xx problem, never a 5xx; afterwards a canary
table still exists, every table holds the rows it held before, and no statement slept.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

PAYLOADS = [
    "'; DROP TABLE injection_canary; --",
    "1; DELETE FROM roads",
    "name) OR 1=1 --",
    '" OR ""="',
    "1 OR pg_sleep(2) IS NOT NULL",
    "'||(SELECT pg_sleep(2))||'",
    "name; UPDATE projects SET title = 'pwned'",
    "$$; DROP TABLE injection_canary; $$",
    "%' UNION SELECT usename, passwd FROM pg_shadow --",
    "-id,(SELECT 1)",
    "\\x00\u0000",
    "株冶路' AND '1'='1",
]

CQL_TEXT = [
    "name = '{p}'",
    "{p} = 1",
    "name LIKE '{p}'",
    "S_INTERSECTS(geometry, POINT({p}))",
]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('audit_log', 'screenings', 'spatial_ref_sys')"
                )
            )
            .scalars()
            .all()
        )
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


@pytest.fixture
def canary(engine: Engine, owner_engine: Engine):  # type: ignore[no-untyped-def]
    # made by the owner: the service's own role may not create tables (tests/security)
    with owner_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS injection_canary (x int)"))
        conn.execute(text("INSERT INTO injection_canary VALUES (1)"))
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS injection_canary"))


def _requests() -> list[tuple[str, dict[str, str]]]:
    reqs: list[tuple[str, dict[str, str]]] = []
    for p in PAYLOADS:
        for collection in ("roads", "projects"):
            items = f"/collections/{collection}/items"
            reqs += [(items, {"filter": tpl.format(p=p), "filter-lang": "cql2-text"}) for tpl in CQL_TEXT]
            reqs += [
                (
                    items,
                    {"filter": json.dumps({"op": "=", "args": [{"property": "name"}, p]}), "filter-lang": "cql2-json"},
                ),
                (items, {"filter": json.dumps({"op": "=", "args": [{"property": p}, 1]}), "filter-lang": "cql2-json"}),
                (items, {"sortby": p}),
                (items, {"properties": p}),
                (items, {"bbox": p}),
                (items, {"bbox": f"113,27,114,{p}"}),
                (items, {"datetime": p}),
                (items, {"crs": p}),
                (items, {"bbox-crs": p, "bbox": "113,27,114,28"}),
                (items, {"name": p}),
                (items, {"limit": p}),
                (items, {"offset": p}),
                (f"{items}/{quote(p, safe='')}", {}),
                (
                    f"/collections/{collection}/download.csv",
                    {"filter": tpl.format(p=p) if (tpl := CQL_TEXT[0]) else ""},
                ),
            ]
        reqs += [
            (f"/collections/{quote(p, safe='')}/items", {}),
            ("/projects", {"q": p}),
            ("/projects", {"plan": p, "category": p, "lead_unit": p, "district": p, "status": p}),
            ("/stats", {"by": p}),
            ("/stats", {"by": "district", "category": p, "lead_unit": p}),
        ]
    return reqs


def test_injection_attempts_are_answered_safely_and_change_nothing(client, engine: Engine, canary) -> None:  # type: ignore[no-untyped-def]
    before = _counts(engine)
    slow: list[str] = []
    failures: list[str] = []
    for path, params in _requests():
        started = time.monotonic()
        r = client.get(path, params=params)
        if time.monotonic() - started > 1.5:  # pg_sleep(2) must never run
            slow.append(f"{path} {params}")
        if r.status_code >= 500:
            failures.append(f"{r.status_code} {path} {params}: {r.text[:200]}")
        elif r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), (path, params)
        assert (
            "pg_shadow" not in r.text or r.status_code >= 400 or "pg_shadow" in json.dumps(params, ensure_ascii=False)
        )
    assert not failures, "\n".join(failures)
    assert not slow, slow
    after = _counts(engine)
    assert after == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM injection_canary")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM projects WHERE title = 'pwned'")).scalar_one() == 0
