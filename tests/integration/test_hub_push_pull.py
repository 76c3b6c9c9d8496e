"""Login, push, pull and search of bare names (``alice/web``) through a real hub.

A real ``wharf-hub`` (the v1 index) and a real ``wharf-registry`` in index mode (it trusts
the hub's token-signing key) run on loopback; the module's engines (the ``engine`` and
``engine_b`` fixtures) are started with ``WHARF_ENGINE_DEFAULT_INDEX`` pointing at the hub, so
bare names resolve to it as ``docker.io`` names resolve to Docker Hub. The flows run by the
engine API, the ``wharf`` CLI and the real ``docker`` CLI. The hub and registry are stopped by
pid and their roots removed at teardown, whatever happened.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import Engine, needs_docker, wait_for
from hubstack import Stack, hub_stack
from wharf_hub.webhooks.signing import verify
from wharf_hub.webhooks.testing import Receiver
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, pytest.mark.slow]

DEFAULT_KEY = "https://index.docker.io/v1/"  # docker's key for its default index
LAYER_PUT = re.compile(r"method=PUT .*path=/v1/images/[0-9a-f]{64}/layer ")
USERS = {"alice": "pa55word", "bobby": "b0bpass1"}


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    """Hub + registry in index mode; the module's engines start with the hub as default index.

    Autouse and module-scoped, so it is set up before the ``engine``/``engine_b`` fixtures
    start their daemons (which inherit ``WHARF_ENGINE_DEFAULT_INDEX``).
    """
    with hub_stack("wharf-hubstack-", USERS) as built:
        yield built


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty client configs for wharf and docker (read by the CLIs the engines' env starts)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHARF_CONFIG", str(tmp_path / "wharf"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def stream(engine: Engine, method: str, path: str, auth: dict[str, str] | None = None) -> list[Any]:
    header = base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()
    status, body = engine.request(method, path, headers={"X-Registry-Auth": header})
    assert status == 200, (status, body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def statuses(messages: list[Any]) -> list[str]:
    assert not [m for m in messages if "error" in m], messages
    return [m["status"] for m in messages]


def commit(engine: Engine, name: str, text: str, base: str = "busybox") -> None:
    """An image on ``base`` with one more layer: ``/greeting`` holds ``text``; CMD cats it."""
    container = ok(engine.docker("create", base, "sh", "-c", f"echo {text} > /greeting")).strip()
    try:
        ok(engine.docker("start", "-a", container))
        ok(engine.docker("commit", "--change", 'CMD ["cat", "/greeting"]', container, name))
    finally:
        engine.docker("rm", "-f", container)


def layer_puts(registry: RegistryProcess) -> int:
    return sum(1 for line in registry.log.read_text().splitlines() if LAYER_PUT.search(line))


def login(engine: Engine, username: str, password: str, server: str = "") -> tuple[int, Any]:
    status, body = engine.request(
        "POST", "/auth", {"username": username, "password": password, "serveraddress": server}
    )
    return status, json.loads(body)


# ---- by the engine API --------------------------------------------------------------------------


def test_engine_login_to_the_default_index(engine: Engine, stack: Stack) -> None:
    status, body = login(engine, "alice", "wrong")
    assert status == 401 and "unauthorized: incorrect username or password" in body["message"]
    for server in ("", DEFAULT_KEY, "docker.io"):
        assert login(engine, "alice", USERS["alice"], server) == (
            200,
            {"Status": "Login Succeeded", "IdentityToken": ""},
        )
    assert login(engine, "alice", USERS["alice"], stack.hub.address)[0] == 200  # the hub by host:port
    info = engine.json("GET", "/info")
    assert info["IndexServerAddress"] == DEFAULT_KEY
    assert info["RegistryConfig"]["IndexConfigs"]["docker.io"]["Official"] is True


def test_engine_push_then_pull_on_another_engine_moves_only_missing_layers(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    alice = {"username": "alice", "password": USERS["alice"], "serveraddress": DEFAULT_KEY}
    commit(engine, "alice/api:v1", "hello")
    before = layer_puts(stack.registry)
    out = statuses(stream(engine, "POST", "/images/alice/api/push?tag=v1", alice))
    assert out[0] == "The push refers to repository [docker.io/alice/api]"
    assert out.count("Pushed") == 2 and out[-1].startswith("v1: pushed image ")
    wait_for(lambda: layer_puts(stack.registry) == before + 2)

    query = urllib.parse.urlencode({"fromImage": "docker.io/alice/api", "tag": "v1"})
    messages = stream(engine_b, "POST", f"/images/create?{query}")
    out = statuses(messages)
    assert messages[0] == {"status": "Pulling from alice/api", "id": "v1"}
    assert out.count("Pull complete") == 2 and out[-1] == "Status: Downloaded newer image for alice/api:v1"
    assert ok(engine_b.docker("run", "--rm", "alice/api:v1")) == "hello\n"

    commit(engine, "alice/api:v2", "changed", base="alice/api:v1")
    before = layer_puts(stack.registry)
    out = statuses(stream(engine, "POST", "/images/alice/api/push?tag=v2", alice))
    assert out.count("Pushed") == 1 and out.count("Layer already exists") == 2
    wait_for(lambda: layer_puts(stack.registry) == before + 1)
    out = statuses(stream(engine_b, "POST", "/images/create?fromImage=alice/api&tag=v2"))
    assert out.count("Already exists") == 2 and out.count("Pull complete") == 1
    assert ok(engine_b.docker("run", "--rm", "alice/api:v2")) == "changed\n"


def test_engine_pull_and_push_refusals(engine: Engine, engine_b: Engine) -> None:
    status, body = engine_b.request("POST", "/images/create?fromImage=alice/nothing&tag=latest")
    assert status == 404 and json.loads(body)["message"] == (
        "pull access denied for alice/nothing, repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied"
    )
    ok(engine.docker("tag", "busybox", "alice/anon:v1"))
    messages = stream(engine, "POST", "/images/alice/anon/push?tag=v1")
    assert "unauthorized: authentication required" in messages[-1]["error"]


# ---- by the wharf CLI ---------------------------------------------------------------------------


def add_webhook(stack: Stack, repository: str, url: str) -> str:
    """Create ``alice/<repository>`` through the JSON API with one webhook; its signing secret."""
    auth = ("alice", USERS["alice"])
    created = httpx.post(
        f"{stack.hub.url}/api/v1/repositories", json={"namespace": "alice", "name": repository}, auth=auth
    )
    assert created.status_code == 201, created.text
    hook = httpx.post(
        f"{stack.hub.url}/api/v1/repositories/alice/{repository}/webhooks",
        json={"name": "ci", "url": url},
        auth=auth,
    )
    assert hook.status_code == 201, hook.text
    return str(hook.json()["secret"])


def test_wharf_login_push_pull_search_logout(
    engine: Engine, engine_b: Engine, config: Path, stack: Stack, receiver: Receiver
) -> None:
    secret = add_webhook(stack, "web", receiver.url)
    commit(engine, "alice/web:v1", "from wharf")
    denied = engine.wharf("push", "alice/web:v1")
    assert denied.returncode == 1 and b"unauthorized: authentication required" in denied.stderr

    wrong = engine.wharf("login", "-u", "alice", "--password-stdin", input=b"nope\n")
    assert wrong.returncode == 1 and b"incorrect username or password" in wrong.stderr
    good = engine.wharf("login", "-u", "alice", "--password-stdin", input=USERS["alice"].encode() + b"\n")
    assert ok(good) == "Login Succeeded\n"
    token = base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()
    assert json.loads((config / "wharf" / "config.json").read_text()) == {
        "auths": {DEFAULT_KEY: {"auth": token}}
    }

    pushed = ok(engine.wharf("push", "alice/web:v1")).splitlines()
    assert pushed[0] == "The push refers to repository [docker.io/alice/web]"
    assert any(line.endswith(": Pushed") for line in pushed)

    [hook] = receiver.wait_for(1, timeout=30)  # the hub's worker delivers it after the push
    assert verify(secret, hook.body, hook.headers["x-wharf-signature-256"])
    payload = hook.json()
    assert payload["push_data"]["tag"] == "v1" and payload["push_data"]["pusher"] == "alice"
    assert len(payload["push_data"]["images"]) >= 2  # busybox's layer and the committed one
    assert payload["callback_url"].startswith(f"{stack.hub.url}/u/alice/web/hook/")
    repository = payload["repository"]
    assert (repository["repo_name"], repository["namespace"], repository["name"]) == (
        "alice/web",
        "alice",
        "web",
    )
    assert repository["repo_url"] == f"{stack.hub.url}/u/alice/web/"
    assert repository["is_private"] is False and repository["status"] == "Active"

    pulled = ok(engine_b.wharf("pull", "alice/web:v1")).splitlines()
    assert pulled[0] == "v1: Pulling from alice/web"
    assert pulled[-2:] == ["Status: Downloaded newer image for alice/web:v1", "docker.io/alice/web:v1"]
    assert ok(engine_b.wharf("run", "--rm", "alice/web:v1")) == "from wharf\n"

    found = wait_for(
        lambda: [
            line
            for line in ok(engine.wharf("search", "web")).splitlines()[1:]
            if line.startswith("alice/web ")
        ]
    )
    assert found

    ok(engine.docker("tag", "busybox", "bobby/web:v1"))
    other = engine.wharf("push", "bobby/web:v1")
    assert other.returncode == 1 and b"denied: requested access to the resource is denied" in other.stderr

    assert ok(engine.wharf("logout")) == f"Removing login credentials for {DEFAULT_KEY}\n"
    assert ok(engine.wharf("logout")) == f"Not logged in to {DEFAULT_KEY}\n"


# ---- by the docker CLI --------------------------------------------------------------------------


@needs_docker
def test_docker_login_push_pull_search(engine: Engine, engine_b: Engine, config: Path) -> None:
    ok(engine.docker("tag", "busybox", "bobby/box:1"))
    wrong = engine.docker("login", "-u", "bobby", "--password-stdin", input=b"nope\n")
    assert wrong.returncode != 0 and b"incorrect username or password" in wrong.stderr
    good = engine.docker("login", "-u", "bobby", "--password-stdin", input=USERS["bobby"].encode() + b"\n")
    assert "Login Succeeded" in ok(good)
    assert DEFAULT_KEY in json.loads((config / "docker" / "config.json").read_text())["auths"]

    out = ok(engine.docker("push", "bobby/box:1"))
    assert "The push refers to repository [docker.io/bobby/box]" in out
    out = ok(engine_b.docker("pull", "bobby/box:1"))
    assert "Status: Downloaded newer image for bobby/box:1" in out and "docker.io/bobby/box:1" in out
    assert ok(engine_b.docker("run", "--rm", "bobby/box:1", "echo", "pulled")) == "pulled\n"

    found = wait_for(lambda: "bobby/box" in ok(engine.docker("search", "box")))
    assert found
    assert "Removing login credentials" in ok(engine.docker("logout"))
    denied = engine.docker("push", "bobby/box:1", input=b"")
    assert denied.returncode != 0 and b"unauthorized: authentication required" in denied.stderr
