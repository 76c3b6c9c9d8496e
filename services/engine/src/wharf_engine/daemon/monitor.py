"""What happens when a container's shim reports its exit: record it, clean up, auto-remove."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from wharf_engine.containers.container import Container
from wharf_engine.runtime.monitor import read_exit_file

from . import network, restart_policy
from .remove import auto_remove
from .rootfs import unmount_rootfs

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


async def handle_exit(daemon: Daemon, container: Container) -> None:
    """The shim has gone: clean the runtime state, record the exit, remove if asked.

    The container reads as running until the clean-up is over: whoever waits for it to stop
    (``rm -f``, ``stop``, ``wait``) then finds its ports, address and mounts released.
    """
    bell = daemon.log_bells.pop(container.id, None)
    if bell is not None:  # its followers read the shim's last lines before the exit is reported
        bell.ring()
        await asyncio.sleep(0)
    status = read_exit_file(container.dir / "exit.json")
    try:
        await daemon.runtime.delete(container.id, force=True)
    except Exception as exc:  # the record must still be saved
        log.error("container.runtime_delete_failed", container_id=container.id, error=str(exc))
    await network.detach(daemon, container)
    unmount_rootfs(container)
    container.shim_pid = 0
    if status is None:
        container.state.set_stopped(255, error="shim exited without an exit status")
    else:
        container.state.set_stopped(status.exit_code, status.finished_at, oom_killed=status.oom_killed)
    container.save()
    log.info("container.exited", container_id=container.id, exit_code=container.state.exit_code)
    daemon.container_event(container, "die", exitCode=str(container.state.exit_code))
    container.notify()
    if bell is not None:  # and they end now, not at their next look
        bell.ring()
    if container.host_config.get("AutoRemove") and container.id in daemon.containers.by_id:
        await auto_remove(daemon, container)
    elif container.id in daemon.containers.by_id and restart_policy.wants_restart(container):
        restart_policy.schedule(daemon, container)
