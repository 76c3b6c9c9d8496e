"""A published port reached from another engine's container, many connections in a row.

Two engines stand in for two hosts (each its own bridge): a container on B connects again and again
to a port A publishes, at A's bridge address (how the ambassador recipe reaches the other host).
Containers come and go on B's bridge in between: a bridge whose MAC was never set takes its lowest
port's, so its MAC changed under B's running container, whose ARP entry for its gateway then named
a MAC nobody answered for (its connection stalled in SYN_SENT, about one run in three).
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
    ok(
        a.docker(
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            f"{port}:80",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www",
        )
    )
    gateway = a.subnet.rsplit(".", 1)[0] + ".1"
    # each wget bounded by the applet timeout (busybox wget -T is unreliable); a stalled one says FAIL
    script = (
        f"for i in $(seq {CONNECTIONS}); do "
        f"timeout 3 wget -qO- http://{gateway}:{port}/ >/dev/null 2>&1 || echo FAIL $i; done; echo done"
    )
    result = b.docker("run", "--rm", "busybox", "sh", "-c", script, timeout=150)
    out = ok(result)
    assert out.split() == ["done"], out


def bridge_mac(bridge: str) -> tuple[str, str]:
    sysfs = Path("/sys/class/net") / bridge
    return (sysfs / "address").read_text().strip(), (sysfs / "addr_assign_type").read_text().strip()


def test_a_bridge_keeps_its_mac_while_containers_come_and_go(hosts: tuple[Engine, Engine]) -> None:
    a, _ = hosts
    ok(a.docker("network", "create", "macs"))
    try:
        user_bridge = "br-" + a.json("GET", "/networks/macs")["Id"][:12]
        ok(a.docker("run", "-d", "--name", "stayer", "--network", "macs", "busybox", "sleep", "300"))
        ok(a.docker("run", "-d", "--name", "stayer2", "busybox", "sleep", "300"))
        before = {b: bridge_mac(b) for b in (a.bridge, user_bridge)}
        assert all(kind == "3" for _, kind in before.values()), before  # NET_ADDR_SET: it never follows
        for _ in range(3):
            ok(a.docker("run", "--rm", "busybox", "true"))
            ok(a.docker("run", "--rm", "--network", "macs", "busybox", "true"))
        assert {b: bridge_mac(b) for b in before} == before
    finally:
        a.docker("rm", "-f", "stayer", "stayer2")
        a.docker("network", "rm", "macs")


def test_a_running_container_reaches_another_engine_while_its_bridge_changes(
    hosts: tuple[Engine, Engine],
) -> None:
    a, b = hosts
    port = free_port()
    ok(
        a.docker(
            "run",
            "-d",
            "--name",
            "web2",
            "-p",
            f"{port}:80",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www",
        )
    )
    ok(b.docker("run", "-d", "--name", "caller", "busybox", "sleep", "300"))
    gateway = a.subnet.rsplit(".", 1)[0] + ".1"
    try:
        for i in range(5):
            ok(b.docker("run", "--rm", "busybox", "true"))  # a port joins and leaves B's bridge
            got = b.docker(
                "exec", "caller", "timeout", "3", "wget", "-qO-", f"http://{gateway}:{port}/", timeout=30
            )
            assert got.returncode == 0 and got.stdout.strip() == b"hello", (i, got)
    finally:
        b.docker("rm", "-f", "caller")
        a.docker("rm", "-f", "web2")
