"""Start-up: re-adopt running containers from their shims, settle the ones that exited meanwhile."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING

import structlog

from wharf_engine.runtime.errors import ContainerNotFound, NotRunning

from . import network, networks, restart_policy
from .monitor import handle_exit
from .remove import remove_stopped

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


async def restore(daemon: Daemon) -> None:
    daemon.layers.clean_tmp()
    daemon.runtime.warm()
    containers = daemon.containers.load()
    daemon.networks.ipam.keep_only({c.id for c in containers if c.state.running})
    daemon.networks.nat.recover()  # route_localnet, should the engine's watcher have died with it
    await networks.restore(daemon, containers)
    restart_policy.on_engine_start(daemon, [c for c in containers if not c.state.running])
    for container in containers:
        if container.state.status == "removing":
            await remove_stopped(daemon, container)
        elif container.state.running:
            if container.shim_pid and daemon.runtime.alive(container.shim_pid, container.dir / "bundle"):
                log.info("container.adopted", container_id=container.id, shim_pid=container.shim_pid)
                daemon.runtime.watch_exit(container.shim_pid, partial(daemon.on_exit, container))
                await network.republish(daemon, container)
            else:
                # its shim died: so must what it held (a process gone meanwhile is no matter)
                with contextlib.suppress(ContainerNotFound, NotRunning):
                    await daemon.runtime.kill(container.id, 9, all=True)
                await handle_exit(daemon, container)
