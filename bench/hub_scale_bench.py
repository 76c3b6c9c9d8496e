"""Hub requests per second at 1, 2 and 4 worker processes (``wharf-hub --workers N``).

One throwaway PostgreSQL cluster, one seeded database (``hub_bench.seed_repositories``), and for
each process count a hub started on it (each process's pool: the hub's default, 80 connections
shared out over the processes, 4 to 40 each); ``bench/hub_load.py`` (wrk when installed, else
its Python threads) loads the token endpoint every pull starts with (``GET
/v1/repositories/<user>/web/images`` with Basic credentials and ``X-Docker-Token: true``) and
``/v1/_ping`` (the floor) with 16 keep-alive connections. Rounds are interleaved over the
process counts; the table gives medians and the speed-up over one process. Target (issue "hub
across processes"): 2 processes >= 1.7x one on the token path.

Everything runs on the same cores, so a second table says where the CPU went in each case (from
``/proc/<pid>/stat`` read twice inside each timed run, over its middle half, in cores: CPU
seconds per second of wall time; until 8 December it was read around the whole call, warm-up
and the generator's start included, and divided by the timed seconds, which overstated every
part by about a tenth and understated the ceiling): the hub's
serving processes together and the busiest one's share of them, PostgreSQL (the postmaster and
its backends), the load generator (its ``client_cpu_s``), and the connections each serving
process held half-way through each run (``/proc/net/tcp`` against its descriptors: a process
that holds none serves nothing). Its last line estimates the ceiling: what both cores would
serve if each token request cost the CPU it cost at one process (on a busy machine that cost
itself moves from run to run, so read it over several runs).

Only 127.0.0.1 is used; every process is stopped by pid on the way out.

Usage: ``.venv/bin/python bench/hub_scale_bench.py [--rounds 5] [--seconds 2] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.logging import configure_logging
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.settings import Settings
from wharf_hub.testing import HubProcess

if TYPE_CHECKING:  # as in hub_bench.py: a script here, a namespace package for mypy
    from bench import bench as base
    from bench import hub_bench as hub
    from bench import proc_cpu
else:
    import hub_bench as hub
    import proc_cpu

    import bench as base

PROCESSES = (1, 2, 4)
WIDTH = 16
TARGET = 1.7  # 2 processes vs 1 on the token path
Key = tuple[int, str]  # (processes, "floor" or "token")
PG_URL = "postgresql+psycopg://bench@127.0.0.1/bench"  # only to read the pool size a hub picks


@dataclass(slots=True)
class Run:
    """One timed load: hub_load's JSON and the cores each side kept busy in it."""

    result: dict[str, Any]
    workers: list[float]  # each serving process of the hub, by slot order of their pids (cores)
    postgres: float  # the postmaster and its backends (cores)
    connections: list[int]  # established connections each serving process held mid-run
    backends: int  # PostgreSQL's processes mid-run (the pools' connections and its own)

    @property
    def seconds(self) -> float:
        return float(self.result["seconds"]) or 1.0


def serving_pids(process: HubProcess) -> list[int]:
    """The processes that answer requests: the hub itself, or its forked workers."""
    assert process.proc is not None
    return proc_cpu.child_pids(process.proc.pid) if process.workers > 1 else [process.proc.pid]


def postmaster(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def established(pids: list[int], port: int) -> list[int]:
    """Connections to ``port`` in state ESTABLISHED that each of ``pids`` holds (its socket inodes)."""
    inodes: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    counts = []
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):
                link = str(fd.readlink())
                held += link.startswith("socket:[") and link[8:-1] in inodes
        counts.append(held)
    return counts


WARMUP = 0.2  # seconds of untimed load before each timed run
SPAWN = 0.15  # seconds, about: hub_load.py's start before its load begins


def one_run(process: HubProcess, pg: int, case: hub.Case, args: argparse.Namespace) -> Run:
    """One timed load. The hub's and PostgreSQL's CPU is read twice inside the timed part (its
    middle half, clear of the warm-up and the generator's start), so that CPU over that wall time
    is the cores they kept busy under load."""
    pids = serving_pids(process)
    samples: list[tuple[float, list[float], float]] = []
    sample: list[int] = []
    backends: list[int] = []

    def cpu() -> None:
        pg_cpu = sum(proc_cpu.tree_cpu(pg).values())
        samples.append((time.monotonic(), [proc_cpu.cpu_seconds(p) for p in pids], pg_cpu))

    def look() -> None:
        sample.extend(established(pids, process.port))
        backends.append(len(proc_cpu.child_pids(pg)))

    start = WARMUP + SPAWN
    timers = [
        threading.Timer(start + args.seconds / 4, cpu),
        threading.Timer(start + args.seconds / 2, look),
        threading.Timer(start + args.seconds * 3 / 4, cpu),
    ]
    for timer in timers:
        timer.start()
    try:
        result = hub.load(process, case, args, args.seconds, WARMUP)
    finally:
        for timer in timers:
            timer.cancel()
            timer.join()
    if len(samples) != 2:
        raise base.Skip("hub processes: the CPU samples inside the run were not taken")
    (t0, w0, p0), (t1, w1, p1) = samples
    window = t1 - t0
    workers = [(b - a) / window for a, b in zip(w0, w1, strict=True)]
    return Run(result, workers, (p1 - p0) / window, sample, max(backends, default=0))


