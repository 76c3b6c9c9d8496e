"""What the load generator costs: CPU per request of ``bench/hub_load.py``'s generators and of the hub.

One hub (SQLite, or PostgreSQL with ``--postgresql``) seeded as ``hub_bench.py`` seeds it; for each
generator (``threads``: Python threads with ``http.client``; ``wrk``, when installed) and each of
``GET /v1/_ping``, search and the token endpoint at 1 and 16 keep-alive connections, one
``hub_load.py`` run, interleaved over ``--rounds``. Reported (medians): requests/s, the generator's
CPU per request (``client_cpu_s`` / requests), the hub's CPU per request (``/proc/<pid>/stat``
around the run), and the generator's share of the two. On a 2-core machine every microsecond the
generator spends is one the hub does not get, so this is what a requests/s figure there is worth.

Only 127.0.0.1 is used; the hub (and the PostgreSQL cluster) are stopped by pid on the way out.

Usage: ``.venv/bin/python bench/hub_load_cost.py [--rounds 3] [--seconds 2] [--postgresql] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.logging import configure_logging
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.testing import HubProcess

if TYPE_CHECKING:  # as in hub_bench.py: a script here, a namespace package for mypy
    from bench import bench as base
    from bench import hub_bench as hub
    from bench import proc_cpu
else:
    import hub_bench as hub
    import proc_cpu

    import bench as base

WIDTHS = (1, 16)


def measure(server: HubProcess, args: argparse.Namespace) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    assert server.proc is not None
    generators = ["threads"] + (["wrk"] if shutil.which("wrk") else [])
    keys = [(g, e[0], w) for g in generators for e in hub.ENDPOINTS for w in WIDTHS]
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {k: [] for k in keys}
    limits = {g: argparse.Namespace(max_requests=args.max_requests, generator=g) for g in generators}
    for g, endpoint, width in keys:  # untimed warm-up
        hub.load(server, hub.Case("bench", endpoint, width, False), limits[g], 0.3, 0.0)
    for r in range(args.rounds):
        base.log(f"load cost: round {r + 1} of {args.rounds}")
        for g, endpoint, width in keys[r % len(keys) :] + keys[: r % len(keys)]:
            before = sum(proc_cpu.tree_cpu(server.proc.pid).values())
            result = hub.load(server, hub.Case("bench", endpoint, width, False), limits[g], args.seconds, 0.0)
            result["hub_cpu_s"] = sum(proc_cpu.tree_cpu(server.proc.pid).values()) - before
            runs[(g, endpoint, width)].append(result)
    return runs


def report(
    runs: dict[tuple[str, str, int], list[dict[str, Any]]], where: str
) -> tuple[str, list[dict[str, Any]]]:
    lines = [
        f"load generator cost ({where}, keep-alive), medians",
        f"{'generator':<10}{'case':<10}{'conns':>6}{'req/s':>9}{'client us/req':>15}{'hub us/req':>12}"
        f"{'client share':>14}",
    ]
    rows = []
    for (g, endpoint, width), results in runs.items():
        good = [r for r in results if r["requests"]]
        if not good:
            continue
        client = statistics.median(r["client_cpu_s"] / r["requests"] * 1e6 for r in good)
        server = statistics.median(r["hub_cpu_s"] / r["requests"] * 1e6 for r in good)
        rps = statistics.median(r["rps"] for r in good)
        errors = sum(r["errors"] for r in results)
        share = client / (client + server) if client + server else 0.0
        lines.append(
            f"{g:<10}{endpoint:<10}{width:>6}{rps:>9.0f}{client:>15.0f}{server:>12.0f}{share:>13.0%}"
            + (f"  [{errors} errors: {results[-1]['error_sample']}]" if errors else "")
        )
        rows.append(
            {"generator": g, "endpoint": endpoint, "concurrency": width, "rps": rps, "client_us": client}
            | {"hub_us": server, "client_share": share, "errors": errors, "runs": results}
        )
    return "\n".join(lines), rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--postgresql", action="store_true", help="the hub on a throwaway PostgreSQL")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)
    configure_logging("warning")
    with (
        tempfile.TemporaryDirectory(prefix="wharf-hub-cost-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        url = None
        if args.postgresql:
            if pg_bin() is None:
                print("load cost: skipped (PostgreSQL binaries are not installed)")
                return 0
            cluster = PostgresCluster()
            stack.callback(cluster.stop)
            cluster.start()
            url = cluster.database()
        server = HubProcess(Path(tmp_name) / "hub", database_url=url, worker=False)
        stack.callback(server.stop)
        server.start()
        hub.seed_repositories(server)
        text, rows = report(measure(server, args), "PostgreSQL" if url else "SQLite")
    print(text)
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
