"""ContainerWait: not-running, next-exit and removed, as Docker's wait conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wharf_common.errors import InvalidArgument

if TYPE_CHECKING:
    from .daemon import Daemon

CONDITIONS = ("not-running", "next-exit", "removed")
STOPPED = ("created", "exited", "restarting", "removing", "dead")


async def container_wait(daemon: Daemon, ref: str, condition: str) -> int:
    if condition not in CONDITIONS:
        raise InvalidArgument(f"invalid condition: {condition!r}")
    container = daemon.containers.get(ref)
    if condition == "not-running" and container.state.status in STOPPED:
        return container.state.exit_code
    while True:
        await container.changed.wait()
        if container.id not in daemon.containers.by_id:
            return container.state.exit_code
        # an exit the restart policy undoes still ends the wait (the policy may have marked the
        # container restarting before this waiter runs), as Docker's SetRestarting wakes waiters
        if condition != "removed" and container.state.status in STOPPED:
            return container.state.exit_code
