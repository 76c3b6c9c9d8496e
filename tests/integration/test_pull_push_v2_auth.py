"""``docker login``, push and pull against Debian's Go registry with htpasswd (Basic) auth.

Engine A logs in as alice and pushes; engine B cannot pull anonymously, cannot log in with a
wrong password, and pulls once logged in. Each docker CLI gets a config directory of its own.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from engines import DOCKER, Engine, needs_docker
from goregistry import GoRegistry, needs_go_registry

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, needs_go_registry]

ALICE = ("alice", "s3cret-pass")


@pytest.fixture(scope="module")
def basic_registry() -> Iterator[GoRegistry]:
    reg = GoRegistry(users=dict([ALICE]))
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def cli(engine: Engine, config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**engine.env, "DOCKER_CONFIG": str(config)}
    return subprocess.run([DOCKER, *args], env=env, input=b"", capture_output=True, timeout=60)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def login(
    engine: Engine, config: Path, reg: GoRegistry, user: str, password: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [DOCKER, "login", reg.domain, "-u", user, "--password-stdin"],
        env={**engine.env, "DOCKER_CONFIG": str(config)},
        input=password.encode(),
        capture_output=True,
        timeout=60,
    )


def test_basic_auth_login_push_and_pull(
    engine: Engine, engine_b: Engine, basic_registry: GoRegistry, tmp_path: Path
) -> None:
    name = f"{basic_registry.domain}/alice/private"
    ok(engine.docker("tag", "busybox", name))
    anonymous = cli(engine, tmp_path / "anonymous", "push", name)
    assert anonymous.returncode != 0 and b"unauthorized" in anonymous.stderr, anonymous
    assert not [r for r in basic_registry.requests() if r.startswith("PUT")]

    wrong = login(engine, tmp_path / "a", basic_registry, "alice", "wrong")
    assert wrong.returncode != 0 and b"unauthorized: incorrect username or password" in wrong.stderr, wrong
    assert "Login Succeeded" in ok(login(engine, tmp_path / "a", basic_registry, *ALICE))
    out = ok(cli(engine, tmp_path / "a", "push", name))
    assert "latest: digest: sha256:" in out

    refused = cli(engine_b, tmp_path / "b", "pull", name)
    assert refused.returncode != 0
    assert b"pull access denied" in refused.stderr and b"unauthorized" in refused.stderr, refused
    ok(login(engine_b, tmp_path / "b", basic_registry, *ALICE))
    pulled = ok(cli(engine_b, tmp_path / "b", "pull", name))
    assert f"Status: Downloaded newer image for {name}:latest" in pulled
    assert ok(engine_b.docker("run", "--rm", name, "echo", "ran")).strip() == "ran"


def test_docker_py_pulls_with_credentials(
    engine_b: Engine, basic_registry: GoRegistry, engine: Engine
) -> None:
    name = f"{basic_registry.domain}/alice/py"
    ok(engine.docker("tag", "busybox", name))
    auth = base64.urlsafe_b64encode(
        json.dumps({"username": ALICE[0], "password": ALICE[1]}).encode()
    ).decode()
    status, body = engine.request(
        "POST", f"/images/{name}/push?tag=latest", headers={"X-Registry-Auth": auth}
    )
    assert status == 200 and b"latest: digest: sha256:" in body, body
    client = docker.DockerClient(base_url=engine_b.host, version="1.41", timeout=60)
    try:
        with pytest.raises(docker.errors.APIError, match="unauthorized"):
            client.images.pull(name, tag="latest")
        image = client.images.pull(
            name, tag="latest", auth_config={"username": ALICE[0], "password": ALICE[1]}
        )
        assert any(d.startswith(f"{name}@sha256:") for d in image.attrs["RepoDigests"])
    finally:
        client.close()
