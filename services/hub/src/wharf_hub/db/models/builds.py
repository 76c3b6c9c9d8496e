"""Automated builds: a repository's source and build rules, and the builds they produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, utcnow
from .repositories import Repository

BUILD_STATES = ("queued", "cloning", "building", "pushing", "success", "failed", "cancelled")
FINAL_STATES = frozenset({"success", "failed", "cancelled"})


class AutomatedBuild(Base):
    """One per automated repository: where its source lives and how builds are triggered."""

    __tablename__ = "automated_builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), unique=True)
    source_url: Mapped[str] = mapped_column(String(500))
    autobuild: Mapped[bool] = mapped_column(Boolean, default=True)
    """Build on a push webhook (the trigger URL and the button build either way)."""
    trigger_token: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(64))
    """Checks GitHub/Gitea signatures and GitLab's token on push webhooks."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    repository: Mapped[Repository] = relationship()
    rules: Mapped[list[BuildRule]] = relationship(cascade="all, delete-orphan", order_by="BuildRule.position")
    links: Mapped[list[BuildLink]] = relationship(cascade="all, delete-orphan", order_by="BuildLink.id")


class BuildLink(Base):
    """A repository link: a push to ``repository`` (the base image, say) rebuilds the automated build."""

    __tablename__ = "build_links"
    __table_args__ = (UniqueConstraint("automated_build_id", "repository_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    automated_build_id: Mapped[int] = mapped_column(
        ForeignKey("automated_builds.id", ondelete="CASCADE"), index=True
    )
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)

    repository: Mapped[Repository] = relationship()


class BuildRule(Base):
    """Which refs build into which tag: branch ``main`` → ``latest``, tag ``/^v.*/`` → ``{sourceref}``."""

    __tablename__ = "build_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    automated_build_id: Mapped[int] = mapped_column(
        ForeignKey("automated_builds.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source_type: Mapped[str] = mapped_column(String(10))
    """``branch`` or ``tag``."""
    source_name: Mapped[str] = mapped_column(String(255))
    """A name, or a regular expression between slashes (``/^v[0-9.]+$/``)."""
    dockerfile: Mapped[str] = mapped_column(String(255), default="Dockerfile")
    context: Mapped[str] = mapped_column(String(255), default="/")
    tag_template: Mapped[str] = mapped_column(String(128), default="latest")
    build_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def is_pattern(self) -> bool:
        """``/regex/`` rather than a branch or tag name: it has no ref of its own to build."""
        return is_pattern(self.source_name)


def is_pattern(source_name: str) -> bool:
    return len(source_name) > 2 and source_name.startswith("/") and source_name.endswith("/")


class Build(Base):
    __tablename__ = "builds"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("build_rules.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    """``webhook``, ``trigger`` (the trigger URL), ``button`` / ``api``, ``link``."""
    source_url: Mapped[str] = mapped_column(String(500))
    source_type: Mapped[str] = mapped_column(String(10))
    source_ref: Mapped[str] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    commit_message: Mapped[str] = mapped_column(Text, default="")
    dockerfile: Mapped[str] = mapped_column(String(255))
    dockerfile_text: Mapped[str] = mapped_column(Text, default="")
    """The Dockerfile as built (shown on the repository page)."""
    context: Mapped[str] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    build_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    image_id: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[str] = mapped_column(Text, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    """Set for pushes (repository, rule and commit), so a redelivered webhook builds once."""
    push_secret_hash: Mapped[str | None] = mapped_column(String(64))
    """sha256 of the push credential issued to the worker for this build alone."""
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    repository: Mapped[Repository] = relationship()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
