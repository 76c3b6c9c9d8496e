"""A registry token stops working when its user loses the access it grants, not an hour later.

Real hub and registry: the registry confirms a write token with the hub every
``WHARF_REGISTRY_INDEX__RECHECK`` seconds (0 here: on every request), so a collaborator
removed in the middle of a push cannot upload or tag one more thing with the token they hold,
while a push by someone still allowed carries on past the recheck interval.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from hubstack import Stack, hub_stack
from v1flows import push, put_tag, upload_image, write_token
from wharf_registry.testing import random_image_id

PASSWORD = "revoke-pass-1"
FAST_PASSWORDS = {"WHARF_HUB_PASSWORDS__TIME_COST": "1", "WHARF_HUB_PASSWORDS__MEMORY_COST": "8192"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    users = dict.fromkeys(("alice", "colin"), PASSWORD)
    with hub_stack(
        "wharf-revoke-", users, env=FAST_PASSWORDS, registry_env={"WHARF_REGISTRY_INDEX__RECHECK": "0.5"}
    ) as built:
        push(built, "alice/web", "alice", PASSWORD)
        yield built


@pytest.fixture
def registry(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.registry.url, timeout=30) as client:
        yield client


def api(stack: Stack, user: str) -> httpx.Client:
    return httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=(user, PASSWORD), timeout=30)


def test_a_removed_collaborator_stops_writing_at_once(stack: Stack, registry: httpx.Client) -> None:
    with api(stack, "alice") as alice:
        added = alice.post("/repositories/alice/web/collaborators", json={"username": "colin"})
        assert added.status_code in (200, 201), added.text
        auth = write_token(stack, "alice/web", "colin", PASSWORD)
        image_id = upload_image(registry, auth)
        assert put_tag(registry, auth, "alice/web", "colin", image_id) == 200
        assert alice.delete("/repositories/alice/web/collaborators/colin").status_code == 204
    time.sleep(0.6)  # past the registry's recheck interval
    assert put_tag(registry, auth, "alice/web", "latest", image_id) == 403
    refused = registry.put(f"/v1/images/{random_image_id()}/json", content=b"{}", headers=auth)
    assert refused.status_code == 403 and "revoked" in refused.json()["error"]
    tags = httpx.get(
        f"{stack.registry.url}/v1/repositories/alice/web/tags",
        headers=write_token(stack, "alice/web", "alice", PASSWORD),
        timeout=30,
    ).json()
    assert set(tags) == {"latest", "colin"} and tags["latest"] != image_id


def test_a_push_longer_than_the_recheck_interval_goes_on(stack: Stack, registry: httpx.Client) -> None:
    auth = write_token(stack, "alice/web", "alice", PASSWORD)
    first = upload_image(registry, auth, b"one\n")
    time.sleep(1.2)  # two recheck intervals: the token is confirmed again, and still good
    second = upload_image(registry, auth, b"two\n")
    assert put_tag(registry, auth, "alice/web", "one", first) == 200
    assert put_tag(registry, auth, "alice/web", "two", second) == 200
