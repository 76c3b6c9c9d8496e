"""ContainerTop: the container's processes, found through its cgroup, listed by the host's ps."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.errors import InvalidArgument

from wharf_engine.containers.errors import ContainerNotRunning

if TYPE_CHECKING:
    from .daemon import Daemon


def container_pids(cid: str) -> set[int]:
    procs = Path(f"/sys/fs/cgroup/pids/wharf/{cid}/cgroup.procs")
    try:
        return {int(line) for line in procs.read_text().split()}
    except OSError:
        return set()


async def container_top(daemon: Daemon, ref: str, ps_args: str) -> dict[str, Any]:
    container = daemon.containers.get(ref)
    if not container.state.running:
        raise ContainerNotRunning(container.id)
    pids = container_pids(container.id) or {container.state.pid}
    args = shlex.split(ps_args or "-ef")
    proc = await asyncio.create_subprocess_exec(
        "ps", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise InvalidArgument(f"ps: {err.decode(errors='replace').strip()}")
    lines = out.decode(errors="replace").splitlines()
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidArgument("Couldn't find PID field in ps output")
    column = titles.index("PID")
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}
