"""Image repositories and what hangs off them: tags, pushed images, collaborators, stars."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, utcnow
from .accounts import User

LIBRARY = "library"
"""The root namespace: official images, ``busybox`` is ``library/busybox``."""


class Repository(Base):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(String(100), default="")
    full_description: Mapped[str] = mapped_column(Text, default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_unlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_official: Mapped[bool] = mapped_column(Boolean, default=False)
    is_automated: Mapped[bool] = mapped_column(Boolean, default=False)
    pull_count: Mapped[int] = mapped_column(Integer, default=0)
    star_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", order_by="Tag.name")

    @property
    def full_name(self) -> str:
        """``alice/web``; official images by their short name (``busybox``)."""
        return self.name if self.namespace == LIBRARY else f"{self.namespace}/{self.name}"

    @property
    def remote(self) -> str:
        """The registry path: ``library/busybox``, ``alice/web``."""
        return f"{self.namespace}/{self.name}"


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("repository_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    image_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str | None] = mapped_column(String(71), default=None)
    """The manifest's ``sha256:…`` after a v2 push (None for a tag pushed over v1)."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    pushed_at: Mapped[datetime] = mapped_column(default=utcnow)
    pusher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RepositoryImage(Base):
    """The v1 image list (``PUT /v1/repositories/<name>/images``): ids with checksums, only added."""

    __tablename__ = "repository_images"
    __table_args__ = (UniqueConstraint("repository_id", "image_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    image_id: Mapped[str] = mapped_column(String(64))
    checksum: Mapped[str] = mapped_column(String(100), default="")


class Collaborator(Base):
    __tablename__ = "collaborators"
    __table_args__ = (UniqueConstraint("repository_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class Star(Base):
    __tablename__ = "stars"
    __table_args__ = (UniqueConstraint("user_id", "repository_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
