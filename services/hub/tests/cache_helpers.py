"""Helpers of the hub's cache tests: Basic credentials, a pull's status, a second hub's
collaborator change, and the reads a request made on the event loop."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.loopreads import Prepared


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def pull(client: TestClient, path: str, headers: dict[str, str] | None = None) -> int:
    """The status of a pull's token request for ``path``."""
    r = client.get(f"/v1/repositories/{path}/images", headers={**(headers or {}), "X-Docker-Token": "true"})
    return int(r.status_code)


def collaborator(hub: Hub, owner: str, name: str, user: str, *, add: bool) -> None:
    """``user`` made (or no longer) a collaborator of ``owner/name`` through ``hub``'s services."""
    with hub.db.session() as s:
        repo = hub.repos.find(s, owner, name)
        assert repo is not None
        change = hub.repos.add_collaborator if add else hub.repos.remove_collaborator
        change(s, hub.accounts.get(s, owner), repo, user)


def shared_secret(factory: Factory, other: Hub) -> dict[str, str]:
    """alice's private ``alice/secret`` with bobby made a collaborator through ``other``; bobby's
    credentials."""
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "secret", private=True)
    collaborator(other, "alice", "secret", "bobby", add=True)
    return basic("bobby", factory.password)


@contextmanager
def loop_reads(hub: Hub) -> Iterator[list[str]]:
    """The SQL of every read made on the event loop (``hub.reads``) in the block."""
    seen: list[str] = []
    original = hub.reads.fetch

    async def fetch(prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[Any]:
        seen.append(prepared.sql)
        return await original(prepared, values)

    hub.reads.fetch = fetch  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        hub.reads.fetch = original  # type: ignore[method-assign]
