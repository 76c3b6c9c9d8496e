"""User networks through the real docker CLI against a wharf engine: ms for each step of a network's life.

Each round, one after another: ``docker network create``, ``docker network connect`` of a running
busybox container (a veth hot-plugged into it), ``docker network disconnect`` and ``docker network rm``;
the table gives each step's median, min and max over ``--rounds`` (15) rounds after one warm-up.

The engine gets a bridge (``whb<hex>``) and a /24 of its own, and its user networks a /22 pool in
10.100-199.x.x (the test engines' range, which the host-is-clean test watches). On the way out (SIGTERM
included) containers and networks are removed, the engine stopped by pid, runc leftovers killed, the bridges
deleted and the private temp dir removed. ``bench.py`` times the whole cycle as one row (``cycle_case``).

Usage: ``.venv/bin/python bench/network_bench.py [--rounds 15] [--max-seconds 120] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench import bench as base
    from bench import net_bench, network_cycle
else:
    import net_bench
    import network_cycle

    import bench as base

STEPS = ("create", "connect", "disconnect", "rm")


def start_engine(stack: contextlib.ExitStack, tmp: Path, image: Path) -> dict[str, str]:
    """A wharf engine on a bridge, /24 and pool of its own, busybox imported; its clean-up registered."""
    bridge, subnet = f"whb{secrets.token_hex(4)}", net_bench.free_subnet()
    root, sock = tmp / "root", tmp / "engine.sock"
    stack.callback(subprocess.run, ["ip", "link", "del", bridge], capture_output=True, check=False)
    stack.callback(network_cycle.delete_user_bridges, root / "networks")
    isolation = ["nft", "delete", "table", "ip", f"wharf_isolation_{bridge}"]  # outlives an engine that died
    stack.callback(subprocess.run, isolation, capture_output=True, check=False)
    stack.callback(net_bench.kill_leftovers, root / "runc")
    argv = [base.tool(base.VENV_BIN / "wharf-engine"), "--data-root", str(root), "-H", f"unix://{sock}"]
    argv += [
        "--pidfile",
        str(tmp / "engine.pid"),
        "--bridge",
        bridge,
        "--subnet",
        str(subnet),
        *network_cycle.pool_flags(),
    ]
    base.start_daemon(stack, "wharf-engine", argv, sock, tmp / "engine.log", os.environ)
    env = base.docker_env(tmp, sock)
    stack.callback(network_cycle.remove_networks, base.tool(base.DOCKER), env)  # after the containers
    stack.callback(net_bench.remove_containers, env)
    base.import_image(sock, image)
    return env


def timed(argv: Sequence[str], env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=base.RUN_TIMEOUT, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise base.Skip(f"{' '.join(argv[1:4])} exited {proc.returncode}: {base.tail(proc.stderr)}")
    return elapsed


def measure(env: Mapping[str, str], rounds: int, deadline: float) -> dict[str, list[float]]:
    docker = base.tool(base.DOCKER)
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    base.run_checked(
        [docker, "run", "-d", "--name", network_cycle.TARGET, "busybox", "sleep", "3600"], env=env
    )
    for i in range(rounds + 1):  # round 0 warms up
        if time.monotonic() >= deadline:
            base.log(f"--max-seconds reached after {i - 1} rounds")
            break
        times = {step: timed(command, env) for step, command in network_cycle.steps(docker, f"whnb-{i}")}
        if i:
            for step, ms in times.items():
                samples[step].append(ms)
    return samples


def report(samples: dict[str, list[float]]) -> str:
    lines = [f"{'docker network ... -> wharf':<34} {'median ms':>10} {'min ms':>8} {'max ms':>8}"]
    for step in STEPS:
        values = samples[step]
        if values:
            lines.append(
                f"{step:<34} {statistics.median(values):>10.1f} {min(values):>8.1f} {max(values):>8.1f}"
            )
    lines.append(
        f"{len(samples['create'])} rounds after one warm-up; connect/disconnect of a running container"
    )
    return "\n".join(lines)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ExitStack, so clean-up still runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time budget (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the samples as JSON here")
    parser.add_argument("--image", type=Path, default=base.DEFAULT_IMAGE, help="busybox rootfs tar")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    deadline = time.monotonic() + args.max_seconds
    try:
        with (
            tempfile.TemporaryDirectory(prefix="wharf-netbench-", ignore_cleanup_errors=True) as tmp,
            contextlib.ExitStack() as stack,
        ):
            stack.callback(base.unmount_under, Path(tmp))
            env = start_engine(stack, Path(tmp), base.prepare_image(args.image.resolve()))
            samples = measure(env, max(args.rounds, 0), deadline)
    except base.Skip as exc:
        print(f"network bench skipped: {exc}")  # as the other benches: a skip is reported, not a failure
        return 0
    print(report(samples))
    if args.json is not None:
        args.json.write_text(json.dumps(samples, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
