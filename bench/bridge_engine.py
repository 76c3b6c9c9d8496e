"""A wharf engine on a bridge and /24 of its own (``whb<hex>``, a free /24 in 10.200-250.x.0), busybox
imported, for the benches that need container networking; every clean-up registered on the stack."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench import harness as base
    from bench.network_cycle import free_network
else:
    import harness as base
    from network_cycle import free_network


@dataclass(frozen=True, slots=True)
class Engine:
    sock: Path
    bridge: str
    subnet: ipaddress.IPv4Network
    env: dict[str, str]  # the docker CLI's, pointed at this engine


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200-250.x.0 that no address on this host overlaps."""
    subnet = free_network((200, 250), 24)
    if subnet is None:
        raise base.Skip("no free /24 in 10.200-250.x.0")
    return subnet


def kill_leftovers(runc_root: Path) -> None:
    """Containers the engine left in runc (after it has stopped): kill and delete them."""
    for state in runc_root.glob("*"):
        for cmd in (["kill", "--all", state.name, "9"], ["delete", "--force", state.name]):
            subprocess.run(["runc", "--root", str(runc_root), *cmd], capture_output=True, check=False)


def remove_containers(env: Mapping[str, str]) -> int:
    """``docker rm -f`` every container the engine has; return how many there were (-1: unknown)."""
    docker = str(base.DOCKER)
    try:
        ids = subprocess.run([docker, "ps", "-aq"], env=env, capture_output=True, text=True, timeout=30)
        if ids.stdout.split():
            subprocess.run(
                [docker, "rm", "-f", *ids.stdout.split()], env=env, capture_output=True, timeout=60
            )
    except (OSError, subprocess.SubprocessError):
        return -1
    return len(ids.stdout.split())


def start_engine(stack: contextlib.ExitStack, tmp: Path, image: Path) -> Engine:
    """A wharf engine on a bridge and /24 of its own, busybox imported; its clean-up registered."""
    bridge, subnet = f"whb{secrets.token_hex(4)}", free_subnet()
    root, sock = tmp / "root", tmp / "engine.sock"
    stack.callback(subprocess.run, ["ip", "link", "del", bridge], capture_output=True, check=False)
    stack.callback(kill_leftovers, root / "runc")
    argv = [base.tool(base.VENV_BIN / "wharf-engine"), "--data-root", str(root), "-H", f"unix://{sock}"]
    argv += ["--pidfile", str(tmp / "engine.pid"), "--bridge", bridge, "--subnet", str(subnet)]
    base.start_daemon(stack, "wharf-engine", argv, sock, tmp / "engine.log", os.environ)
    env = base.docker_env(tmp, sock)
    stack.callback(remove_containers, env)  # runs before the engine is stopped
    base.import_image(sock, image)
    base.log(f"engine on bridge {bridge}, subnet {subnet}")
    return Engine(sock, bridge, subnet, env)
