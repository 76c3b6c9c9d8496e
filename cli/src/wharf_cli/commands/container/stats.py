"""``wharf stats``: CPU, memory, network, block I/O and pids per container, computed like docker's CLI."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer
from wharf_client import ClientError, EngineClient
from wharf_common.humanize import bytes_size, human_size

from ...formatter import render
from ...humanize import truncate_id
from ...output import describe, fail, out
from ...session import client
from ...terminal import is_terminal

STATS_TITLES = {
    "Container": "CONTAINER",
    "ID": "CONTAINER ID",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}
STATS_TABLE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
)
NO_VALUE = "--"
CLEAR_SCREEN = "\033[2J\033[H"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def cpu_percent(sample: dict[str, Any]) -> float:
    """docker's ``calculateCPUPercentUnix``: the container's share of the host's CPU time since precpu."""
    cpu = sample.get("cpu_stats") or {}
    precpu = sample.get("precpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    cpu_delta = _int(usage.get("total_usage")) - _int((precpu.get("cpu_usage") or {}).get("total_usage"))
    system_delta = _int(cpu.get("system_cpu_usage")) - _int(precpu.get("system_cpu_usage"))
    online = _int(cpu.get("online_cpus")) or len(usage.get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(memory: dict[str, Any]) -> int:
    """docker's ``calculateMemUsageUnixNoCache``: usage minus the inactive page cache."""
    usage = _int(memory.get("usage"))
    stats = memory.get("stats") or {}
    if "total_inactive_file" in stats and _int(stats["total_inactive_file"]) < usage:  # cgroup v1
        return usage - _int(stats["total_inactive_file"])
    if _int(stats.get("inactive_file")) < usage:  # cgroup v2
        return usage - _int(stats.get("inactive_file"))
    return usage


def block_io(blkio: dict[str, Any]) -> tuple[int, int]:
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = str(entry.get("op") or "")[:1].lower()
        if op == "r":
            read += _int(entry.get("value"))
        elif op == "w":
            write += _int(entry.get("value"))
    return read, write


class StatsEntry:
    """One container's figures as docker's ``statsContext`` presents them to templates."""

    def __init__(self, container: str, sample: dict[str, Any], *, trunc: bool = True) -> None:
        self._container = container
        self._id = str(sample.get("id") or "")
        self._name = str(sample.get("name") or "")
        self._trunc = trunc
        memory = sample.get("memory_stats") or {}
        self.cpu = cpu_percent(sample)
        self.memory = memory_usage(memory)
        self.memory_limit = _int(memory.get("limit"))
        self.memory_percent = self.memory / self.memory_limit * 100.0 if self.memory_limit else 0.0
        networks = (sample.get("networks") or {}).values()
        self.net_rx = sum(_int(n.get("rx_bytes")) for n in networks)
        self.net_tx = sum(_int(n.get("tx_bytes")) for n in networks)
        self.block_read, self.block_write = block_io(sample.get("blkio_stats") or {})
        self.pids = _int((sample.get("pids_stats") or {}).get("current"))

    @property
    def Container(self) -> str:
        return self._container

    @property
    def ID(self) -> str:
        return truncate_id(self._id) if self._trunc else self._id

    @property
    def Name(self) -> str:
        return self._name[1:] if len(self._name) > 1 else NO_VALUE

    @property
    def CPUPerc(self) -> str:
        return f"{self.cpu:.2f}%"

    @property
    def MemUsage(self) -> str:
        return f"{bytes_size(self.memory)} / {bytes_size(self.memory_limit)}"

    @property
    def MemPerc(self) -> str:
        return f"{self.memory_percent:.2f}%"

    @property
    def NetIO(self) -> str:
        return f"{human_size(self.net_rx)} / {human_size(self.net_tx)}"

    @property
    def BlockIO(self) -> str:
        return f"{human_size(self.block_read)} / {human_size(self.block_write)}"

    @property
    def PIDs(self) -> str:
        return str(self.pids)


def collect(api: EngineClient, containers: list[str], *, trunc: bool) -> tuple[list[StatsEntry], list[str]]:
    """One sample per container, fetched concurrently (each takes the engine ~100 ms); errors apart."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> StatsEntry | str:
        try:
            return StatsEntry(name, api.container_stats(name), trunc=trunc)
        except ClientError as error:
            return describe(error)

    if not containers:
        return [], []
    with ThreadPoolExecutor(max_workers=min(len(containers), 16)) as pool:
        results = list(pool.map(one, containers))
    return [r for r in results if isinstance(r, StatsEntry)], [r for r in results if isinstance(r, str)]


def stats(
    containers: Annotated[list[str] | None, typer.Argument(metavar="[CONTAINER...]")] = None,
    all: Annotated[
        bool, typer.Option("-a", "--all", help="Show all containers (default shows just running)")
    ] = False,
    format: Annotated[
        str | None, typer.Option("--format", help="Format output using a custom template")
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Disable streaming stats and only pull the first result")
    ] = False,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Do not truncate output")] = False,
) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    api = client()
    fmt = format or STATS_TABLE
    while True:
        try:
            names = list(containers or []) or [str(c["Id"]) for c in api.container_list(all=all)]
        except ClientError as error:
            fail(describe(error))
        entries, errors = collect(api, names, trunc=not no_trunc)
        if errors and (no_stream or not entries):
            fail("\n".join(errors))
        text = render(fmt, entries, STATS_TITLES, STATS_TABLE)
        if no_stream:
            out(text, end="")
            return
        out((CLEAR_SCREEN if is_terminal(1) else "") + text, end="")
        sys.stdout.flush()
        time.sleep(0.5)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
