"""Resident memory of each wharf service, idle and under a bounded load, and of the per-container shim.

Started here, each on 127.0.0.1 with a temp root: a wharf engine (own bridge and /24, busybox imported,
as ``net_bench.py``), a ``wharf-registry``, a ``wharf-hub`` (SQLite, 200 described repositories, as
``hub_bench.py``) and, when ``redis-server`` is installed, a ``wharf-builder worker`` (Celery, prefork,
``-c 1``). RSS is ``VmRSS`` from ``/proc/<pid>/status`` and PSS ``Pss`` from ``/proc/<pid>/smaps_rollup``,
summed over a service's process tree (the hub's and the builder's children; the engine's shim server is
its own row). "Idle" is read after start-up settles; "peak" is the highest sum seen by a thread sampling
every ~50 ms during the load:

- engine: 20 ``docker run --rm busybox true`` (the real docker CLI, 4 at a time), then 10 ``busybox
  sleep`` containers left running;
- registry: ``docker push`` of busybox through the engine, ``docker rmi`` and ``docker pull``, then
  ``hub_load.py`` GETs of ``/v1/_ping`` for 2 s with 16 connections;
- hub: ``hub_load.py`` on ``/v1/_ping`` then ``/v1/search?q=web`` for 2 s each with 16 connections;
- builder: idle only (a build needs a git push through the hub: ``builder_bench.py`` times that).

The shim of each running container is the parent of its init process (the shim is its subreaper):
median and max RSS, PSS and private bytes (USS) over the 10: spares are forked from the shim
server, so most of a shim's RSS is pages it shares with the server and its siblings.
Goals: shim <= 10 MiB RSS, engine idle <= 80 MiB RSS.
On the way out (SIGTERM too) containers are removed, every process stopped by pid, the bridge deleted,
mounts under the temp dir unmounted and the dir removed. Everything is bounded (``--max-seconds``).

Usage: ``.venv/bin/python bench/memory_bench.py [--max-seconds 170] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_builder.testing import REDIS_SERVER, RedisServer, WorkerProcess
from wharf_common.logging import configure_logging
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess

# bench/bench.py, net_bench.py and hub_bench.py, whose helpers this reuses: run as a script, sys.path[0]
# is bench/; mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
    from bench import net_bench as net
    from bench.hub_bench import seed_repositories
else:
    import net_bench as net
    from hub_bench import seed_repositories

    import bench as base

MIB = 1024 * 1024
LOAD = Path(__file__).resolve().with_name("hub_load.py")
SHIM_GOAL, ENGINE_IDLE_GOAL = 10.0, 80.0  # MiB RSS
RUNS, RUN_WIDTH, SLEEPERS, LOAD_SECONDS, CONNECTIONS = 20, 4, 10, 2.0, 16
SETTLE = 1.0  # seconds after start-up before "idle" is read
SAMPLE_EVERY = 0.05


# --- reading memory -------------------------------------------------------------------------------
def _field_kib(path: str, name: str) -> int | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss(pid: int) -> int:
    """Resident bytes (``VmRSS``); 0 for a process that has gone (or a kernel thread)."""
    return (_field_kib(f"/proc/{pid}/status", "VmRSS") or 0) * 1024


def pss(pid: int) -> int | None:
    """Proportional set size in bytes, or None when ``smaps_rollup`` cannot be read."""
    kib = _field_kib(f"/proc/{pid}/smaps_rollup", "Pss")
    return None if kib is None else kib * 1024


def private(pid: int) -> int | None:
    """Pages no other process maps (``Private_Clean`` + ``Private_Dirty``): what its exit frees."""
    parts = [_field_kib(f"/proc/{pid}/smaps_rollup", k) for k in ("Private_Clean", "Private_Dirty")]
    return None if None in parts else sum(p or 0 for p in parts) * 1024


def children() -> dict[int, list[int]]:
    """ppid -> pids, over every process now."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree(root: int, skip: Callable[[int], bool] = lambda pid: False) -> list[int]:
    """``root`` and its descendants, not descending into those ``skip`` names."""
    kids, found, todo = children(), [], [root]
    while todo:
        pid = todo.pop()
        if pid != root and skip(pid):
            continue
        found.append(pid)
        todo += kids.get(pid, [])
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def is_shim(pid: int) -> bool:
    return "shim.py" in cmdline(pid)


