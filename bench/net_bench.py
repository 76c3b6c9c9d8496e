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
import http.client
import ipaddress
import json
import os
import random
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench/bench.py (``make bench``), whose helpers this reuses: run as a script, sys.path[0] is bench/;
# mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
else:
    import bench as base

CHURN_TARGET, PORT_TARGET = 3.0, 1.5  # wharf within 3x of runc; published within 1.5x of direct
MAX_FAILURES = 5  # a batch stops after this many failed runs
HTTPD = "whnet-httpd"
HTTP_PORT, BIG_BYTES = 8000, 1 << 20
HTTPD_SCRIPT = (
    "mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1024 count=1024 2>/dev/null"
    f" && echo ok > /www/tiny && exec httpd -f -p {HTTP_PORT} -h /www"
)
HTTPD_ARGV = [*f"run -d --name {HTTPD} -p 127.0.0.1::{HTTP_PORT} busybox sh -c".split(), HTTPD_SCRIPT]
Samples = dict[str, dict[str, list[float]]]  # published | direct -> ttfb_ms | mb_s -> samples
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


@dataclass(frozen=True, slots=True)
class Engine:
    sock: Path
    bridge: str
    subnet: ipaddress.IPv4Network
    env: dict[str, str]  # the docker CLI's, pointed at this engine


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200-250.x.0 that no address on this host overlaps."""
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=False).stdout
    used = [ipaddress.ip_interface(line.split()[3]).network for line in out.splitlines()]
    for _ in range(100):
        net = ipaddress.IPv4Network(f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise base.Skip("no free /24 in 10.200-250.x.0")


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


# --- 1. churn ------------------------------------------------------------------------------------


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


# --- 2. published port vs direct -----------------------------------------------------------------


def start_httpd(engine: Engine) -> tuple[str, int]:
    """The httpd container; (its address on the bridge, its published port on 127.0.0.1)."""
    docker = str(base.DOCKER)
    base.run_checked([docker, *HTTPD_ARGV], env=engine.env)
    fmt = "{{json .NetworkSettings}}"
    settings = json.loads(base.run_checked([docker, "inspect", "-f", fmt, HTTPD], env=engine.env))
    ip = settings.get("IPAddress") or ""
    if not ip or ipaddress.ip_address(ip) not in engine.subnet:
        raise base.Skip(f"container address {ip!r} is not on the bench subnet {engine.subnet}")
    published = (settings.get("Ports") or {}).get(f"{HTTP_PORT}/tcp") or []
    ports = [int(p["HostPort"]) for p in published if p.get("HostIp") == "127.0.0.1"]
    if not ports:
        raise base.Skip(f"no 127.0.0.1 binding for {HTTP_PORT}/tcp in {published!r}")
    return ip, ports[0]


def fetch(host: str, port: int, path: str) -> tuple[float, float, int]:
    """GET on a fresh connection: (seconds to the response headers, seconds to the body's end, bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        first = time.perf_counter()
        body = response.read()
        end = time.perf_counter()
    finally:
        conn.close()
    if response.status != 200:
        raise base.Skip(f"GET {host}:{port}{path}: {response.status}")
    return first - start, end - start, len(body)


def wait_ready(targets: dict[str, tuple[str, int]], timeout: float = 20) -> None:
    """Until /big comes whole on every path (which also warms each path up once)."""
    deadline = time.monotonic() + timeout
    for host, port in targets.values():
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException, base.Skip):
                if fetch(host, port, "/big")[2] == BIG_BYTES:
                    break
            if time.monotonic() >= deadline:
                raise base.Skip(f"httpd at {host}:{port} not serving /big within {timeout:.0f}s")
            time.sleep(0.1)


def measure_http(targets: dict[str, tuple[str, int]], requests: int, downloads: int,
                 deadline: float) -> Samples:  # fmt: skip
    """Alternating between the targets (order flipped each round): TTFB in ms, then MB/s of /big."""
    out: Samples = {k: {"ttfb_ms": [], "mb_s": []} for k in targets}
    keys = list(targets)
    for i in range(requests + downloads):
        if time.monotonic() >= deadline:
            base.log(f"http: --max-seconds reached after {i} rounds")
            break
        for key in keys if i % 2 == 0 else keys[::-1]:
            host, port = targets[key]
            if i < requests:
                out[key]["ttfb_ms"].append(fetch(host, port, "/tiny")[0] * 1000)
                continue
            _, total, size = fetch(host, port, "/big")
            if size != BIG_BYTES:
                raise base.Skip(f"{key}: /big gave {size} bytes, expected {BIG_BYTES}")
            out[key]["mb_s"].append(size / total / 1e6)
    return out


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
    return [{"target": t, "case": c, "ratio": r, "verdict": "met" if r <= limit else "MISSED"}
            for t, c, r, limit in found]  # fmt: skip


def report(batches: list[Batch], http: Samples, count: int,
           found: list[dict[str, Any]], notes: list[str]) -> str:  # fmt: skip
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
        for what, key, case in (("time to first byte, tiny (median ms)", "ttfb_ms", "time to first byte"),
                                ("1 MiB download (median MB/s)", "mb_s", "throughput")):  # fmt: skip
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


def http_section(engine: Engine, args: argparse.Namespace, deadline: float,
                 notes: list[str], commands: dict[str, str]) -> Samples:  # fmt: skip
    try:
        ip, port = start_httpd(engine)
        commands["httpd"] = shlex.join([f"DOCKER_HOST=unix://{engine.sock}", "docker", *HTTPD_ARGV])
        paths = {"published": ("127.0.0.1", port), "direct": (ip, HTTP_PORT)}
        notes.append(f"published 127.0.0.1:{port} -> container {ip}:{HTTP_PORT}")
        base.log(f"http: {notes[-1]}")
        wait_ready(paths)
        return measure_http(paths, args.requests, args.downloads, deadline)
    except (base.Skip, OSError, http.client.HTTPException) as exc:
        notes.append(f"published port vs direct failed: {exc}")
        return {}


def run_churn(stack: contextlib.ExitStack, tmp: Path, image: Path, batches: list[Batch], count: int,
              rounds: int, deadline: float, commands: dict[str, str],
              notes: list[str]) -> Engine | None:  # fmt: skip
    """Start the engine and the peers, run every churn batch; return the engine (None if it failed)."""
    engine: Engine | None = None
    cases: dict[str, base.Case] = {}
    skipped: dict[str, str] = {}
    try:
        cases["runc"] = base.setup_floor(tmp, image)
    except base.Skip as exc:
        skipped["runc"] = str(exc)
    try:
        engine = start_engine(stack, tmp, image)
        cases["wharf"] = base.Case(base.fixed(str(base.DOCKER), "run", "--rm", "busybox", "true"), engine.env)
    except base.Skip as exc:
        skipped["wharf"] = f"engine failed to start: {exc}"
    try:
        podman, podman_env = base.setup_podman(stack, tmp, image)
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
        doc = {"count": count, "workers": args.workers, "commands": commands, "engine": engine_info,
               "churn": [asdict(b) | {"label": b.label} for b in batches],
               "http": {k: {m: {"median": median(v), "samples": v} for m, v in d.items()}
                        for k, d in http.items()},
               "targets": found, "notes": notes}  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
