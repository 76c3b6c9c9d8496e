"""A user network's life through the docker CLI: ``network create``, ``connect`` of a running container,
``disconnect``, ``rm``. The pieces ``network_bench.py`` and ``bench.py`` share (this module imports neither).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

DOCKER = "/usr/local/bin/docker"
TARGET = "whnb-target"  # the running container every connect plugs into
POOL_SIZE = 26


def free_network(second: tuple[int, int], prefixlen: int) -> ipaddress.IPv4Network | None:
    """A ``10.<second>.x.0/<prefixlen>`` (second octet in the range ``second``, inclusive) that no
    address on this host overlaps; None after 100 tries."""
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=False).stdout
    used = [ipaddress.ip_interface(line.split()[3]).network for line in out.splitlines()]
    step = 1 << (24 - prefixlen)
    for _ in range(100):
        third = random.randint(0, 256 // step - 1) * step
        net = ipaddress.IPv4Network(f"10.{random.randint(*second)}.{third}.0/{prefixlen}")
        if not any(net.overlaps(u) for u in used):
            return net
    return None


def free_pool() -> ipaddress.IPv4Network | None:
    """A /22 in 10.100-199.x.x (the test engines' range) that no address on this host overlaps."""
    return free_network((100, 199), 22)


def pool_flags() -> list[str]:
    """Engine flags that give its user networks a pool of their own (none: the engine's default pools)."""
    pool = free_pool()
    return ["--default-address-pool", f"base={pool},size={POOL_SIZE}"] if pool else []


def remove_networks(docker: str, env: Mapping[str, str]) -> None:
    """Every user network the engine still has (once its containers have gone)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            [docker, "network", "ls", "-q", "--filter", "type=custom"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if found.stdout.split():
            subprocess.run(
                [docker, "network", "rm", *found.stdout.split()], env=env, capture_output=True, timeout=60
            )


def delete_user_bridges(store: Path) -> None:
    """Bridges of networks an engine could not remove (it died), as its network store records them."""
    for path in store.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            bridge = str(json.loads(path.read_text())["bridge"])
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)


def prepare(
    stack: contextlib.ExitStack, env: Mapping[str, str], tmp: Path, run: Callable[..., object]
) -> Callable[[int], list[str]]:
    """``bench.py``'s row, on its engine (data root ``tmp/root``): start the target container (with
    ``run(argv, env=...)``) and register the clean-up; the argv of run ``i``: the four steps as one shell
    command, on a network of its own."""
    docker = shutil.which("docker") or DOCKER
    stack.callback(delete_user_bridges, tmp / "root" / "networks")
    stack.callback(remove_networks, docker, env)
    stack.callback(subprocess.run, [docker, "rm", "-f", TARGET], env=env, capture_output=True, check=False)
    run([docker, "run", "-d", "--name", TARGET, "busybox", "sleep", "3600"], env=env)
    script = (
        f'set -e; n="whnb-$1"; "$0" network create "$n" >/dev/null; "$0" network connect "$n" {TARGET}; '
        f'"$0" network disconnect "$n" {TARGET}; "$0" network rm "$n" >/dev/null'
    )

    def argv(i: int) -> list[str]:
        return ["sh", "-c", script, docker, str(i)]

    return argv


def steps(docker: str, name: str) -> Sequence[tuple[str, list[str]]]:
    """The four steps on network ``name``, each its own command (``network_bench.py`` times each)."""
    net = [docker, "network"]
    return [
        ("create", [*net, "create", name]),
        ("connect", [*net, "connect", name, TARGET]),
        ("disconnect", [*net, "disconnect", name, TARGET]),
        ("rm", [*net, "rm", name]),
    ]
