"""A build's events (``build.started``, ``build.success``, ``build.failed``, ``build.cancelled``) to
the repository's webhooks: one signed delivery per active webhook (``X-Wharf-Event`` names the
event), retried with backoff like push deliveries but outside any callback chain."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from ..db.models import Build, Repository
from ..webhooks.chains import DELIVER, active_hooks
from ..webhooks.payloads import BuildData, BuildPayload, repository_data
from .jobs import enqueue


def build_url(hub_url: str, repo: Repository, build: Build) -> str:
    return f"{hub_url.rstrip('/')}/api/v1/repositories/{repo.namespace}/{repo.name}/builds/{build.id}"


def announce(s: Session, hub_url: str, build: Build, event: str) -> None:
    repo = s.get(Repository, build.repository_id)
    if repo is None:
        return
    hooks = active_hooks(s, repo.id)
    if not hooks:
        return
    payload = BuildPayload(
        build_data=BuildData(
            id=build.id,
            status=build.status,
            trigger=build.trigger,
            source_type=build.source_type,
            source_ref=build.source_ref,
            commit=build.commit_sha,
            tags=list(build.tags),
            image_id=build.image_id,
            error=build.error,
            build_url=build_url(hub_url, repo, build),
            created_at=build.created_at.timestamp(),
            finished_at=build.finished_at.timestamp() if build.finished_at else None,
        ),
        repository=repository_data(hub_url, repo),
    ).model_dump()
    for hook in hooks:
        job = {"webhook_id": hook.id, "chain_id": None, "attempt": 1, "delivery": uuid.uuid4().hex}
        enqueue(s, DELIVER, {**job, "event": f"build.{event}", "payload": payload})


__all__ = ["announce", "build_url"]
