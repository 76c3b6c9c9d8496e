"""How long docker-compose 1.29 takes to bring a 5-service project up (``up -d``) and down (``down``):
against a wharf engine and against podman's Docker-compatible API, in the same run.

The project (``PROJECT_V2``, or ``PROJECT_V1`` with ``--format v1``) is five busybox services: one
publishes a port, one has an anonymous volume that another mounts with ``volumes_from``, the format v2
file adds the project's default network and ``depends_on`` (podman refuses legacy ``links``, so neither
file has any). Each service exits at once on SIGTERM, so ``down`` measures the engine, not a stop timeout.

The wharf engine and ``podman system service --time=0`` (private storage, overlay else vfs) are both
started here and both get busybox from the same tar (``.cache/images/busybox.tar``): nothing is ever
pulled. docker-compose runs from its own virtualenv (``deploy/compose/compose_venv.py``, built on first
use). After one warm-up cycle per engine, the rounds alternate which engine goes first; every cycle
checks that ``up -d`` left five running containers. The table gives the medians of ``up -d``, ``down``
and the whole cycle, and the target: wharf's cycle faster than podman's.

Everything lives in a private temp dir; every process started is stopped by pid, the projects are taken
down (``down -v``) and podman's storage is unmounted and removed on the way out (SIGTERM included).

Usage: ``.venv/bin/python bench/compose_bench.py [--rounds 5] [--max-seconds 400] [--format v2]
[--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench/bench.py (``make bench``), whose helpers this reuses: run as a script, sys.path[0] is bench/;
# mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
else:
    import bench as base

COMPOSE_VENV = base.REPO_ROOT / "deploy" / "compose" / "compose_venv.py"
PROJECT = "wharfbench"
SERVICES = 5
STEP_TIMEOUT = 180.0
SLEEPER = """sh -c 'trap "exit 0" TERM; sleep 1000 & wait'"""

PROJECT_V1 = f"""\
db:
  image: busybox
  command: {SLEEPER}
  volumes: [/data]
cache:
  image: busybox
  command: {SLEEPER}
web:
  image: busybox
  command: {SLEEPER}
  ports: ["8000"]
  environment: [MODE=bench]
worker:
  image: busybox
  command: {SLEEPER}
  volumes_from: [db]
proxy:
  image: busybox
  command: {SLEEPER}
"""

PROJECT_V2 = f"""\
version: "2"
services:
  db:
    image: busybox
    command: {SLEEPER}
    volumes: [/data]
  cache:
    image: busybox
    command: {SLEEPER}
  web:
    image: busybox
    command: {SLEEPER}
    ports: ["8000"]
    environment: [MODE=bench]
    depends_on: [db, cache]
  worker:
    image: busybox
    command: {SLEEPER}
    volumes_from: [db]
    depends_on: [db]
  proxy:
    image: busybox
    command: {SLEEPER}
    depends_on: [web]
