"""The wharf engine against Debian's Go registry with token auth, tokens from a real wharf hub.

The registry trusts the hub's certificate (``rootcertbundle``) and sends clients to the hub's
``/v2/token``. ``docker login`` goes through the token server, a push by the owner works and
prints its digest, an anonymous engine pulls the public repository with an anonymous token,
and another user's push is refused.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest
from engines import DOCKER, Engine, needs_docker
from goregistry import GoRegistry, needs_go_registry
from wharf_hub.testing import HubProcess

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, needs_go_registry, pytest.mark.timeout(240)]

PASSWORD = "correct-horse-battery"
CHEAP_HASHES = {"WHARF_HUB_PASSWORDS__TIME_COST": "1", "WHARF_HUB_PASSWORDS__MEMORY_COST": "8192"}


@dataclass
class TokenSetup:
    hub: HubProcess
    registry: GoRegistry


@pytest.fixture(scope="module")
def token_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenSetup]:
    hub = HubProcess(tmp_path_factory.mktemp("hub") / "hub", env=CHEAP_HASHES)
    registry: GoRegistry | None = None
    try:
        hub.start()
        for user in ("alice", "bobby"):
            hub.create_user(user, PASSWORD)
        made = httpx.post(
            f"{hub.url}/api/v1/repositories",
            json={"namespace": "alice", "name": "web"},
            auth=("alice", PASSWORD),
            timeout=30,
        )
        assert made.status_code == 201, made.text
        registry = GoRegistry(
            token={
                "realm": f"{hub.url}/v2/token",
                "service": "go-registry.test",
                "issuer": "wharf-hub",
                "rootcertbundle": str(hub.root / "bearer-signing.crt"),
            }
        )
        registry.start()
        yield TokenSetup(hub, registry)
    finally:
        if registry is not None:
            registry.cleanup()
        hub.stop()


def cli(engine: Engine, config: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**engine.env, "DOCKER_CONFIG": str(config)}
    return subprocess.run([DOCKER, *args], env=env, input=input, capture_output=True, timeout=90)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def test_token_auth_login_push_and_anonymous_pull(
    engine: Engine, engine_b: Engine, token_setup: TokenSetup, tmp_path: Path
) -> None:
    domain = token_setup.registry.domain
    name = f"{domain}/alice/web"
    wrong = cli(engine, tmp_path / "a", "login", domain, "-u", "alice", "--password-stdin", input=b"nope\n")
    assert wrong.returncode != 0 and b"unauthorized" in wrong.stderr, wrong
    login = cli(
        engine,
        tmp_path / "a",
        "login",
        domain,
        "-u",
        "alice",
        "--password-stdin",
        input=PASSWORD.encode() + b"\n",
    )
    assert "Login Succeeded" in ok(login)

    ok(engine.docker("tag", "busybox", name))
    out = ok(cli(engine, tmp_path / "a", "push", name))
    assert "latest: digest: sha256:" in out and "Pushed" in out, out

    pulled = ok(cli(engine_b, tmp_path / "anonymous", "pull", name))  # a public repository
    assert f"Status: Downloaded newer image for {name}:latest" in pulled
    assert ok(engine_b.docker("run", "--rm", name, "echo", "ran")).strip() == "ran"

    ok(
        cli(
            engine_b,
            tmp_path / "b",
            "login",
            domain,
            "-u",
            "bobby",
            "--password-stdin",
            input=PASSWORD.encode() + b"\n",
        )
    )
    ok(engine_b.docker("tag", name, f"{name}:bobby"))
    refused = cli(engine_b, tmp_path / "b", "push", f"{name}:bobby")
    assert refused.returncode != 0 and b"unauthorized" in refused.stderr, refused
    assert b"incorrect username or password" not in refused.stderr  # bobby's password was right


def test_docker_py_pulls_a_private_repository_with_a_token(
    engine: Engine, engine_b: Engine, token_setup: TokenSetup
) -> None:
    made = httpx.post(
        f"{token_setup.hub.url}/api/v1/repositories",
        json={"namespace": "alice", "name": "secret", "is_private": True},
        auth=("alice", PASSWORD),
        timeout=30,
    )
    assert made.status_code == 201, made.text
    name = f"{token_setup.registry.domain}/alice/secret"
    ok(engine.docker("tag", "busybox", name))
    alice = {"username": "alice", "password": PASSWORD}
    pusher = docker.DockerClient(base_url=engine.host, version="1.41", timeout=60)
    client = docker.DockerClient(base_url=engine_b.host, version="1.41", timeout=60)
    try:
        lines = list(pusher.images.push(name, tag="latest", auth_config=alice, stream=True, decode=True))
        assert [m["aux"] for m in lines if "aux" in m], lines
        with pytest.raises(docker.errors.APIError, match="pull access denied"):
            client.images.pull(name, tag="latest")  # anonymous: the hub grants nothing
        image = client.images.pull(name, tag="latest", auth_config=alice)
        assert any(d.startswith(f"{name}@sha256:") for d in image.attrs["RepoDigests"])
    finally:
        pusher.close()
        client.close()