# --- what is measured ------------------------------------------------------------------------------
@dataclass(slots=True)
class Row:
    service: str
    pids: Callable[[], list[int]] = field(repr=False)
    goal: str = ""  # "idle<=80" or "" (figures only)
    idle_rss: float | None = None  # MiB
    idle_pss: float | None = None
    peak_rss: float | None = None
    note: str = ""

    def read(self) -> tuple[float, float | None]:
        pids = self.pids()
        sizes = [pss(p) for p in pids]
        total_pss = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes) / MIB
        return sum(rss(p) for p in pids) / MIB, total_pss

    def settle(self) -> None:
        self.idle_rss, self.idle_pss = self.read()
        self.peak_rss = self.idle_rss

    def verdict(self) -> str:
        if self.goal == "idle" and self.idle_rss is not None:
            return "met" if self.idle_rss <= ENGINE_IDLE_GOAL else "not met"
        return ""


class Sampler:
    """A thread that sums the row's RSS every ~50 ms while the load runs, keeping the peak."""

    def __init__(self, row: Row) -> None:
        self.row, self.stop = row, threading.Event()
        self.thread = threading.Thread(target=self.loop, name=f"sample-{row.service}", daemon=True)

    def loop(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                now = sum(rss(p) for p in self.row.pids()) / MIB
                self.row.peak_rss = max(self.row.peak_rss or 0.0, now)
            self.stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@dataclass(slots=True)
class Shims:
    rss: list[float] = field(default_factory=list)  # MiB, one per running container
    pss: list[float] = field(default_factory=list)
    private: list[float] = field(default_factory=list)
    error: str | None = None


# --- loads -------------------------------------------------------------------------------------------
def docker(engine: net.Engine, *args: str, timeout: float = 60) -> str:
    done = subprocess.run(
        [str(base.DOCKER), *args],
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise base.Skip(f"docker {' '.join(args[:2])} exited {done.returncode}: {base.tail(done.stderr)}")
    return done.stdout


def hub_load(url: str, seconds: float = LOAD_SECONDS) -> dict[str, Any]:
    argv = [sys.executable, str(LOAD), url, "-c", str(CONNECTIONS), "-d", str(seconds)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    try:
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise base.Skip(f"hub_load failed: {base.tail(done.stderr)}") from exc
    return result


def engine_load(engine: net.Engine) -> list[str]:
    """20 ``run --rm busybox true``, 4 at a time, then 10 sleepers left running; their ids."""
    with ThreadPoolExecutor(max_workers=RUN_WIDTH) as pool:
        list(pool.map(lambda _: docker(engine, "run", "--rm", "busybox", "true"), range(RUNS)))
    return [docker(engine, "run", "-d", "busybox", "sleep", "600").strip() for _ in range(SLEEPERS)]


def measure_shims(engine: net.Engine, ids: list[str]) -> Shims:
    """The shim of each container is its init's parent (the shim is the container's subreaper)."""
    shims = Shims()
    for cid in ids:
        pid = int(docker(engine, "inspect", "-f", "{{.State.Pid}}", cid).strip() or 0)
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) if pid else 0
        if not ppid or not is_shim(ppid):
            shims.error = f"{cid[:12]}: the parent {ppid} of init {pid} is no shim: {cmdline(ppid)!r}"
            continue
        shims.rss.append(rss(ppid) / MIB)
        if (size := pss(ppid)) is not None:
            shims.pss.append(size / MIB)
        if (own := private(ppid)) is not None:
            shims.private.append(own / MIB)
    return shims


def registry_load(engine: net.Engine, registry: RegistryProcess) -> None:
    ref = f"127.0.0.1:{registry.port}/bench/busybox"
    docker(engine, "tag", "busybox", ref)
    docker(engine, "push", ref, timeout=120)
    docker(engine, "rmi", ref)
    docker(engine, "pull", ref, timeout=120)
    hub_load(f"{registry.url}/v1/_ping")


# --- report ------------------------------------------------------------------------------------------
def mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def shim_verdict(shims: Shims) -> str:
    return ("met" if max(shims.rss) <= SHIM_GOAL else "not met") if shims.rss else "not measured"


def report(rows: list[Row], shims: Shims, notes: list[str]) -> str:
    lines = [
        f"{'service':<34} {'idle RSS':>9} {'idle PSS':>9} {'peak RSS':>9}  {'goal':<22} result",
        f"{'':<34} {'MiB':>9} {'MiB':>9} {'MiB':>9}",
    ]
    for row in rows:
        goal = f"idle <= {ENGINE_IDLE_GOAL:.0f} MiB RSS" if row.goal == "idle" else "(figures only)"
        idle = row.note if row.idle_rss is None else mib(row.idle_rss)
        lines.append(
            f"{row.service:<34} {idle:>9} {mib(row.idle_pss):>9} {mib(row.peak_rss):>9}  "
            f"{goal:<22} {row.verdict()}"
        )
    if shims.rss:
        label = f"shim per container (x{len(shims.rss)})"
        med = f"{statistics.median(shims.rss):.1f}"
        pss_med = f"{statistics.median(shims.pss):.1f}" if shims.pss else "-"
        lines.append(
            f"{label:<34} {med:>9} {pss_med:>9} {max(shims.rss):>9.1f}  "
            f"{f'<= {SHIM_GOAL:.0f} MiB RSS':<22} {shim_verdict(shims)}"
        )
        own = shims.private or [0.0]
        lines.append(
            "  (shim columns: median RSS, median PSS, max RSS over the running containers; "
            f"max PSS {max(shims.pss, default=0):.1f}; private (USS) median "
            f"{statistics.median(own):.1f}, max {max(own):.1f})"
        )
    else:
        lines.append(f"{'shim per container':<34} not measured: {shims.error}")
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------------
def start_services(
    stack: contextlib.ExitStack, tmp: Path
) -> tuple[net.Engine, Row, RegistryProcess, HubProcess]:
    base.log("starting a wharf engine")
    (tmp / "engine").mkdir()
    engine = net.start_engine(stack, tmp / "engine", base.prepare_image(base.DEFAULT_IMAGE))
    engine_pid = int((tmp / "engine" / "engine.pid").read_text().split()[0])
    engine_row = Row("engine (daemon process)", lambda: [engine_pid], goal="idle")
    base.log("starting a registry and a hub")
    registry = RegistryProcess(tmp / "registry")
    registry.root.mkdir()
    stack.callback(registry.stop)
    registry.start()
    hub = HubProcess(tmp / "hub", registry_url=registry.url)
    stack.callback(hub.stop)
    hub.start()
    seed_repositories(hub)
    return engine, engine_row, registry, hub


def start_builder(
    stack: contextlib.ExitStack, tmp: Path, engine: net.Engine, hub: HubProcess, notes: list[str]
) -> Row | None:
    if not Path(REDIS_SERVER).is_file():
        notes.append("builder worker skipped: redis-server is not installed")
        return None
    base.log("starting redis and a builder worker")
    redis = RedisServer(tmp / "redis")
    stack.callback(redis.stop)
    redis.start()
    worker = WorkerProcess(
        tmp / "builder",
        {
            "WHARF_BUILDER_BROKER_URL": redis.url,
            "WHARF_BUILDER_ENGINE_HOST": f"unix://{engine.sock}",
            "WHARF_BUILDER_HUB_URL": hub.url,
            "WHARF_BUILDER_HUB_SECRET": "memory-bench-secret",
        },
    )
    stack.callback(worker.stop)
    worker.start()
    proc = worker.proc
    assert proc is not None
    return Row("builder worker (-c 1, tree)", lambda: tree(proc.pid))


def run(tmp: Path, stack: contextlib.ExitStack, deadline: float, notes: list[str]) -> tuple[list[Row], Shims]:
    engine, engine_row, registry, hub = start_services(stack, tmp)
    engine_pid = engine_row.pids()[0]
    server = Row("engine shim server (+ spare)", lambda: [p for p in tree(engine_pid) if p != engine_pid])
    hub_proc = hub.proc
    registry_proc = registry.proc
    assert hub_proc is not None and registry_proc is not None
    reg_row = Row("registry", lambda: tree(registry_proc.pid))
    hub_row = Row("hub (tree)", lambda: tree(hub_proc.pid))
    rows = [engine_row, server, reg_row, hub_row]
    try:
        if (builder := start_builder(stack, tmp, engine, hub, notes)) is not None:
            rows.append(builder)
    except RuntimeError as exc:
        notes.append(f"builder worker skipped: {base.tail(str(exc))}")
    time.sleep(SETTLE)
    for row in rows:
        row.settle()
    if time.monotonic() > deadline - 60:
        notes.append("--max-seconds: no time left for the loads")
        return rows, Shims(error="no time left")

    base.log(f"engine: {RUNS} run --rm, {SLEEPERS} sleepers")
    shims = Shims()
    with Sampler(engine_row), Sampler(server):
        try:
            ids = engine_load(engine)
            shims = measure_shims(engine, ids)
        except (base.Skip, subprocess.TimeoutExpired, OSError, ValueError) as exc:
            notes.append(f"engine load failed: {exc}")
            shims.error = shims.error or str(exc)
    base.log("registry: push, pull, 2 s of GET /v1/_ping")
    with Sampler(reg_row), Sampler(engine_row):
        try:
            registry_load(engine, registry)
        except (base.Skip, subprocess.TimeoutExpired) as exc:
            notes.append(f"registry load failed: {exc}")
    base.log("hub: 2 s of /v1/_ping, 2 s of /v1/search?q=web")
    with Sampler(hub_row):
        for path in ("/v1/_ping", "/v1/search?q=web"):
            try:
                result = hub_load(hub.url + path)
                notes.append(f"hub {path}: {result['rps']} req/s, {result['errors']} errors")
            except (base.Skip, subprocess.TimeoutExpired) as exc:
                notes.append(f"hub load failed: {exc}")
    if builder is not None:
        builder.peak_rss = None
    return rows, shims


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--max-seconds", type=float, default=170.0, help="overall time budget (default: 170)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)
    configure_logging("warning")  # the hub's services, used here to seed, log to stderr
    deadline = time.monotonic() + args.max_seconds
    notes: list[str] = []
    rows: list[Row] = []
    shims = Shims(error="not reached")
    tmp = Path(tempfile.mkdtemp(prefix="wharf-memory-bench-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        stack.callback(base.unmount_under, tmp)  # runs before the removal, after every daemon stopped
        alarm = threading.Timer(args.max_seconds + 30, os.kill, (os.getpid(), signal.SIGTERM))
        alarm.daemon = True
        alarm.start()
        stack.callback(alarm.cancel)
        try:
            rows, shims = run(tmp, stack, deadline, notes)
        except (base.Skip, RuntimeError, OSError) as exc:
            notes.append(f"stopped: {type(exc).__name__}: {base.tail(str(exc))}")
    print(report(rows, shims, notes))
    if args.json is not None:
        data = {
            "rows": [
                {k: v for k, v in asdict(r).items() if k != "pids"} | {"result": r.verdict()} for r in rows
            ],
            "shims": asdict(shims) | {"result": shim_verdict(shims)},
            "notes": notes,
        }
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
