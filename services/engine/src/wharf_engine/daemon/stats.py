"""ContainerStats: memory, CPU and pids from the container's cgroups (v1), Docker's JSON shape."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_engine.containers.container import Container

if TYPE_CHECKING:
    from .daemon import Daemon

CG = Path("/sys/fs/cgroup")


def _read(path: Path, default: int = 0) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _mem_total() -> int:
    """Without a limit the cgroup says 8 EiB; Docker shows the host's memory then."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _system_cpu_ns() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:8]
    ticks = sum(int(f) for f in fields)
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def sample(container: Container) -> dict[str, Any]:
    base = f"wharf/{container.id}"
    memory = CG / "memory" / base
    stat: dict[str, int] = {}
    try:
        for line in (memory / "memory.stat").read_text().splitlines():
            key, value = line.split()
            stat[key] = int(value)
    except OSError:
        pass
    percpu = (
        [int(v) for v in (CG / "cpuacct" / base / "cpuacct.usage_percpu").read_text().split()]
        if (CG / "cpuacct" / base / "cpuacct.usage_percpu").exists()
        else []
    )
    return {
        "read": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}Z",
        "pids_stats": {"current": _read(CG / "pids" / base / "pids.current")},
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": _read(CG / "cpuacct" / base / "cpuacct.usage"),
                "percpu_usage": percpu,
                "usage_in_kernelmode": 0,
                "usage_in_usermode": 0,
            },
            "system_cpu_usage": _system_cpu_ns(),
            "online_cpus": os.cpu_count() or 1,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "memory_stats": {
            "usage": _read(memory / "memory.usage_in_bytes"),
            "max_usage": _read(memory / "memory.max_usage_in_bytes"),
            "limit": min(_read(memory / "memory.limit_in_bytes"), _mem_total()) or _mem_total(),
            "stats": stat,
        },
        "blkio_stats": {},
        "networks": {},
        "name": "/" + container.name,
        "id": container.id,
    }


async def container_stats(daemon: Daemon, ref: str, *, stream: bool) -> AsyncIterator[dict[str, Any]]:
    """One sample (with the previous one as precpu, 100 ms earlier), or one a second while streaming."""
    container = daemon.containers.get(ref)
    previous = sample(container)
    await asyncio.sleep(0.1)
    while True:
        current = sample(container) if container.state.running else {**previous, "pids_stats": {"current": 0}}
        current["precpu_stats"] = previous["cpu_stats"]
        current["preread"] = previous["read"]
        yield current
        if not stream or not container.state.running:
            return
        previous = current
        await asyncio.sleep(1)
