"""The JSON a webhook receives: Docker Hub's push payload (protocols.md B), numbers as floats.

The chain keeps the payload with an empty ``callback_url``; each delivery fills in the URL of
its own step (:func:`with_callback`), so no callback secret is ever stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..db.base import utcnow
from ..db.models import Repository, User
from ..db.models.repositories import LIBRARY

SAMPLE_IMAGE = "0" * 64


class PushData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pushed_at: float
    pusher: str
    tag: str
    images: list[str]


class RepositoryData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_name: str
    name: str
    namespace: str
    owner: str
    is_private: bool
    is_official: bool
    is_trusted: bool
    star_count: int
    description: str
    full_description: str
    comment_count: int = 0
    repo_url: str
    date_created: float
    status: str = "Active"
    dockerfile: str = ""


class PushPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str
    push_data: PushData
    repository: RepositoryData


class BuildData(BaseModel):
    """An automated build's event (Docker Hub had no build payload: this follows the push one)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    status: str
    trigger: str
    source_type: str
    source_ref: str
    commit: str | None
    tags: list[str]
    image_id: str | None
    error: str | None
    build_url: str
    created_at: float
    finished_at: float | None


class BuildPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str = ""
    build_data: BuildData
    repository: RepositoryData


def repo_url(hub_url: str, repo: Repository) -> str:
    """``<hub>/u/<ns>/<name>/``; official images ``<hub>/_/<name>/``."""
    base = hub_url.rstrip("/")
    if repo.namespace == LIBRARY:
        return f"{base}/_/{repo.name}/"
    return f"{base}/u/{repo.namespace}/{repo.name}/"


def callback_prefix(hub_url: str, repo: Repository) -> str:
    return f"{hub_url.rstrip('/')}/u/{repo.namespace}/{repo.name}/hook/"


def callback_url(hub_url: str, repo: Repository, secret: str) -> str:
    return f"{callback_prefix(hub_url, repo)}{secret}/"


def push_payload(
    hub_url: str,
    repo: Repository,
    pusher: User | None,
    tag: str,
    images: list[str],
    *,
    pushed_at: datetime | None = None,
    callback: str = "",
) -> PushPayload:
    """The payload for one pushed tag of ``repo``."""
    return PushPayload(
        callback_url=callback,
        push_data=PushData(
            pushed_at=(pushed_at or utcnow()).timestamp(),
            pusher=pusher.username if pusher else "",
            tag=tag,
            images=list(images),
        ),
        repository=repository_data(hub_url, repo),
    )


def repository_data(hub_url: str, repo: Repository) -> RepositoryData:
    return RepositoryData(
        repo_name=repo.full_name,
        name=repo.name,
        namespace=repo.namespace,
        owner=repo.namespace,
        is_private=repo.is_private,
        is_official=repo.is_official,
        is_trusted=repo.is_automated,
        star_count=repo.star_count,
        description=repo.description,
        full_description=repo.full_description,
        repo_url=repo_url(hub_url, repo),
        date_created=repo.created_at.timestamp(),
    )


def sample_payload(hub_url: str, repo: Repository, pusher: User | None) -> PushPayload:
    """What a test delivery sends: a push of ``latest`` by the user who asked for the test."""
    return push_payload(
        hub_url, repo, pusher, "latest", [SAMPLE_IMAGE], callback=callback_url(hub_url, repo, "test")
    )


def with_callback(payload: dict[str, Any], url: str) -> dict[str, Any]:
    return {**payload, "callback_url": url}


__all__ = [
    "BuildData",
    "BuildPayload",
    "PushData",
    "PushPayload",
    "RepositoryData",
    "callback_prefix",
    "callback_url",
    "push_payload",
    "repo_url",
    "repository_data",
    "sample_payload",
    "with_callback",
]
