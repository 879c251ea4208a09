"""``data_version``: one number bumped at the commit of any change to served data (migration 0009).

Cached responses are keyed by it; ``data_version_pending`` holds, for a moment, the transactions
that are about to bump it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base


class DataVersion(Base):
    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("singleton", name="data_version_one_row"),)

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class DataVersionPending(Base):
    __tablename__ = "data_version_pending"

    txid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
