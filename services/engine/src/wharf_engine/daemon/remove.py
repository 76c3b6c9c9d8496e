"""ContainerRemove: refuse a running container unless forced; nothing stays mounted."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

import structlog

from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import ContainerRunning

from . import endpoints
from .inspect import dir_size
from .rootfs import shim_paths, unmount_rootfs
from .signals import send_signal, wait_stopped
from .volumes import remove_anonymous

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


async def container_remove(daemon: Daemon, ref: str, *, force: bool, volumes: bool = False) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.running:
            if not force:
                raise ContainerRunning(
                    f'cannot remove container "/{container.name}": container is running: '
                    "stop the container before removing or force remove"
                )
            await send_signal(daemon, container, signal.SIGKILL)
            await wait_stopped(container, 30)
        await remove_stopped(daemon, container)
        if volumes:
            remove_anonymous(daemon, container)


async def container_prune(daemon: Daemon) -> dict[str, Any]:
    """Every stopped container goes (``docker container prune``)."""
    deleted, reclaimed = [], 0
    for container in daemon.containers.all():
        if container.state.running or container.state.status == "restarting":
            continue
        async with container.lock:
            reclaimed += dir_size(container.dir / "fs" / "upper")
            await remove_stopped(daemon, container)
        deleted.append(container.id)
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}


async def auto_remove(daemon: Daemon, container: Container) -> None:
    """``--rm``: the container and its anonymous volumes go, as Docker does."""
    await remove_stopped(daemon, container)
    remove_anonymous(daemon, container)


async def remove_stopped(daemon: Daemon, container: Container) -> None:
    if container.id not in daemon.containers.by_id:
        return
    container.state.status = "removing"
    if (daemon.runtime.root / container.id).exists():
        await daemon.runtime.delete(container.id, force=True)
    unmount_rootfs(container)
    shim_paths(daemon, container).socket.unlink(missing_ok=True)
    daemon.containers.remove(container)
    endpoints.forget(daemon, container)
    log.info("container.removed", container_id=container.id)
    daemon.container_event(container, "destroy")
    container.notify()
