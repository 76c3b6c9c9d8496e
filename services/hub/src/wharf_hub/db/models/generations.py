"""Counters that database triggers move (migration 0005), for caches kept in each process."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base

REPOSITORIES = "repositories"
"""Moved by every write to ``repositories`` (but ``pull_count``), ``collaborators`` and ``stars``."""


class Generation(Base):
    __tablename__ = "hub_generations"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
