"""``wharf login/push/pull/logout/search`` between two real engines and a real registry with users."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import VENV_BIN, Engine
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        users = reg.root / "users"
        subprocess.run(
            [str(VENV_BIN / "wharf-registry"), "adduser", str(users), "alice"],
            input=b"pa55word\n",
            check=True,
            capture_output=True,
        )
        reg.start({"WHARF_REGISTRY_AUTH__USERS_FILE": str(users)})
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHARF_CONFIG", str(tmp_path / "wharf"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "wharf"


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def test_login_push_pull_run_logout_search(
    engine: Engine, engine_b: Engine, registry: RegistryProcess, config: Path
) -> None:
    server = f"127.0.0.1:{registry.port}"
    name = f"{server}/alice/web"
    ok(engine.wharf("tag", "busybox", f"{name}:v1"))

    denied = engine.wharf("push", f"{name}:v1")
    assert denied.returncode == 1 and b"unauthorized" in denied.stderr

    wrong = engine.wharf("login", "-u", "alice", "--password-stdin", server, input=b"nope\n")
    assert wrong.returncode == 1 and b"Error response from daemon:" in wrong.stderr
    assert not (config / "config.json").exists()
    assert ok(engine.wharf("login", "-u", "alice", "--password-stdin", server, input=b"pa55word\n")) == (
        "Login Succeeded\n"
    )
    path = config / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(config.stat().st_mode) == 0o700
    token = base64.b64encode(b"alice:pa55word").decode()
    assert json.loads(path.read_text()) == {"auths": {server: {"auth": token}}}

    pushed = ok(engine.wharf("push", f"{name}:v1")).splitlines()
    assert pushed[0] == f"The push refers to repository [{name}]"
    assert any(line.endswith(": Pushed") for line in pushed)
    assert not any("\x1b[" in line for line in pushed)  # not a terminal: plain lines

    pulled = ok(engine_b.wharf("pull", f"{name}:v1")).splitlines()
    assert pulled[0] == "v1: Pulling from alice/web"
    assert any(line.endswith(": Pull complete") for line in pulled)
    assert pulled[-2:] == [f"Status: Downloaded newer image for {name}:v1", f"{name}:v1"]
    assert ok(engine_b.wharf("run", "--rm", f"{name}:v1", "echo", "pulled")) == "pulled\n"

    found = ok(engine.wharf("search", f"{server}/web")).splitlines()
    assert found[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
    assert any(line.startswith("alice/web ") for line in found[1:])

    assert ok(engine.wharf("logout", server)) == f"Removing login credentials for {server}\n"
    assert json.loads(path.read_text()) == {"auths": {}}
    ok(engine_b.wharf("rmi", f"{name}:v1"))
    denied = engine_b.wharf("pull", f"{name}:v1")
    assert denied.returncode == 1 and b"unauthorized" in denied.stderr
    assert ok(engine.wharf("logout", server)) == f"Not logged in to {server}\n"


def test_pull_of_an_unknown_tag_fails_on_stderr(
    engine_b: Engine, registry: RegistryProcess, config: Path
) -> None:
    result = engine_b.wharf("pull", f"127.0.0.1:{registry.port}/alice/none:zz")
    assert result.returncode == 1 and result.stderr.strip()


def test_run_pulls_a_missing_image_with_progress(
    engine: Engine, engine_b: Engine, registry: RegistryProcess, config: Path
) -> None:
    """``wharf run`` of an image the engine lacks pulls it first, with docker's lines on stderr."""
    server = f"127.0.0.1:{registry.port}"
    name = f"{server}/alice/runpull"
    for eng in (engine, engine_b):
        ok(eng.wharf("login", "-u", "alice", "--password-stdin", server, input=b"pa55word\n"))
    ok(engine.wharf("tag", "busybox", name))
    ok(engine.wharf("push", name))

    result = engine_b.wharf("run", "--rm", name, "echo", "pulled by run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"pulled by run\n"
    lines = result.stderr.decode().splitlines()
    assert lines[0] == f"Unable to find image '{name}:latest' locally"
    assert lines[1] == "latest: Pulling from alice/runpull"
    assert any(line.endswith(": Pull complete") for line in lines)
    assert lines[-1] == f"Status: Downloaded newer image for {name}:latest"
    assert ok(engine_b.wharf("images", "-q", name)).strip()

    again = engine_b.wharf("run", "--rm", name, "true")  # present now: no pull
    assert again.returncode == 0 and again.stderr == b""
    missing = engine_b.wharf("run", "--rm", f"{server}/alice/none:zz", "true")
    assert missing.returncode == 125
    assert missing.stderr.decode().startswith(f"Unable to find image '{server}/alice/none:zz' locally\n")
    assert b"Error response from daemon:" in missing.stderr
