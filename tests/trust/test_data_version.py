"""The data version (migration 0009): bumped once at the commit of any change to served data, never by
a rollback or by bookkeeping writes, and without making one writer wait for another."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text

from service import data_version

# tables whose changes never reach a cached response (must match migration 0009's NOT_WATCHED)
NOT_WATCHED = {
    "alembic_version",
    "app_secrets",
    "audit_log",
    "data_version",
    "data_version_pending",
    "layer_loads",
    "screening_zone_parts",
    "screenings",
    "spatial_ref_sys",
    "users",
    "web_sessions",  # migration 0014: a sign-in must not empty every worker's response cache
    "staged_uploads",  # migration 0015: files waiting for their commit are never served
    "evidence_files",  # migration 0018: evidence is served only to signed-in users, never from the cache
    "case_events",  # migration 0019: a case's timeline is shown only on its no-store page
    "case_files",  # migration 0019: files are served only to those who may see the case
    "evaluations",  # migration 0022: made from the data, never changed; served to signed-in users only
    "layer_feature_archive",  # migration 0025: superseded versions, read by nobody's cached response
    "screening_zone_parts_archive",  # migration 0025: read by replays only, which are never cached
    "layer_jobs",  # migration 0025: a background load's progress, polled by its owner, never cached
    "rate_limit_counts",  # migration 0026: counts of requests, not data
    "evaluation_files",  # migration 0022: immutable bytes, sent with their SHA-256 as the ETag
}


def _number(engine: Engine) -> int:
    return int(data_version.current(engine).split("@")[0])


def test_every_served_table_is_watched(engine: Engine) -> None:
    """A table added later without the trigger would serve stale cached responses: this catches it."""
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                )
            ).scalars()
        )
        watched = set(
            conn.execute(
                text("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'data_version_mark'")
            ).scalars()
        )
    assert watched == tables - NOT_WATCHED
    assert {"projects", "progress_reports", "roads", "districts", "layer_catalogue"} <= watched


def test_a_commit_bumps_once_and_a_rollback_not_at_all(engine: Engine) -> None:
    before = _number(engine)
    with engine.begin() as conn:  # three statements on two tables: one bump
        conn.execute(text("UPDATE projects SET title = title WHERE id = (SELECT min(id) FROM projects)"))
        conn.execute(text("UPDATE roads SET name = name WHERE id = (SELECT min(id) FROM roads)"))
        conn.execute(text("UPDATE roads SET name = name WHERE id = (SELECT max(id) FROM roads)"))
    assert _number(engine) == before + 1

    with engine.connect() as conn:
        conn.execute(text("UPDATE projects SET title = title WHERE id = (SELECT min(id) FROM projects)"))
        conn.rollback()
    assert _number(engine) == before + 1

    with engine.begin() as conn:  # bookkeeping only
        conn.execute(text("INSERT INTO audit_log (actor, action, entity) VALUES ('test', 'noop', 'data-version-test')"))
    assert _number(engine) == before + 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM data_version_pending")).scalar_one() == 0


def test_an_open_write_does_not_block_another_writer(engine: Engine) -> None:
    """The version row is locked only at commit, so a long load does not hold up a progress edit."""
    before = _number(engine)
    long_write = engine.connect()
    try:
        long_write.execute(text("UPDATE roads SET name = name WHERE id = (SELECT min(id) FROM roads)"))
        outcome: list[str] = []

        def quick_edit() -> None:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '3s'"))
                conn.execute(text("UPDATE projects SET title = title WHERE id = (SELECT min(id) FROM projects)"))
            outcome.append("committed")

        worker = threading.Thread(target=quick_edit)
        worker.start()
        worker.join(timeout=10)
        assert outcome == ["committed"]
        assert _number(engine) == before + 1  # the quick edit's bump; the open write has not committed
        long_write.commit()
        assert _number(engine) == before + 2
    finally:
        long_write.close()
