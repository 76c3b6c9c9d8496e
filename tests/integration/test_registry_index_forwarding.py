"""Names under the registry's own host: a registry in index mode that knows the hub's address
passes the index calls engines send it (``/v1/users/``, ``/v1/repositories/…``) on to the hub,
so ``login``, ``push`` and ``pull`` of ``<registry host>/alice/web`` work against the registry's
address alone (over v1)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from engines import Engine
from hubstack import Stack, hub_stack

USERS = {"alice": "pa55word"}
ALICE = ("alice", USERS["alice"])
ASK = {"X-Docker-Token": "true"}

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-forward-", USERS, forward_index=True) as built:
        yield built


def registry_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.registry.port}"


def test_login_and_the_index_calls_go_through_the_registry(stack: Stack) -> None:
    url = registry_url(stack)
    assert httpx.get(f"{url}/v1/users/", auth=ALICE).json() == "OK"
    wrong = httpx.get(f"{url}/v1/users/", auth=("alice", "wrong-one"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    started = httpx.put(f"{url}/v1/repositories/alice/fwd/", json=[], headers=ASK, auth=ALICE)
    assert started.status_code == 200, started.text
    assert started.headers["x-docker-token"].startswith("signature=")
    assert started.headers["x-docker-endpoints"] == f"127.0.0.1:{stack.registry.port}"
    images = httpx.get(f"{url}/v1/repositories/alice/fwd/images", headers=ASK)
    assert images.status_code == 200 and images.json() == []
    assert "x-docker-token" in images.headers  # an anonymous read token for a public repository
    missing = httpx.get(f"{url}/v1/repositories/alice/nothing/images", headers=ASK)
    assert missing.status_code == 404


def stream(engine: Engine, method: str, path: str, auth: dict[str, str] | None = None) -> list[Any]:
    header = base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()
    status, body = engine.request(method, path, headers={"X-Registry-Auth": header})
    assert status == 200, (status, body)
    messages = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert not [m for m in messages if "error" in m], messages
    return messages


@pytest.mark.root
@pytest.mark.slow
def test_an_engine_logs_in_pushes_and_pulls_by_the_registrys_address(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    host = f"127.0.0.1:{stack.registry.port}"
    status, body = engine.request(
        "POST", "/auth", {"username": "alice", "password": "nope", "serveraddress": host}
    )
    assert status == 401, body
    status, body = engine.request(
        "POST", "/auth", {"username": "alice", "password": USERS["alice"], "serveraddress": host}
    )
    assert (status, json.loads(body)["Status"]) == (200, "Login Succeeded")
    assert engine.docker("tag", "busybox", f"{host}/alice/web:v1").returncode == 0
    alice = {"username": "alice", "password": USERS["alice"], "serveraddress": host}
    pushed = stream(engine, "POST", f"/images/{host}/alice/web/push?tag=v1", alice)
    assert pushed[0]["status"] == f"The push refers to repository [{host}/alice/web]"
    tags = httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/web/tags")
    assert tags.status_code == 200  # the hub made the repository on the first push
    pulled = stream(engine_b, "POST", f"/images/create?fromImage={host}/alice/web&tag=v1")
    assert pulled[-1]["status"] == f"Status: Downloaded newer image for {host}/alice/web:v1"
    ran = engine_b.docker("run", "--rm", f"{host}/alice/web:v1", "echo", "hello")
    assert ran.returncode == 0 and ran.stdout == b"hello\n", ran.stderr
    log = stack.registry.log.read_text()  # v2 is off here (no bearer certificate): over v1
    assert re.search(r"method=PUT .*path=/v1/repositories/alice/web/tags/v1", log), log[-2000:]