def measure(hubs: dict[int, HubProcess], pg: int, args: argparse.Namespace) -> dict[Key, list[Run]]:
    runs: dict[Key, list[Run]] = {(n, e): [] for n in hubs for e in ("floor", "token")}
    for key in runs:  # untimed warm-up, which also shows a broken case early
        hub.load(hubs[key[0]], hub.Case("postgresql", key[1], WIDTH, False), args, 0.3, 0.0)
    for r in range(args.rounds):
        base.log(f"hub processes: round {r + 1} of {args.rounds}")
        keys = list(runs)
        for n, endpoint in keys[r % len(keys) :] + keys[: r % len(keys)]:
            runs[(n, endpoint)].append(
                one_run(hubs[n], pg, hub.Case("postgresql", endpoint, WIDTH, False), args)
            )
    return runs


def cores(runs: list[Run], of: Callable[[Run], float]) -> float:
    """The median over runs of how many cores that part kept busy."""
    return statistics.median(of(r) for r in runs)


def report(runs: dict[Key, list[Run]]) -> tuple[str, dict[str, Any]]:
    median = {key: statistics.median(float(r.result["rps"]) for r in v) for key, v in runs.items() if v}
    generators = sorted({str(r.result.get("generator", "threads")) for v in runs.values() for r in v})
    header = f"{'processes':<10}{'floor /v1/_ping':>18}{'token path':>14}{'token vs 1 process':>22}"
    lines = [
        f"hub processes (PostgreSQL, {WIDTH} keep-alive connections, load: {'+'.join(generators)}), "
        "requests/s (median)",
        header,
    ]
    one = median.get((1, "token"))
    for n in PROCESSES:
        floor, token = median.get((n, "floor")), median.get((n, "token"))
        speedup = f"{token / one:.2f}x" if token and one else "-"
        lines.append(f"{n:<10}{floor or 0:>18.1f}{token or 0:>14.1f}{speedup:>22}")
    two = median.get((2, "token"))
    if two and one:
        verdict = "met" if two / one >= TARGET else "NOT met"
        lines.append(f"2 processes vs 1 on the token path: {two / one:.2f}x (target >= {TARGET}x: {verdict})")
    lines += [
        "",
        "where the CPU went (cores busy during the load, median; 2.00 = both cores of this machine)",
        f"{'processes':<10}{'case':<7}{'hub':>6}{'busiest':>9}{'PostgreSQL':>12}{'generator':>11}{'total':>7}"
        "  connections each process held, each run",
    ]
    cpu: dict[str, Any] = {}
    for (n, endpoint), v in runs.items():
        if not v:
            continue
        parts = {
            "hub": cores(v, lambda r: sum(r.workers)),
            "postgresql": cores(v, lambda r: r.postgres),
            "generator": cores(v, lambda r: float(r.result["client_cpu_s"]) / r.seconds),
        }
        busiest = statistics.median(max(r.workers) / (sum(r.workers) or 1.0) for r in v)
        conns = " ".join("/".join(str(c) for c in r.connections) or "-" for r in v)
        lines.append(
            f"{n:<10}{endpoint:<7}{parts['hub']:>6.2f}{busiest:>9.0%}{parts['postgresql']:>12.2f}"
            f"{parts['generator']:>11.2f}{sum(parts.values()):>7.2f}  {conns}"
        )
        cpu[f"{n}:{endpoint}"] = parts | {
            "busiest_share": busiest,
            "each_process": [r.workers for r in v],
            "connections": [r.connections for r in v],
        }
    base_runs = runs.get((1, "token")) or []
    if one and base_runs:  # what both cores could serve at one process's CPU per request
        per_request = sum(cpu["1:token"][k] for k in ("hub", "postgresql", "generator")) / one
        without = (cpu["1:token"]["hub"] + cpu["1:token"]["postgresql"]) / one
        lines.append(
            f"ceiling: at 1 process's CPU per token request ({per_request * 1e6:.0f} us: hub, PostgreSQL and "
            f"generator), both cores serve {2 / per_request:.0f} req/s = {2 / per_request / one:.2f}x one "
            f"process ({2 / without / one:.2f}x with the generator elsewhere)"
        )
        cpu["ceiling_x"] = 2 / per_request / one
    pools = ", ".join(f"{n} x {Settings(database_url=PG_URL, workers=n).pool_size}" for n in PROCESSES)
    backends = max((r.backends for v in runs.values() for r in v), default=0)
    lines.append(
        f"PostgreSQL: {backends} processes at most mid-run for the three hubs (pools of at most {pools} "
        "connections, one per process; max_connections 200)"
    )
    lines.append(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    data: dict[str, Any] = {f"{n}:{e}": v for (n, e), v in median.items()}
    return "\n".join(lines), data | {"generator": "+".join(generators), "cores": cpu}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)
    configure_logging("warning")
    if pg_bin() is None:
        print("hub processes: skipped (PostgreSQL binaries are not installed)")
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="wharf-hub-scale-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        cluster = PostgresCluster()
        stack.callback(cluster.stop)
        cluster.start()
        url = cluster.database()
        pg = postmaster(cluster)
        hubs: dict[int, HubProcess] = {}
        for n in PROCESSES:
            process = HubProcess(tmp / f"hub-{n}", database_url=url, workers=n, worker=False)
            stack.callback(process.stop)
            hubs[n] = process.start()
            if n == PROCESSES[0]:
                hub.seed_repositories(process)
        started = time.monotonic()
        runs = measure(hubs, pg, args)
        text, data = report(runs)
        print(text)
        print(
            f"({args.rounds} interleaved rounds of {args.seconds:.1f} s, {time.monotonic() - started:.0f} s)"
        )
        if args.json is not None:
            args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
