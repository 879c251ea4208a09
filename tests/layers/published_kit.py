"""Test helpers for published layers: remove one completely (as the owner; the service role cannot)."""

from __future__ import annotations

from sqlalchemy import Engine, text


def drop_published(owner_engine: Engine, layer_id: str) -> None:
    """Everything a publish left: the table, its catalogue row, versions, archives, rules and zone parts."""
    with owner_engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{layer_id}"'))
        for table in (
            "layer_versions",
            "layer_rules",
            "layer_feature_archive",
            "screening_zone_parts_archive",
            "screening_zone_parts",
            "layer_jobs",
        ):
            conn.execute(text(f"DELETE FROM {table} WHERE layer = :l"), {"l": layer_id})
        conn.execute(text("DELETE FROM layer_catalogue WHERE id = :l"), {"l": layer_id})
