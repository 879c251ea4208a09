"""``rate_limit_counts``: requests counted per client key and fixed window (migration 0026, decision 0320).

UNLOGGED in the database (the migration says so; autogenerate does not compare it): the counts need not
survive a crash and are not replicated to standbys.  Written only by ``service/rate_counter.py``.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, PrimaryKeyConstraint, Table, Text

from service.models.base import Base

rate_limit_counts = Table(
    "rate_limit_counts",
    Base.metadata,
    Column("key", Text, nullable=False),  # "<window seconds>s/<amount>/<group>/<client>", service/rate_counter.py
    Column("window_start", DateTime(timezone=True), nullable=False),  # a multiple of the window since the epoch
    Column("hits", Integer, nullable=False),  # requests counted (never the refused ones)
    PrimaryKeyConstraint("key", "window_start"),
    prefixes=["UNLOGGED"],
)
