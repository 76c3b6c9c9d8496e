"""Account security through a real hub and a real registry in index mode, with a real engine:
a PAT's scopes decide what ``docker login`` and push may do, a deleted account's images are
removed from the registry before its name can be taken again, and ``X-Forwarded-For`` from
an unconfigured client does not get around the login throttle."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from engines import Engine, wait_for
from hubstack import Stack, hub_stack

pytestmark = [pytest.mark.root, pytest.mark.slow]

DEFAULT_KEY = "https://index.docker.io/v1/"
USERS = {"alice": "pa55word-one", "mallory": "pa55word-two"}


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-hubsec-", USERS) as built:
        yield built


def push(engine: Engine, repository: str, tag: str, username: str, password: str) -> list[Any]:
    auth = {"username": username, "password": password, "serveraddress": DEFAULT_KEY}
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    status, body = engine.request(
        "POST", f"/images/{repository}/push?tag={tag}", headers={"X-Registry-Auth": header}
    )
    assert status == 200, (status, body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def pushed(messages: list[Any]) -> bool:
    return not [m for m in messages if "error" in m]


def token(stack: Stack, username: str, scopes: list[str]) -> str:
    made = httpx.post(
        f"{stack.hub.url}/api/v1/user/tokens",
        json={"name": "engine", "scopes": scopes},
        auth=(username, USERS[username]),
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def login(engine: Engine, username: str, password: str) -> int:
    status, _ = engine.request(
        "POST", "/auth", {"username": username, "password": password, "serveraddress": DEFAULT_KEY}
    )
    return status


def test_engine_login_and_push_follow_the_token_scopes(engine: Engine, stack: Stack) -> None:
    write, read = token(stack, "alice", ["write"]), token(stack, "alice", ["read"])
    assert login(engine, "alice", write) == 200
    assert login(engine, "alice", read) == 200
    status, _ = engine.request("POST", "/images/busybox/tag?repo=alice/scoped&tag=v1")
    assert status == 201
    refused = push(engine, "alice/scoped", "v1", "alice", read)
    assert not pushed(refused) and "denied" in refused[-1]["error"]
    assert pushed(push(engine, "alice/scoped", "v1", "alice", write))
    assert login(engine, "alice", USERS["alice"]) == 200  # and the password, as before


def registry_tags(stack: Stack, repository: str, username: str, password: str) -> dict[str, str]:
    """What a pull token for ``repository`` reads from the registry (as an engine would)."""
    grant = httpx.get(
        f"{stack.hub.url}/v1/repositories/{repository}/images",
        headers={"X-Docker-Token": "true"},
        auth=(username, password),
    )
    assert grant.status_code == 200, grant.text
    tags = httpx.get(
        f"{stack.registry.url}/v1/repositories/{repository}/tags",
        headers={"Authorization": f"Token {grant.headers['x-docker-token']}"},
    )
    if tags.status_code == 404:
        return {}
    assert tags.status_code == 200, tags.text
    return dict(tags.json())


def test_a_deleted_accounts_private_images_do_not_pass_to_the_next_owner_of_the_name(
    engine: Engine, stack: Stack
) -> None:
    """The attack: ``gone`` deletes the account with a private image; ``gone`` is registered
    again by someone else, who reads the old tags and layers with a token for the name."""
    stack.hub.create_user("gone_user", "pa55word-old")
    status, _ = engine.request("POST", "/images/busybox/tag?repo=gone_user/secret&tag=v1")
    assert status == 201
    assert pushed(push(engine, "gone_user/secret", "v1", "gone_user", "pa55word-old"))
    made_private = httpx.patch(
        f"{stack.hub.url}/api/v1/repositories/gone_user/secret",
        json={"is_private": True},
        auth=("gone_user", "pa55word-old"),
    )
    assert made_private.status_code == 200, made_private.text
    assert "v1" in registry_tags(stack, "gone_user/secret", "gone_user", "pa55word-old")
    deleted = httpx.request(
        "DELETE",
        f"{stack.hub.url}/api/v1/user",
        json={"password": "pa55word-old"},
        auth=("gone_user", "pa55word-old"),
    )
    assert deleted.status_code == 204

    def registered_again() -> bool:
        try:
            stack.hub.create_user("gone_user", "pa55word-new-owner", email="new-owner@example.test")
        except RuntimeError:
            return False  # the name is held until the registry content is gone
        return True

    wait_for(registered_again, timeout=30, interval=0.5)
    created = httpx.post(
        f"{stack.hub.url}/api/v1/repositories",
        json={"namespace": "gone_user", "name": "secret"},
        auth=("gone_user", "pa55word-new-owner"),
    )
    assert created.status_code == 201, created.text
    assert registry_tags(stack, "gone_user/secret", "gone_user", "pa55word-new-owner") == {}


def test_forwarded_for_from_an_unconfigured_client_does_not_reset_the_throttle(stack: Stack) -> None:
    """The attack: a fresh ``X-Forwarded-For`` per try, so each wrong password starts a new
    count (uvicorn used to take the header from any loopback client)."""
    answers = []
    for i in range(8):
        r = httpx.get(
            f"{stack.hub.url}/v1/users/",
            auth=("mallory", f"wrong-guess-{i}"),
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
        )
        answers.append(r.status_code)
    assert 429 in answers, answers
    log = stack.hub.log_path.read_text()
    assert "mallory|127.0.0.1" in log and "198.51.100." not in log  # counted against the real peer
    other = httpx.get(f"{stack.hub.url}/v1/users/", auth=("alice", USERS["alice"]))
    assert other.status_code == 200  # another account from the same address is not held up
