"""The course's names under the registry's own host, spelt ``localhost:<port>`` as Docker users
write them: the real docker CLI against a wharf engine, a registry in index mode behind the
hub. ``docker login localhost:<port>`` (the registry sends the client to the hub for its token),
``docker tag busybox localhost:<port>/alice/web && docker push`` (with the identity token the
login left in the CLI's config instead of the password), then ``docker pull`` back on
another engine and run it. ``localhost`` may resolve to ``::1`` first while the registry listens
on 127.0.0.1: the pushing engine runs in a mount namespace of its own whose ``/etc/hosts`` says
so, and must reach the registry as Docker does (every address in turn)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import engines
import httpx
import pytest
from engines import DOCKER, Engine, make_engine, needs_docker, wait_for
from hubstack import Stack, hub_stack
from seed import seed

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, pytest.mark.timeout(240)]

USERS = {"alice": "pa55word"}


@pytest.fixture
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-localhost-", USERS, bearer=True) as built:
        yield built


@pytest.fixture
def ipv6_first_engine(busybox_tar: Path) -> Iterator[Engine]:
    """An engine whose ``localhost`` is ``::1`` first (its own ``/etc/hosts``, bind-mounted in a
    private mount namespace that ends with it), busybox loaded."""
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    shim = Path(tempfile.mkdtemp(prefix="wharf-ipv6-first-"))
    (shim / "hosts").write_text("::1 localhost ip6-localhost\n127.0.0.1 localhost\n")
    wrapper = shim / "wharf-engine"
    wrapper.write_text(
        "#!/bin/sh\n"
        "exec unshare --mount --propagation private "
        f'sh -c \'mount --bind "$0" /etc/hosts && exec "$@"\' {shim / "hosts"} '
        f'{engines.VENV_BIN / "wharf-engine"} "$@"\n'
    )
    wrapper.chmod(0o755)
    engine = make_engine()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engines, "VENV_BIN", shim)
            engine.start()
        seed(str(engine.socket), busybox_tar)
        yield engine
    finally:
        engine.cleanup()
        shutil.rmtree(shim, ignore_errors=True)


def cli(engine: Engine, config: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**engine.env, "DOCKER_CONFIG": str(config)}
    return subprocess.run([DOCKER, *args], env=env, input=input, capture_output=True, timeout=120)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def test_docker_login_push_and_pull_by_localhost_and_the_registry_port(
    stack: Stack, ipv6_first_engine: Engine, engine_b: Engine, tmp_path: Path
) -> None:
    engine = ipv6_first_engine
    assert engine.proc is not None
    seen = subprocess.run(
        ["nsenter", "-t", str(engine.proc.pid), "-m", "getent", "ahosts", "localhost"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert seen.stdout.split()[0] == "::1", seen  # the registry listens on 127.0.0.1 only
    address = f"localhost:{stack.registry.port}"
    name = f"{address}/alice/web"
    wrong = cli(engine, tmp_path / "a", "login", address, "-u", "alice", "--password-stdin", input=b"nope\n")
    assert wrong.returncode != 0, wrong
    login = cli(
        engine,
        tmp_path / "a",
        "login",
        address,
        "-u",
        "alice",
        "--password-stdin",
        input=USERS["alice"].encode() + b"\n",
    )
    assert "Login Succeeded" in ok(login)
    # Docker's identity token: the token server's refresh token is kept instead of the password
    saved = json.loads((tmp_path / "a" / "config.json").read_text())["auths"][address]
    assert saved["identitytoken"].startswith("wharf_pat_"), saved
    assert USERS["alice"] not in base64.b64decode(saved.get("auth", "")).decode()
    made = httpx.get(f"{stack.hub.url}/api/v1/user/tokens", auth=("alice", USERS["alice"])).json()
    assert "registry login (docker)" in json.dumps(made)

    ok(engine.docker("tag", "busybox", name))
    out = ok(cli(engine, tmp_path / "a", "push", name))
    found = re.search(r"latest: digest: (sha256:[0-9a-f]{64}) size: \d+", out)
    assert found is not None, out
    tags = wait_for(
        lambda: (
            httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/web/tags", auth=("alice", USERS["alice"]))
            .json()
            .get("results")
        ),
        timeout=20,
    )
    assert [(t["name"], t["digest"]) for t in tags] == [("latest", found[1])]

    pulled = ok(cli(engine_b, tmp_path / "b", "pull", name))  # anonymous: a public repository
    assert f"Status: Downloaded newer image for {name}:latest" in pulled, pulled
    assert ok(engine_b.docker("run", "--rm", name, "echo", "ran")).strip() == "ran"
    log = stack.registry.log.read_text()  # over v2, not the v1 fallback
    assert re.search(r"method=PUT .*path=/v2/alice/web/manifests/latest", log)
