"""The ambassador pattern (Docker's "Link via an ambassador container"), with two engines as two hosts.

Host A runs redis and an ambassador linked to it that publishes 6379; host B runs an ambassador that
forwards its 6379 to host A's published port, and the client links to B's ambassador as ``redis``. The
client never learns where the server is: when redis moves, only the ambassador on A is re-pointed.

The ``redis`` and ``ambassador`` images come from the official-image cache (``deploy/images/rootfs.py``,
built once per machine, as test_official_images does).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import REPO, Engine, make_engine, needs_docker, wait_for
from seed import seed

ROOTFS = REPO / "deploy" / "images" / "rootfs.py"

pytestmark = [pytest.mark.root, needs_docker, pytest.mark.timeout(900)]  # a first run builds the ambassador


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def cached_image(name: str) -> Path:
    result = subprocess.run(
        [sys.executable, str(ROOTFS), name, "--if-missing", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
        timeout=800,
        check=False,
    )
    assert result.returncode == 0, f"building {name} failed"
    return Path(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def images() -> dict[str, Path]:
    return {name: cached_image(name) for name in ("redis", "ambassador")}


@pytest.fixture(scope="module")
def hosts(images: dict[str, Path]) -> Iterator[tuple[Engine, Engine]]:
    """Two engines, each with its own bridge and subnet, both holding redis and ambassador."""
    engines = [make_engine(), make_engine()]
    try:
        for engine in engines:
            engine.start()
            for name, tar in images.items():
                seed(str(engine.socket), tar, f"{name}:latest")
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.cleanup()


def gateway(engine: Engine) -> str:
    """The host's address on the engine's bridge: how the other "host" reaches this one."""
    return engine.subnet.rsplit(".", 1)[0] + ".1"


def cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``redis-cli`` on ``engine`` knowing only the link alias ``redis``, bounded inside the container."""
    return engine.docker(
        "run",
        "--rm",
        "--link",
        "redis_ambassador:redis",
        "redis",
        "timeout",
        "20",
        "redis-cli",
        "-h",
        "redis",
        *args,
        timeout=60,
    )


def redis_cli(engine: Engine, *args: str) -> str:
    result = cli(engine, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def test_client_reaches_redis_on_another_host_through_two_ambassadors(hosts: tuple[Engine, Engine]) -> None:
    a, b = hosts
    port = free_port()
    ok(a.docker("run", "-d", "--name", "redis1", "redis"))
    ok(
        a.docker(
            "run",
            "-d",
            "--name",
            "redis_ambassador",
            "--link",
            "redis1:redis",
            "-p",
            f"{port}:6379",
            "ambassador",
        )
    )
    ok(
        b.docker(
            "run",
            "-d",
            "--name",
            "redis_ambassador",
            "--expose",
            "6379",
            "-e",
            f"REDIS_PORT_6379_TCP=tcp://{gateway(a)}:{port}",
            "ambassador",
        )
    )
    wait_for(lambda: b"ambassador: :6379 -> " in b.docker("logs", "redis_ambassador").stdout, timeout=20)

    wait_for(lambda: cli(b, "ping").stdout.strip() == b"PONG", timeout=60, interval=0.5)  # redis starting
    assert redis_cli(b, "set", "greeting", "from host B") == "OK"
    assert ok(a.docker("exec", "redis1", "redis-cli", "get", "greeting")).strip() == "from host B"

    # the server moves (a new container, a new address): only the ambassador on A changes its target
    ok(a.docker("run", "-d", "--name", "redis2", "redis"))
    wait_for(lambda: a.docker("exec", "redis2", "redis-cli", "ping").stdout.strip() == b"PONG", timeout=30)
    ok(a.docker("exec", "redis2", "redis-cli", "set", "where", "redis2"))
    ok(a.docker("rm", "-f", "redis_ambassador", "redis1"))
    ok(
        a.docker(
            "run",
            "-d",
            "--name",
            "redis_ambassador",
            "--link",
            "redis2:redis",
            "-p",
            f"{port}:6379",
            "ambassador",
        )
    )
    wait_for(lambda: cli(b, "get", "where").stdout.strip() == b"redis2", timeout=60, interval=0.5)
    assert redis_cli(b, "get", "greeting") == ""  # the old server's data stayed with it


def test_ambassador_without_anything_to_forward_says_so(hosts: tuple[Engine, Engine]) -> None:
    a, _ = hosts
    result = a.docker("run", "--rm", "ambassador", timeout=60)
    assert result.returncode == 1
    assert b"nothing to forward" in result.stderr


def test_ambassador_stops_at_once_on_sigterm(hosts: tuple[Engine, Engine]) -> None:
    a, _ = hosts
    ok(a.docker("run", "-d", "--name", "quick", "-e", "X_PORT_7000_TCP=tcp://127.0.0.1:7001", "ambassador"))
    try:
        wait_for(lambda: b"ambassador: :7000" in a.docker("logs", "quick").stdout, timeout=20)
        ok(a.docker("stop", "-t", "20", "quick", timeout=30))
        state = a.json("GET", "/containers/quick/json")["State"]
        assert state["ExitCode"] == 0  # the trap ended it, not the SIGKILL after the timeout
    finally:
        a.docker("rm", "-f", "quick")
