"""ContainerRemove: refuse a running container unless forced; nothing stays mounted."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import InvalidArgument, NotFound, SystemFault

from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import ContainerRunning
from wharf_engine.containers.state import RESTARTING

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
            if not await wait_stopped(container, 30):
                raise SystemFault(f"could not kill running container {container.id}, cannot remove")
        await remove_stopped(daemon, container)
        if volumes:
            remove_anonymous(daemon, container)


def container_remove_link(daemon: Daemon, name: str) -> None:
    """``DELETE /containers/{parent}/{alias}?link=1`` (``docker rm --link``): the parent forgets the
    link; the linked container stays."""
    parent_name, _, alias = name.strip("/").rpartition("/")
    if not parent_name or not alias:
        raise InvalidArgument("Conflict, cannot remove the default link name of the container")
    parent = daemon.containers.get(parent_name)
    links = [str(spec) for spec in parent.host_config.get("Links") or []]
    kept = [spec for spec in links if _alias(spec) != alias]
    if len(kept) == len(links):
        raise NotFound(f"No such link: /{parent.name}/{alias}")
    parent.host_config["Links"] = kept or None
    parent.save()
    log.info("container.link_removed", container_id=parent.id, alias=alias)


def _alias(spec: str) -> str:
    name, _, alias = spec.partition(":")
    return (alias or name).rsplit("/", 1)[-1]


async def container_prune(daemon: Daemon) -> dict[str, Any]:
    """Every stopped container goes (``docker container prune``)."""
    deleted, reclaimed = [], 0
    for container in daemon.containers.all():
        if container.state.running or container.state.status == RESTARTING:
            continue
        async with container.lock:
            if container.state.running or container.state.status == RESTARTING:  # started meanwhile
                continue
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
    container.state.set_removal_in_progress()
    try:
        await daemon.runtime.delete(container.id, force=True)
        unmount_rootfs(container)
    except Exception as exc:  # Docker's SetRemovalError: listed as dead until another rm
        container.state.set_dead(f"driver failed to remove container: {exc}")
        container.save()
        container.notify()
        log.error("container.remove_failed", container_id=container.id, error=str(exc))
        raise
    shim_paths(daemon, container).socket.unlink(missing_ok=True)
    daemon.containers.remove(container)
    endpoints.forget(daemon, container)
    log.info("container.removed", container_id=container.id)
    daemon.container_event(container, "destroy")
    container.notify()
