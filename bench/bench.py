"""``make bench``: how long ``run --rm busybox true`` takes through wharf, next to runc alone and podman.

Each case in ``CASE_SPECS`` runs once to warm up, then all run round-robin (each round starts one case later)
and the table gives medians and the ratio to the case's floor: ``runc run`` of a prepared busybox bundle for
the container cases, ``python -c pass`` for ``wharf ps``. The docker CLI cases point ``DOCKER_HOST`` at the
bench's own wharf engine and at ``podman system service``; the TLS row is ``tls_bench.py``'s, the network row
``network_cycle.py``'s (``network_bench.py`` times its steps one by one), the DNS row ``dns_bench.py``'s.
Everything lives in a private temp dir; a case whose tool is missing or whose set-up fails is printed as
skipped. Every process started is stopped by pid and the temp dir removed on the way out (SIGTERM too).

Usage: ``.venv/bin/python bench/bench.py [--rounds 30] [--max-seconds 300] [--json PATH] [--image TAR]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package. The other benches
# ``import bench as base``: the names of harness.py and runners.py stay reachable from here (__all__).
if TYPE_CHECKING:
    from bench import network_cycle
    from bench.dns_bench import dns_row
    from bench.harness import (
        BUILD_SCRIPT,
        DEFAULT_IMAGE,
        DOCKER,
        REPO_ROOT,
        RUN_TIMEOUT,
        START_TIMEOUT,
        ULIMITS,
        VENV_BIN,
        Case,
        Skip,
        _terminate,
        docker_env,
        fixed,
        import_image,
        log,
        prepare_image,
        run_checked,
        run_once,
        start_daemon,
        stop_process,
        tail,
        tool,
        unmount_under,
    )
    from bench.runners import podman_flags, setup_engine, setup_floor, setup_podman
    from bench.tls_bench import CertsFailed, engine_tls, tls_verdict
else:
    import network_cycle
    from dns_bench import dns_row
    from harness import (
        BUILD_SCRIPT,
        DEFAULT_IMAGE,
        DOCKER,
        REPO_ROOT,
        RUN_TIMEOUT,
        START_TIMEOUT,
        ULIMITS,
        VENV_BIN,
        Case,
        Skip,
        _terminate,
        docker_env,
        fixed,
        import_image,
        log,
        prepare_image,
        run_checked,
        run_once,
        start_daemon,
        stop_process,
        tail,
        tool,
        unmount_under,
    )
    from runners import podman_flags, setup_engine, setup_floor, setup_podman
    from tls_bench import CertsFailed, engine_tls, tls_verdict

__all__ = [
    "BUILD_SCRIPT",
    "CASE_SPECS",
    "DEFAULT_IMAGE",
    "DOCKER",
    "REPO_ROOT",
    "RUN_TIMEOUT",
    "START_TIMEOUT",
    "ULIMITS",
    "VENV_BIN",
    "Case",
    "Outcome",
    "Skip",
    "_terminate",
    "docker_env",
    "fixed",
    "import_image",
    "log",
    "main",
    "measure",
    "podman_flags",
    "prepare_image",
    "run_checked",
    "run_once",
    "setup_cases",
    "setup_engine",
    "setup_floor",
    "setup_podman",
    "start_daemon",
    "stop_process",
    "tail",
    "tool",
    "unmount_under",
]

# key, label, baseline key (None for a floor)
CASE_SPECS: tuple[tuple[str, str, str | None], ...] = (
    ("floor", "runc run (floor)", None),
    ("wharf", "wharf run --rm busybox true", "floor"),
    ("docker-wharf", "docker run --rm busybox true -> wharf", "floor"),
    ("docker-wharf-tls", "  same, tcp+tlsverify on loopback", "docker-wharf"),
    ("podman", "podman run --rm busybox true", "floor"),
    ("docker-podman", "docker run --rm busybox true -> podman", "floor"),
    ("docker-network", "docker network create..connect..rm", None),  # network_bench.py: each
    ("python", "python -c pass (CLI floor)", None),
    ("wharf-ps", "wharf ps", "python"),
)


@dataclass(slots=True)
class Outcome:
    key: str
    label: str
    baseline: str | None
    samples: list[float] = field(default_factory=list)
    skipped: str | None = None
    failures: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def setup_cases(
    stack: contextlib.ExitStack, tmp: Path, image_arg: Path
) -> tuple[dict[str, Case], dict[str, str]]:
    """Build every case that can run here; the rest map to the reason they are skipped."""
    cases: dict[str, Case] = {}
    skipped: dict[str, str] = {}
    true = ["run", "--rm", "busybox", "true"]

    def attempt(keys: Sequence[str], make: Callable[[], Sequence[Case]]) -> None:
        try:
            cases.update(zip(keys, make(), strict=True))
        except Skip as exc:
            skipped.update(dict.fromkeys(keys, str(exc)))

    attempt(["python"], lambda: [Case(fixed(tool(str(VENV_BIN / "python")), "-c", "pass"))])
    try:
        image = prepare_image(image_arg)
    except Skip as exc:
        skipped.update({key: f"no busybox image: {exc}" for key, _, _ in CASE_SPECS if key != "python"})
        return cases, skipped

    attempt(["floor"], lambda: [setup_floor(tmp, image)])
    try:
        engine_flags, tls_flags = engine_tls(tool(VENV_BIN / "wharf-engine"), tmp)
    except (Skip, CertsFailed) as exc:
        engine_flags, tls_flags = [], []
        skipped["docker-wharf-tls"] = f"no TLS certificates: {exc}"
    try:
        sock = setup_engine(stack, tmp, image, [*engine_flags, *network_cycle.pool_flags()])
    except Skip as exc:
        skipped.update(dict.fromkeys(("wharf", "docker-wharf", "docker-wharf-tls", "wharf-ps"), str(exc)))
    else:
        wharf_env = {**os.environ, "WHARF_HOST": f"unix://{sock}"}
        wharf = str(VENV_BIN / "wharf")
        attempt(["wharf"], lambda: [Case(fixed(tool(wharf), *true), wharf_env)])
        attempt(["wharf-ps"], lambda: [Case(fixed(tool(wharf), "ps"), wharf_env)])
        attempt(["docker-wharf"], lambda: [Case(fixed(tool(DOCKER), *true), docker_env(tmp, sock))])
        if tls_flags:
            tls_case = Case(fixed(tool(DOCKER), *tls_flags, *true), docker_env(tmp, sock))
            attempt(["docker-wharf-tls"], lambda: [tls_case])
        nenv, network = docker_env(tmp, sock), network_cycle.prepare
        attempt(["docker-network"], lambda: [Case(network(stack, nenv, tmp, run_checked), nenv)])

    try:
        podman, podman_env = setup_podman(stack, tmp, image)
    except Skip as exc:
        skipped.update(dict.fromkeys(("podman", "docker-podman"), str(exc)))
        return cases, skipped
    ulimits = [arg for u in ULIMITS for arg in ("--ulimit", u)]
    cases["podman"] = Case(fixed(*podman, "run", "--rm", *ulimits, "busybox", "true"), podman_env)

    def podman_service() -> list[Case]:
        docker = tool(DOCKER)
        sock = tmp / "podman.sock"
        argv = [*podman, "system", "service", "--time=0", f"unix://{sock}"]
        start_daemon(stack, "podman system service", argv, sock, tmp / "podman-service.log", podman_env)
        return [Case(fixed(docker, *true), docker_env(tmp, sock))]

    attempt(["docker-podman"], podman_service)
    return cases, skipped


def measure(cases: dict[str, Case], outcomes: dict[str, Outcome], rounds: int, deadline: float) -> int:
    """Warm each case up once, then run round-robin; return the number of complete rounds."""
    counter = 0
    for key in list(cases):
        counter += 1
        try:
            run_once(cases[key], counter)
        except Skip as exc:
            outcomes[key].skipped = f"warm-up failed: {exc}"
            del cases[key]
    done, keys = 0, list(cases)
    for r in range(rounds):
        if time.monotonic() >= deadline:
            log(f"--max-seconds reached after {done} rounds")
            break
        shift = r % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            if key not in cases:
                continue
            counter += 1
            try:
                outcomes[key].samples.append(run_once(cases[key], counter))
            except Skip as exc:
                outcomes[key].failures += 1
                if outcomes[key].failures >= 3:
                    outcomes[key].skipped = f"failed 3 times, last: {exc}"
                    del cases[key]
        done += 1
    return done


# (ours, peer) for the lines under the table
PEER_PAIRS = [("docker-wharf", "docker-podman"), ("docker-wharf", "podman"), ("wharf", "podman")]


def report(outcomes: dict[str, Outcome], rounds: int) -> str:
    lines = [f"{'case':<42} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'ratio':>8}  baseline"]
    for outcome in outcomes.values():
        median = outcome.median
        if median is None:
            lines.append(f"{outcome.label:<42} skipped: {outcome.skipped or 'no samples'}")
            continue
        base = outcomes[outcome.baseline].median if outcome.baseline else median
        ratio = f"{median / base:.2f}x" if base else "-"
        fails = f"  ({outcome.failures} failed)" if outcome.failures else ""
        lines.append(
            f"{outcome.label:<42} {median:>10.1f} {min(outcome.samples):>8.1f} {max(outcome.samples):>8.1f} "
            f"{ratio:>8}  {outcome.baseline or '(floor)'}{fails}"
        )
    for ours, peer in PEER_PAIRS:
        a, b = outcomes[ours].median, outcomes[peer].median
        if a and b:
            lines.append(f"peer: {outcomes[ours].label} is {b / a:.1f}x faster than {outcomes[peer].label}")
    if line := tls_verdict(outcomes["docker-wharf-tls"].median, outcomes["docker-wharf"].median):
        lines.append(line)
    lines.append(f"{rounds} interleaved rounds after one warm-up run per case")
    return "\n".join(lines)


def as_json(outcomes: dict[str, Outcome], rounds: int) -> dict[str, Any]:
    def ratio(o: Outcome) -> float | None:
        base = outcomes[o.baseline].median if o.baseline else None
        return o.median / base if o.median is not None and base else None

    cases = [
        {
            "key": o.key,
            "label": o.label,
            "baseline": o.baseline,
            "median_ms": o.median,
            "ratio": ratio(o),
            "samples_ms": o.samples,
            "failures": o.failures,
            "skipped": o.skipped,
        }
        for o in outcomes.values()
    ]
    return {"rounds": rounds, "cases": cases}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="overall time budget (default: 300)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="busybox tar (built if default)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    deadline = time.monotonic() + args.max_seconds
    outcomes = {key: Outcome(key, label, baseline) for key, label, baseline in CASE_SPECS}
    with (
        tempfile.TemporaryDirectory(prefix="wharf-bench-", ignore_cleanup_errors=True) as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(unmount_under, Path(tmp))  # runs last: after every daemon has stopped
        cases, skipped = setup_cases(stack, Path(tmp), args.image.resolve())
        for key, reason in skipped.items():
            outcomes[key].skipped = reason
            log(f"skipping {key}: {reason}")
        log(f"measuring {', '.join(cases)}: {args.rounds} rounds")
        rounds = measure(cases, outcomes, max(args.rounds, 0), deadline)
        dns = dns_row(stack, Path(tmp) / "engine.sock", deadline)  # on the engine, while it runs

    print(report(outcomes, rounds) + "\n" + dns.line())
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(outcomes, rounds) | dns.as_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