"""

ENGINES = {"wharf": "docker-compose -> wharf", "podman": "docker-compose -> podman"}
PEER = "podman"


@dataclass(slots=True)
class Side:
    """One engine under docker-compose: the environment that points compose at it, and its timings."""

    key: str
    env: Mapping[str, str]
    up: list[float] = field(default_factory=list)
    down: list[float] = field(default_factory=list)
    skipped: str | None = None

    @property
    def cycles(self) -> list[float]:
        return [u + d for u, d in zip(self.up, self.down, strict=False)]


def ensure_compose() -> str:
    out = base.run_checked([sys.executable, str(COMPOSE_VENV)])
    return out.strip()


def compose(compose_bin: str, side: Side, project_dir: Path, *args: str) -> float:
    """Run one docker-compose command against ``side``; its wall time in ms (Skip when it fails)."""
    argv = [compose_bin, "--ansi", "never", "-p", PROJECT, *args]
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            argv,
            cwd=project_dir,
            env=dict(side.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        elapsed = (time.perf_counter() - start) * 1000
    except subprocess.TimeoutExpired as exc:
        raise base.Skip(f"{' '.join(args)} timed out after {STEP_TIMEOUT:.0f}s") from exc
    if proc.returncode != 0:
        raise base.Skip(f"{' '.join(args)} exited {proc.returncode}: {base.tail(proc.stderr or proc.stdout)}")
    return elapsed


def running(compose_bin: str, side: Side, project_dir: Path) -> int:
    argv = [compose_bin, "--ansi", "never", "-p", PROJECT, "ps", "-q", "--filter", "status=running"]
    proc = subprocess.run(
        argv, cwd=project_dir, env=dict(side.env), capture_output=True, text=True, check=False
    )
    return len(proc.stdout.split())


def cycle(compose_bin: str, side: Side, project_dir: Path, *, record: bool) -> None:
    up = compose(compose_bin, side, project_dir, "up", "-d")
    if (count := running(compose_bin, side, project_dir)) != SERVICES:
        compose(compose_bin, side, project_dir, "down", "-v", "-t", "0")
        raise base.Skip(f"up -d left {count} running containers, not {SERVICES}")
    down = compose(compose_bin, side, project_dir, "down")
    if record:
        side.up.append(up)
        side.down.append(down)


def setup(
    stack: contextlib.ExitStack, tmp: Path, image: Path, compose_bin: str, text: str
) -> dict[str, Side]:
    """Both engines started, busybox in each, the project file written; a side that fails is skipped."""
    project_dir = tmp / "project"
    project_dir.mkdir()
    (project_dir / "docker-compose.yml").write_text(text)
    sides = {key: Side(key, {}) for key in ENGINES}
    try:
        sock = base.setup_engine(stack, tmp, image)
        sides["wharf"].env = base.docker_env(tmp, sock)
    except base.Skip as exc:
        sides["wharf"].skipped = str(exc)
    try:
        podman, podman_env = base.setup_podman(stack, tmp, image)
        sock = tmp / "podman.sock"
        argv = [*podman, "system", "service", "--time=0", f"unix://{sock}"]
        base.start_daemon(stack, "podman system service", argv, sock, tmp / "podman-service.log", podman_env)
        sides["podman"].env = {**base.docker_env(tmp, sock), "CONTAINERS_CONF": podman_env["CONTAINERS_CONF"]}
    except base.Skip as exc:
        sides["podman"].skipped = str(exc)
    for side in sides.values():
        if side.skipped is None:  # runs before the daemons stop (the stack unwinds in reverse)
            down = [compose_bin, "-p", PROJECT, "down", "-v", "-t", "0"]
            stack.callback(
                subprocess.run,
                down,
                cwd=project_dir,
                env=dict(side.env),
                capture_output=True,
                timeout=120,
                check=False,
            )
    return sides


def measure(compose_bin: str, sides: dict[str, Side], project_dir: Path, rounds: int, deadline: float) -> int:
    live = [s for s in sides.values() if s.skipped is None]
    for side in live:
        try:
            cycle(compose_bin, side, project_dir, record=False)
        except base.Skip as exc:
            side.skipped = f"warm-up failed: {exc}"
    live = [s for s in live if s.skipped is None]
    done = 0
    for r in range(rounds):
        if time.monotonic() >= deadline:
            base.log(f"--max-seconds reached after {done} rounds")
            break
        for side in live[r % 2 :] + live[: r % 2] if len(live) == 2 else live:
            if side.skipped is not None:
                continue
            try:
                cycle(compose_bin, side, project_dir, record=True)
            except base.Skip as exc:
                side.skipped = f"round {r + 1} failed: {exc}"
        done += 1
    return done


def median(samples: list[float]) -> float | None:
    return statistics.median(samples) / 1000 if samples else None


def verdict(sides: dict[str, Side]) -> dict[str, Any]:
    ours, peer = median(sides["wharf"].cycles), median(sides[PEER].cycles)
    if ours is None or peer is None:
        return {"target": "faster than podman", "verdict": "n/a", "detail": "no samples"}
    detail = f"{ours:.2f} s vs {peer:.2f} s ({peer / ours:.2f}x)"
    return {"target": "faster than podman", "verdict": "met" if ours < peer else "MISSED", "detail": detail}


def report(sides: dict[str, Side], rounds: int, fmt: str) -> str:
    head = f"case ({SERVICES} services, format {fmt})"
    lines = [f"{head:<40} {'up -d s':>8} {'down s':>8} {'cycle s':>8} {'min':>7}"]
    for side in sides.values():
        label = ENGINES[side.key]
        if not side.cycles:
            lines.append(f"{label:<40} skipped: {side.skipped or 'no samples'}")
            continue
        up, down, total = median(side.up), median(side.down), median(side.cycles)
        failed = f"  ({side.skipped})" if side.skipped else ""
        lines.append(
            f"{label:<40} {up:>8.2f} {down:>8.2f} {total:>8.2f} {min(side.cycles) / 1000:>7.2f}{failed}"
        )
    v = verdict(sides)
    lines.append(f"target: docker-compose up -d + down {v['target']}: {v['detail']} -> {v['verdict']}")
    lines.append(f"{rounds} rounds (alternating which engine goes first) after one warm-up cycle per engine")
    return "\n".join(lines)


def as_json(sides: dict[str, Side], rounds: int, fmt: str) -> dict[str, Any]:
    cases: list[dict[str, Any]] = [
        {"key": s.key, "label": ENGINES[s.key], "up_s": median(s.up), "down_s": median(s.down)}
        | {
            "cycle_s": median(s.cycles),
            "up_samples_ms": s.up,
            "down_samples_ms": s.down,
            "skipped": s.skipped,
        }
        for s in sides.values()
    ]
    return {"rounds": rounds, "format": fmt, "services": SERVICES, "cases": cases, "target": verdict(sides)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=400.0, help="overall time budget (default: 400)")
    parser.add_argument(
        "--format", choices=("v1", "v2"), default="v2", help="compose file format (default: v2)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--image", type=Path, default=base.DEFAULT_IMAGE, help="busybox rootfs tar (built if default)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)

    deadline = time.monotonic() + args.max_seconds
    text = PROJECT_V2 if args.format == "v2" else PROJECT_V1
    with (
        tempfile.TemporaryDirectory(prefix="wharf-compose-bench-", ignore_cleanup_errors=True) as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(base.unmount_under, Path(tmp))  # runs last: after every daemon has stopped
        try:
            image = base.prepare_image(args.image.resolve())
            compose_bin = ensure_compose()
        except base.Skip as exc:
            print(f"compose bench skipped: {exc}")
            return 0
        sides = setup(stack, Path(tmp), image, compose_bin, text)
        for side in sides.values():
            if side.skipped:
                base.log(f"skipping {side.key}: {side.skipped}")
        base.log(f"measuring docker-compose up -d + down, format {args.format}: {args.rounds} rounds")
        rounds = measure(compose_bin, sides, Path(tmp) / "project", max(args.rounds, 0), deadline)

    print(report(sides, rounds, args.format))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(sides, rounds, args.format), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
