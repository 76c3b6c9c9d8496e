"""Container churn and published-port overhead: wharf next to raw runc and podman, and its proxy vs direct.

1. Churn: ``--count`` (50) ``busybox true`` containers started and removed one after another, then
   ``--workers`` (8) at a time; wall time per batch for ``runc run`` of a prepared bundle (the floor),
   ``docker run --rm`` against a wharf engine started here, and ``podman run --rm`` (the peer, with
   ``bench.py``'s private storage and flags). Each runner is warmed up once. runc and wharf run
   ``--rounds`` (3) rounds, interleaved (runc, wharf, podman sequentially, then the same 8-way), and
   the table shows each batch's median; podman, the slow peer, runs one round.
2. Published port: ``busybox httpd`` in a wharf container published on ``127.0.0.1::8000``. From the host,
   alternating between the engine's userland proxy on 127.0.0.1 and the container's own address: time to
   first byte of a tiny file (fresh connection each) and MB/s of a 1 MiB file.

The engine gets its own bridge (``whb<hex>``) and a free /24 in 10.200-250.x.0; nothing is sent anywhere but
127.0.0.1 and that subnet. On the way out (SIGTERM included) containers are removed, daemons stopped by pid,
runc leftovers killed, the bridge deleted and the private temp dir unmounted and removed.

Usage: ``.venv/bin/python bench/net_bench.py [--count 50] [--workers 8] [--rounds 3] [--max-seconds 400]
[--json PATH]``
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
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

# run as a script, sys.path[0] is bench/; mypy, run from the repo root, sees bench/ as a namespace package.
# The benches that ``import net_bench as net`` reach the engine helpers through here (__all__).
if TYPE_CHECKING:
    from bench import harness as base
    from bench.bridge_engine import Engine, free_subnet, kill_leftovers, remove_containers, start_engine
    from bench.churn import RUNNERS, Batch, run_churn
    from bench.published_port import Samples, http_section
else:
    import harness as base
    from bridge_engine import Engine, free_subnet, kill_leftovers, remove_containers, start_engine
    from churn import RUNNERS, Batch, run_churn
    from published_port import Samples, http_section

__all__ = [
    "Batch",
    "Engine",
    "free_subnet",
    "kill_leftovers",
    "main",
    "remove_containers",
    "start_engine",
]

CHURN_TARGET, PORT_TARGET = 3.0, 1.5  # wharf within 3x of runc; published within 1.5x of direct


# --- report --------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def targets(batches: list[Batch], http: Samples) -> list[dict[str, Any]]:
    """wharf's batches against runc's, and the published path against the direct one."""
    found: list[tuple[str, str, float, float]] = []  # target, case, ratio, limit
    floor = {b.workers: b.seconds for b in batches if b.runner == "runc"}
    for b in batches:
        if b.runner == "wharf" and b.seconds and floor.get(b.workers):
            ratio = b.seconds / (floor[b.workers] or 1)
            found.append((f"within {CHURN_TARGET:g}x of runc", b.label, ratio, CHURN_TARGET))
    if http:
        pub, direct = ({m: median(v) for m, v in http[k].items()} for k in ("published", "direct"))
        for what, slow, fast in (
            ("time to first byte", pub["ttfb_ms"], direct["ttfb_ms"]),
            ("throughput", direct["mb_s"], pub["mb_s"]),
        ):
            if slow is not None and fast:
                found.append((f"published within {PORT_TARGET:g}x of direct", what, slow / fast, PORT_TARGET))
    return [
        {"target": t, "case": c, "ratio": r, "verdict": "met" if r <= limit else "MISSED"}
        for t, c, r, limit in found
    ]


def report(
    batches: list[Batch], http: Samples, count: int, found: list[dict[str, Any]], notes: list[str]
) -> str:
    rounds = max((len(b.samples) for b in batches), default=0)
    head = f"churn: {count} x busybox true, start + remove" + (f" (median of {rounds})" if rounds > 1 else "")
    lines = [f"{head:<46} {'wall s':>8} {'ms/run':>8} {'vs runc':>8}"]
    floor = {b.workers: b.seconds for b in batches if b.runner == "runc"}
    for b in batches:
        if b.seconds is None:
            tally = f" ({b.done} done, {b.failures} failed)" if b.done or b.failures else ""
            lines.append(f"{b.label:<46} skipped: {b.error or 'no result'}{tally}")
            continue
        base_s = floor.get(b.workers)
        ratio = f"{b.seconds / base_s:.2f}x" if base_s else "-"
        fails = f"  ({b.failures} failed, last: {b.error})" if b.failures else ""
        lines.append(f"{b.label:<46} {b.seconds:>8.2f} {b.seconds / count * 1000:>8.1f} {ratio:>8}{fails}")
    by = {(b.runner, b.workers): b.seconds for b in batches}
    for workers in sorted({b.workers for b in batches}):
        w, p = by.get(("wharf", workers)), by.get(("podman", workers))
        if w and p:
            lines.append(f"peer: wharf is {p / w:.1f}x faster than podman ({workers} at a time)")
    if http:
        lines += ["", f"{'busybox httpd from the host':<46} {'published':>10} {'direct':>8} {'ratio':>8}"]
        ratios = {t["case"]: t["ratio"] for t in found}
        for what, key, case in (
            ("time to first byte, tiny (median ms)", "ttfb_ms", "time to first byte"),
            ("1 MiB download (median MB/s)", "mb_s", "throughput"),
        ):
            a, d = median(http["published"][key]), median(http["direct"][key])
            if a is None or d is None:
                lines.append(f"{what:<46} no samples")
                continue
            x = f"{ratios[case]:.2f}x" if case in ratios else "-"
            lines.append(f"{what:<46} {a:>10.2f} {d:>8.2f} {x:>8}  n={len(http['published'][key])}")
    lines.append("")
    lines += [f"target: {t['target']}: {t['case']}: {t['ratio']:.2f}x -> {t['verdict']}" for t in found]
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    for flag, default, what in (
        ("--count", 50, "containers per batch"),
        ("--workers", 8, "parallel batch width"),
        ("--rounds", 3, "churn rounds (runc and wharf; podman runs once)"),
        ("--requests", 50, "TTFB requests per path"),
        ("--downloads", 20, "1 MiB downloads per path"),
        ("--max-seconds", 400.0, "overall time budget"),
    ):
        parser.add_argument(flag, type=type(default), default=default, help=f"{what} (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, default=base.DEFAULT_IMAGE, help="busybox rootfs tar")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)

    deadline = time.monotonic() + args.max_seconds
    count = max(args.count, 1)
    batches = [Batch(r, w) for w in (1, max(args.workers, 1)) for r in RUNNERS]
    notes: list[str] = []
    commands: dict[str, str] = {}
    http: Samples = {}
    engine_info: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="wharf-net-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after every daemon has stopped
        engine: Engine | None = None
        try:
            image = base.prepare_image(args.image.resolve())
        except base.Skip as exc:
            for b in batches:
                b.error = f"no busybox image: {exc}"
        else:
            rounds = max(args.rounds, 1)
            engine = run_churn(stack, tmp, image, batches, count, rounds, deadline, commands, notes)
        if engine is not None:
            engine_info = {"bridge": engine.bridge, "subnet": str(engine.subnet)}
            if time.monotonic() < deadline:
                http = http_section(engine, args, deadline, notes, commands)
            else:
                notes.append("published port vs direct skipped: --max-seconds reached")

    found = targets(batches, http)
    print(report(batches, http, count, found, notes))
    if args.json is not None:
        doc = {
            "count": count,
            "workers": args.workers,
            "commands": commands,
            "engine": engine_info,
            "churn": [asdict(b) | {"label": b.label} for b in batches],
            "http": {
                k: {m: {"median": median(v), "samples": v} for m, v in d.items()} for k, d in http.items()
            },
            "targets": found,
            "notes": notes,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
