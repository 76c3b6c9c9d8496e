"""Repositories, their tags, collaborators and stars."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ...db.models import Collaborator, Repository, Tag
from ...services.access import Role
from .common import Input


class RepositoryCreate(Input):
    namespace: str = Field(
        description="Your username, an organisation you belong to, or `library` (administrators).",
        examples=["alice"],
    )
    name: str = Field(description="Lowercase letters, digits, `-`, `_` and `.`.", examples=["web"])
    description: str = Field("", description="At most 100 characters.")
    full_description: str = Field("", description="Markdown, at most 25,000 characters.")
    is_private: bool = False


class RepositoryUpdate(Input):
    """Only the fields given change; null leaves a field alone."""

    description: str | None = None
    full_description: str | None = None
    is_private: bool | None = None
    is_unlisted: bool | None = Field(None, description="Hidden from search, still pullable.")
    is_official: bool | None = Field(None, description="Administrators only.")


class Permissions(BaseModel):
    """What the caller may do: pull, push, change settings and collaborators."""

    read: bool
    write: bool
    admin: bool

    @classmethod
    def of(cls, role: int) -> Permissions:
        return cls(read=role >= Role.READER, write=role >= Role.WRITER, admin=role >= Role.ADMIN)


class RepositorySummary(BaseModel):
    """A repository in a list or search results."""

    namespace: str = Field(examples=["alice"])
    name: str = Field(examples=["web"])
    full_name: str = Field(description="`namespace/name`; official images by `name` alone.")
    description: str
    is_private: bool
    is_official: bool
    star_count: int
    pull_count: int
    last_updated: datetime

    @classmethod
    def of(cls, repo: Repository) -> RepositorySummary:
        return cls(
            namespace=repo.namespace,
            name=repo.name,
            full_name=repo.full_name,
            description=repo.description,
            is_private=repo.is_private,
            is_official=repo.is_official,
            star_count=repo.star_count,
            pull_count=repo.pull_count,
            last_updated=repo.updated_at,
        )


class RepositoryDetail(RepositorySummary):
    """A repository with everything about it, and what the caller may do with it."""

    full_description: str
    is_unlisted: bool
    date_created: datetime
    permissions: Permissions

    @classmethod
    def with_role(cls, repo: Repository, role: int) -> RepositoryDetail:
        return cls(
            **RepositorySummary.of(repo).model_dump(),
            full_description=repo.full_description,
            is_unlisted=repo.is_unlisted,
            date_created=repo.created_at,
            permissions=Permissions.of(role),
        )


class TagInfo(BaseModel):
    name: str = Field(examples=["latest"])
    image_id: str = Field(description="The image id (64 hex digits: the v1 id, or the config digest).")
    digest: str | None = Field(
        default=None, description="The manifest digest (``sha256:...``) of a tag pushed over v2."
    )
    size: int = Field(description="Bytes of every layer of the image, as stored.")
    last_pushed: datetime

    @classmethod
    def of(cls, tag: Tag) -> TagInfo:
        return cls(
            name=tag.name, image_id=tag.image_id, digest=tag.digest, size=tag.size, last_pushed=tag.pushed_at
        )


class CollaboratorAdd(Input):
    username: str = Field(examples=["bob"], max_length=100)


class CollaboratorInfo(BaseModel):
    """Someone who may push to the repository (but not change its settings)."""

    username: str
    date_added: datetime

    @classmethod
    def of(cls, collaborator: Collaborator) -> CollaboratorInfo:
        return cls(username=collaborator.user.username, date_added=collaborator.created_at)


class StarStatus(BaseModel):
    starred: bool = Field(description="Whether the caller has starred the repository.")
    star_count: int

    @classmethod
    def of(cls, repo: Repository, starred: bool) -> StarStatus:
        return cls(starred=starred, star_count=repo.star_count)


__all__ = [
    "CollaboratorAdd",
    "CollaboratorInfo",
    "Permissions",
    "RepositoryCreate",
    "RepositoryDetail",
    "RepositorySummary",
    "RepositoryUpdate",
    "StarStatus",
    "TagInfo",
]
