"""The authorization matrix, every cell through real processes: owner / collaborator / other user /
anonymous by public / private by pull / push / change settings / delete.

Pull and push go through a real engine (its default index is the hub) to the real registry in
index mode with hub-signed tokens; settings and delete through the hub's JSON API, the way a
script or the web pages change them. A refused cell must also leave nothing changed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from engines import Engine
from hubstack import Stack, hub_stack
from wharf_hub.testing import HubProcess

pytestmark = [pytest.mark.root, pytest.mark.slow]

PASSWORD = "matrix-pass-1"
OWNER, COLLABORATOR, OTHER = "olivia", "colin", "oscar"
ROLES = [OWNER, COLLABORATOR, OTHER, "anonymous"]
VISIBILITY = ["public", "private"]

# role -> action -> the visibilities where it is allowed ("admin": change settings and delete)
ALLOWED = {
    OWNER: {"pull": {"public", "private"}, "push": {"public", "private"}, "admin": {"public", "private"}},
    COLLABORATOR: {"pull": {"public", "private"}, "push": {"public", "private"}, "admin": set()},
    OTHER: {"pull": {"public"}, "push": set(), "admin": set()},
    "anonymous": {"pull": {"public"}, "push": set(), "admin": set()},
}


def api(stack: Stack, role: str) -> httpx.Client:
    auth = None if role == "anonymous" else httpx.BasicAuth(role, PASSWORD)
    return httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=auth, timeout=30)


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-authz-", dict.fromkeys((OWNER, COLLABORATOR, OTHER), PASSWORD)) as built:
        with api(built, OWNER) as owner:
            for visibility in VISIBILITY:
                for name in (visibility, f"{visibility}-del"):
                    created = owner.post(
                        "/repositories",
                        json={"namespace": OWNER, "name": name, "is_private": visibility == "private"},
                    )
                    assert created.status_code == 201, created.text
                    added = owner.post(
                        f"/repositories/{OWNER}/{name}/collaborators", json={"username": COLLABORATOR}
                    )
                    assert added.status_code in (200, 201), added.text
        yield built


def registry_auth(role: str, hub: HubProcess) -> str:
    auth: dict[str, str] = {}
    if role != "anonymous":
        auth = {"username": role, "password": PASSWORD, "serveraddress": hub.url}
    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()


def engine_call(engine: Engine, path: str, role: str, hub: HubProcess) -> tuple[bool, str]:
    """(succeeded, what went wrong) for a push or pull through the engine API."""
    status, body = engine.request("POST", path, headers={"X-Registry-Auth": registry_auth(role, hub)})
    if status != 200:
        return False, body.decode(errors="replace")
    messages: list[Any] = [json.loads(line) for line in body.splitlines() if line.strip()]
    errors = [m["error"] for m in messages if "error" in m]
    return not errors, "; ".join(errors)


@pytest.fixture(scope="module")
def seeded(engine: Engine, stack: Stack) -> Engine:
    """The owner pushes ``:seed`` to both repositories, so there is something to pull."""
    for visibility in VISIBILITY:
        status, _ = engine.request("POST", f"/images/busybox/tag?repo={OWNER}/{visibility}&tag=seed")
        assert status == 201
        ok, why = engine_call(engine, f"/images/{OWNER}/{visibility}/push?tag=seed", OWNER, stack.hub)
        assert ok, why
    return engine


@pytest.mark.parametrize("visibility", VISIBILITY)
@pytest.mark.parametrize("role", ROLES)
def test_pull(seeded: Engine, stack: Stack, role: str, visibility: str) -> None:
    name = f"{OWNER}/{visibility}"
    seeded.request("DELETE", f"/images/{name}:seed")  # the layers stay; the tag must come from the hub
    ok, why = engine_call(seeded, f"/images/create?fromImage={name}&tag=seed", role, stack.hub)
    expected = visibility in ALLOWED[role]["pull"]
    assert ok == expected, why
    status, _ = seeded.request("GET", f"/images/{name}:seed/json")
    assert (status == 200) == expected
    if not expected:
        assert "denied" in why or "authentication required" in why or "does not exist" in why


@pytest.mark.parametrize("visibility", VISIBILITY)
@pytest.mark.parametrize("role", ROLES)
def test_push(seeded: Engine, stack: Stack, role: str, visibility: str) -> None:
    name, tag = f"{OWNER}/{visibility}", f"by-{role}"
    status, _ = seeded.request("POST", f"/images/busybox/tag?repo={name}&tag={tag}")
    assert status == 201
    ok, why = engine_call(seeded, f"/images/{name}/push?tag={tag}", role, stack.hub)
    expected = visibility in ALLOWED[role]["push"]
    assert ok == expected, why
    tags = httpx.get(
        f"{stack.registry.url}/v1/repositories/{name}/tags",
        headers={"Authorization": f"Token {owner_read_token(stack, name)}"},
    )
    assert tags.status_code == 200
    assert (tag in tags.json()) == expected


def owner_read_token(stack: Stack, name: str) -> str:
    response = httpx.get(
        f"{stack.hub.url}/v1/repositories/{name}/images",
        headers={"X-Docker-Token": "true"},
        auth=(OWNER, PASSWORD),
    )
    assert response.status_code == 200
    return response.headers["x-docker-token"]


def refused_status(role: str, visibility: str) -> set[int]:
    if role == "anonymous":
        return {401} if visibility == "public" else {401, 404}
    if role == OTHER and visibility == "private":
        return {404}  # a private repository does not exist for others
    return {403}


@pytest.mark.parametrize("visibility", VISIBILITY)
@pytest.mark.parametrize("role", ROLES)
def test_change_settings(stack: Stack, role: str, visibility: str) -> None:
    path = f"/repositories/{OWNER}/{visibility}"
    with api(stack, role) as client:
        response = client.patch(path, json={"description": f"set by {role}"})
    with api(stack, OWNER) as owner:
        description = owner.get(path).json()["description"]
    if visibility in ALLOWED[role]["admin"]:
        assert response.status_code == 200, response.text
        assert description == f"set by {role}"
    else:
        assert response.status_code in refused_status(role, visibility), response.text
        assert description != f"set by {role}"


@pytest.mark.parametrize("visibility", VISIBILITY)
@pytest.mark.parametrize("role", ROLES)
def test_delete(stack: Stack, role: str, visibility: str) -> None:
    path = f"/repositories/{OWNER}/{visibility}-del"
    allowed = visibility in ALLOWED[role]["admin"]
    with api(stack, role) as client:
        response = client.delete(path)
    with api(stack, OWNER) as owner:
        still_there = owner.get(path).status_code == 200
        if allowed:
            assert response.status_code in (200, 204), response.text
            assert not still_there
            recreated = owner.post(
                "/repositories",
                json={"namespace": OWNER, "name": f"{visibility}-del", "is_private": visibility == "private"},
            )
            assert recreated.status_code == 201
            added = owner.post(f"{path}/collaborators", json={"username": COLLABORATOR})
            assert added.status_code == 201
        else:
            assert response.status_code in refused_status(role, visibility), response.text
            assert still_there
