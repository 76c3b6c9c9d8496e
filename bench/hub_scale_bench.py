"""Hub requests per second at 1, 2 and 4 worker processes (``wharf-hub --workers N``).

One throwaway PostgreSQL cluster, one seeded database (``hub_bench.seed_repositories``), and for
each process count a hub started on it; ``bench/hub_load.py`` (a separate process) loads the token
endpoint every pull starts with (``GET /v1/repositories/<user>/web/images`` with Basic credentials
and ``X-Docker-Token: true``) and ``/v1/_ping`` (the floor) with 16 keep-alive connections. Rounds
are interleaved over the process counts; the table gives medians and the speed-up over one
process. Target (issue "hub across processes"): 2 processes >= 1.7x one on the token path. On a
2-core machine 4 processes cannot beat 2 by much: the load generator shares the cores.

Only 127.0.0.1 is used; every process is stopped by pid on the way out.

Usage: ``.venv/bin/python bench/hub_scale_bench.py [--rounds 3] [--seconds 2] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.logging import configure_logging
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.testing import HubProcess

if TYPE_CHECKING:  # as in hub_bench.py: a script here, a namespace package for mypy
    from bench import bench as base
    from bench import hub_bench as hub
else:
    import hub_bench as hub

    import bench as base

PROCESSES = (1, 2, 4)
WIDTH = 16
TARGET = 1.7  # 2 processes vs 1 on the token path


def measure(hubs: dict[int, HubProcess], args: argparse.Namespace) -> dict[tuple[int, str], list[float]]:
    runs: dict[tuple[int, str], list[float]] = {(n, e): [] for n in hubs for e in ("floor", "token")}
    limits = argparse.Namespace(max_requests=args.max_requests)
    for key in runs:  # untimed warm-up, which also shows a broken case early
        hub.load(hubs[key[0]], hub.Case("postgresql", key[1], WIDTH, False), limits, 0.3, 0.0)
    for r in range(args.rounds):
        base.log(f"hub processes: round {r + 1} of {args.rounds}")
        keys = list(runs)
        for n, endpoint in keys[r % len(keys) :] + keys[: r % len(keys)]:
            case = hub.Case("postgresql", endpoint, WIDTH, False)
            result = hub.load(hubs[n], case, limits, args.seconds, 0.2)
            runs[(n, endpoint)].append(float(result["rps"]))
    return runs


def report(runs: dict[tuple[int, str], list[float]]) -> tuple[str, dict[str, Any]]:
    median = {key: statistics.median(v) for key, v in runs.items() if v}
    header = f"{'processes':<10}{'floor /v1/_ping':>18}{'token path':>14}{'token vs 1 process':>22}"
    lines = [f"hub processes (PostgreSQL, {WIDTH} keep-alive connections), requests/s (median)", header]
    one = median.get((1, "token"))
    for n in PROCESSES:
        floor, token = median.get((n, "floor")), median.get((n, "token"))
        speedup = f"{token / one:.2f}x" if token and one else "-"
        lines.append(f"{n:<10}{floor or 0:>18.1f}{token or 0:>14.1f}{speedup:>22}")
    two = median.get((2, "token"))
    if two and one:
        verdict = "met" if two / one >= TARGET else "NOT met"
        lines.append(f"2 processes vs 1 on the token path: {two / one:.2f}x (target >= {TARGET}x: {verdict})")
    data = {f"{n}:{e}": v for (n, e), v in median.items()}
    return "\n".join(lines), data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
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
        hubs: dict[int, HubProcess] = {}
        for n in PROCESSES:
            process = HubProcess(tmp / f"hub-{n}", database_url=url, workers=n, worker=False)
            stack.callback(process.stop)
            hubs[n] = process.start()
            if n == PROCESSES[0]:
                hub.seed_repositories(process)
        started = time.monotonic()
        runs = measure(hubs, args)
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
