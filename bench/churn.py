"""Container churn: ``busybox true`` containers started and removed one after another, then N at a time,
for ``runc run`` (the floor), ``docker run --rm`` against a wharf engine and ``podman run --rm``."""

from __future__ import annotations

import contextlib
import shlex
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench import harness as base
    from bench import runners
    from bench.bridge_engine import Engine, remove_containers, start_engine
else:
    import harness as base
    import runners
    from bridge_engine import Engine, remove_containers, start_engine

MAX_FAILURES = 5  # a batch stops after this many failed runs
RUNNERS = {"runc": "runc run (floor)", "wharf": "docker run --rm -> wharf", "podman": "podman run --rm"}


@dataclass(slots=True)
class Batch:
    runner: str
    workers: int
    seconds: float | None = None  # the median of the rounds' wall times
    samples: list[float] = field(default_factory=list)
    done: int = 0
    failures: int = 0
    error: str | None = None  # why it was skipped, or the last failure

    @property
    def label(self) -> str:
        return f"{RUNNERS[self.runner]}, {'sequential' if self.workers == 1 else f'{self.workers}-way'}"


def run_batch(batch: Batch, case: base.Case, count: int, first: int, deadline: float) -> None:
    """``count`` runs of ``case``, ``batch.workers`` at a time; fills in the batch's wall time and tallies."""

    def one(i: int) -> float:
        if time.monotonic() >= deadline:
            raise TimeoutError
        return base.run_once(case, i)

    start, done = time.perf_counter(), 0
    pool = ThreadPoolExecutor(max_workers=batch.workers, thread_name_prefix=batch.runner)
    try:
        for fut in as_completed([pool.submit(one, first + n) for n in range(count)]):
            try:
                fut.result()
                batch.done += 1
                done += 1
            except TimeoutError:
                batch.error = f"--max-seconds reached after {batch.done} runs"
                break
            except base.Skip as exc:
                batch.failures += 1
                batch.error = str(exc)
                if batch.failures >= MAX_FAILURES:
                    break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # SIGTERM too: queued runs never start
    if done == count:  # every run of this round finished; failures are shown
        batch.samples.append(time.perf_counter() - start)
        batch.seconds = statistics.median(batch.samples)


def churn(
    cases: dict[str, base.Case], batches: list[Batch], count: int, rounds: int, deadline: float
) -> None:
    """Every batch once per round, the rounds one after another (a burst of other load on the
    machine then skews one round of each, not all of one runner); podman, the slow peer, once."""
    first = 0
    for key in list(cases):  # warm-up: one untimed run each
        first += 1
        try:
            base.run_once(cases[key], first)
        except base.Skip as exc:
            del cases[key]
            for b in (b for b in batches if b.runner == key):
                b.error = f"warm-up failed: {exc}"
    for round_no in range(rounds):
        for batch in batches:
            if batch.runner not in cases or (round_no and batch.runner == "podman") or batch.failures:
                continue
            if time.monotonic() >= deadline:
                batch.error = batch.error or "--max-seconds reached before it started"
                continue
            base.log(f"churn: round {round_no + 1}: {batch.label}: {count} runs")
            run_batch(batch, cases[batch.runner], count, first + 1, deadline)
            first += count


def run_churn(
    stack: contextlib.ExitStack,
    tmp: Path,
    image: Path,
    batches: list[Batch],
    count: int,
    rounds: int,
    deadline: float,
    commands: dict[str, str],
    notes: list[str],
) -> Engine | None:
    """Start the engine and the peers, run every churn batch; return the engine (None if it failed)."""
    engine: Engine | None = None
    cases: dict[str, base.Case] = {}
    skipped: dict[str, str] = {}
    try:
        cases["runc"] = runners.setup_floor(tmp, image)
    except base.Skip as exc:
        skipped["runc"] = str(exc)
    try:
        engine = start_engine(stack, tmp, image)
        cases["wharf"] = base.Case(base.fixed(str(base.DOCKER), "run", "--rm", "busybox", "true"), engine.env)
    except base.Skip as exc:
        skipped["wharf"] = f"engine failed to start: {exc}"
    try:
        podman, podman_env = runners.setup_podman(stack, tmp, image)
        ulimits = [arg for u in base.ULIMITS for arg in ("--ulimit", u)]
        cases["podman"] = base.Case(
            base.fixed(*podman, "run", "--rm", *ulimits, "busybox", "true"), podman_env
        )
    except base.Skip as exc:
        skipped["podman"] = str(exc)
    for b in batches:
        b.error = skipped.get(b.runner)
    for key, reason in skipped.items():
        base.log(f"skipping {key}: {reason}")
    for key, case in cases.items():
        host = (case.env or {}).get("DOCKER_HOST")
        shown = [f"DOCKER_HOST={host}"] if host else []
        commands[key] = shlex.join([*shown, *case.argv(0)])
        base.log(f"{key}: {commands[key]}")
    churn(cases, batches, count, rounds, deadline)
    if engine is not None:
        left = remove_containers(engine.env)
        show = ["ip", "-o", "link", "show", "master", engine.bridge]
        settle = time.monotonic() + 2  # a veth goes with its netns, which the kernel frees a moment later
        while (ports := subprocess.run(show, capture_output=True, text=True).stdout.splitlines()) and (
            time.monotonic() < settle
        ):
            time.sleep(0.05)
        if left or ports:
            notes.append(f"after churn: {left} containers left in wharf, {len(ports)} veths on the bridge")
    return engine
