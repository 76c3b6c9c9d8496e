"""Real engines push and pull through a real hub and an index-mode registry that scopes image ids
to repositories: a layer another repository pushed first is proven (sent again and compared),
never skipped on the registry's word, and what was pushed is what is pulled.

The hub and registry are stopped by pid and their roots removed at teardown, whatever happened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from engines import Engine
from hubstack import Stack, hub_stack

pytestmark = [pytest.mark.root, pytest.mark.slow]

DEFAULT_KEY = "https://index.docker.io/v1/"
USERS = {"alice": "pa55word", "bobby": "b0bpass1"}


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-hubscope-", USERS) as built:
        yield built


def creds(user: str) -> dict[str, str]:
    return {"username": user, "password": USERS[user], "serveraddress": DEFAULT_KEY}


def stream(engine: Engine, method: str, path: str, auth: dict[str, str] | None = None) -> list[Any]:
    header = base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()
    status, body = engine.request(method, path, headers={"X-Registry-Auth": header})
    assert status == 200, (status, body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def statuses(messages: list[Any]) -> list[str]:
    assert not [m for m in messages if "error" in m], messages
    return [m["status"] for m in messages]


def test_base_pushed_by_another_repository_is_proven_then_pulled_whole(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    assert engine.request("POST", "/images/busybox/tag?repo=alice/base&tag=v1")[0] == 201
    assert "Pushed" in statuses(stream(engine, "POST", "/images/alice/base/push?tag=v1", creds("alice")))

    # bobby's image is busybox plus a layer: the busybox layer keeps the id (and the JSON) alice's
    # push gave it, the registry holds it for alice/base only, so it goes out again as the proof
    container = engine.json(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": ["sh", "-c", "echo bob > /b"]}
    )["Id"]
    try:
        assert engine.request("POST", f"/containers/{container}/start")[0] == 204
        assert engine.json("POST", f"/containers/{container}/wait")["StatusCode"] == 0
        assert engine.request("POST", f"/commit?container={container}&repo=bobby/app&tag=v1")[0] == 201
    finally:
        engine.request("DELETE", f"/containers/{container}?force=1")
    out = statuses(stream(engine, "POST", "/images/bobby/app/push?tag=v1", creds("bobby")))
    assert out.count("Pushed") == 2 and "Layer already exists" not in out
    records = stack.registry.files("repositories/bobby/app/_images")
    assert len(records) == 2  # both layers are bobby/app's now

    out = statuses(stream(engine, "POST", "/images/bobby/app/push?tag=v1", creds("bobby")))
    assert out.count("Layer already exists") == 2  # its own, with its own checksums: skipped

    bob = creds("bobby")
    out = statuses(stream(engine_b, "POST", "/images/create?fromImage=bobby/app&tag=v1", bob))
    assert out.count("Pull complete") == 2
    status, body = engine_b.request("GET", "/images/bobby/app:v1/json")
    assert status == 200, body
