"""Helpers for the webhook tests: add hooks, simulate a push, drive the worker, read history."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from wharf_hub.db.models import Delivery, HookChain, Job, Repository, User, Webhook
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.webhooks.testing import Received

IMAGES = ["a" * 64, "b" * 64]


def add_hook(hub: Hub, owner: User, repo: Repository, name: str, url: str) -> Webhook:
    with hub.db.session() as s:
        return hub.webhooks.add(s, Factory.reload(s, owner), reload_repo(s, repo), name, url)


def reload_repo(s: Session, repo: Repository) -> Repository:
    found = s.get(Repository, repo.id)
    assert found is not None
    return found


def push(hub: Hub, repo: Repository, pusher: User | None, tag: str = "latest") -> None:
    """What the worker does for every tag a push changed: call the push listeners."""
    with hub.unit() as s:
        found = reload_repo(s, repo)
        user = s.get(User, pusher.id) if pusher else None
        for listener in hub.index.push_listeners:
            listener(s, found, user, tag, IMAGES)


def run_jobs(hub: Hub, until: Callable[[], bool] | None = None, timeout: float = 10.0) -> None:
    """Run due jobs (retries come due after their backoff) until ``until()`` holds, or until
    nothing is queued when no condition is given."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until is not None and until():
            return
        if not hub.worker.run_once():
            if until is None and not queued(hub):
                return
            time.sleep(0.01)
    raise AssertionError("the jobs did not finish in time")


def queued(hub: Hub) -> int:
    with hub.db.session() as s:
        return len(s.scalars(select(Job.id).where(Job.status.in_(("queued", "running")))).all())


def deliveries(hub: Hub, webhook_id: int | None = None) -> list[Delivery]:
    """Every attempt, oldest first."""
    with hub.db.session() as s:
        query = select(Delivery).order_by(Delivery.id)
        if webhook_id is not None:
            query = query.where(Delivery.webhook_id == webhook_id)
        return list(s.scalars(query))


def chains(hub: Hub) -> list[HookChain]:
    with hub.db.session() as s:
        return list(s.scalars(select(HookChain).order_by(HookChain.id)))


def callback_secret(received: Received) -> str:
    """The secret out of the payload's ``callback_url`` (``.../hook/<secret>/``)."""
    path = urlsplit(str(received.json()["callback_url"])).path
    return path.rstrip("/").rsplit("/", 1)[1]


def validate(hub: Hub, received: Received, state: str = "success", **extra: str) -> HookChain:
    """The receiver's callback, straight to the service."""
    with hub.unit() as s:
        return hub.webhooks.callback(s, callback_secret(received), {"state": state, **extra})
