"""A published port reached from another engine's container, many connections in a row.

Two engines stand in for two hosts (each its own bridge): a container on B connects again and again
to a port A publishes, at A's bridge address (how the ambassador recipe reaches the other host).
Every connection must be answered at once; none may stall in SYN_SENT (each is bounded by 3 s).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import running_engine
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker, pytest.mark.timeout(180)]

CONNECTIONS = 30


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def hosts(busybox_tar: Path) -> Iterator[tuple[Engine, Engine]]:
    with ExitStack() as stack:
        yield (
            stack.enter_context(running_engine(busybox_tar)),
            stack.enter_context(running_engine(busybox_tar)),
        )


def test_connections_in_a_row_to_another_engines_published_port(hosts: tuple[Engine, Engine]) -> None:
    a, b = hosts
    port = free_port()
    ok(a.docker("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sh", "-c",
                "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"))  # fmt: skip
    gateway = a.subnet.rsplit(".", 1)[0] + ".1"
    # each wget bounded by the applet timeout (busybox wget -T is unreliable); a stalled one says FAIL
    script = (
        f"for i in $(seq {CONNECTIONS}); do "
        f"timeout 3 wget -qO- http://{gateway}:{port}/ >/dev/null 2>&1 || echo FAIL $i; done; echo done"
    )
    result = b.docker("run", "--rm", "busybox", "sh", "-c", script, timeout=150)
    out = ok(result)
    assert out.split() == ["done"], out
