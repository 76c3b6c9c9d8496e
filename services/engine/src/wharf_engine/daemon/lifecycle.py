"""ContainerStop, ContainerKill and ContainerRestart."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import structlog
from wharf_common.errors import Conflict, NotModified

from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.runtime.errors import ContainerNotFound, NotRunning

from .signals import parse_signal, send_signal, wait_stopped
from .start import start_locked

if TYPE_CHECKING:
    from wharf_engine.shapes import StopOptions

    from .daemon import Daemon

log = structlog.get_logger(__name__)


async def stop_locked(
    daemon: Daemon, container: Container, timeout: int | None, sig_name: str | None
) -> None:
    sig = parse_signal(sig_name or container.config.get("StopSignal"), default=signal.SIGTERM)
    if timeout is None:
        timeout = int(container.config.get("StopTimeout") or daemon.settings.stop_timeout)
    if timeout < 0:  # -1: wait forever
        await send_signal(daemon, container, sig)
        await wait_stopped(container, None)
        return
    await send_signal(daemon, container, sig)
    if await wait_stopped(container, timeout):
        return
    log.info("container.stop_timeout", container_id=container.id, timeout=timeout)
    await send_signal(daemon, container, signal.SIGKILL)
    await wait_stopped(container, None)


async def container_stop(daemon: Daemon, ref: str, options: StopOptions) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        container.manually_stopped = True  # also cancels a pending policy restart
        container.save()
        if not container.state.running:
            raise NotModified("container already stopped")
        await stop_locked(daemon, container, options.timeout, options.signal)
    daemon.container_event(container, "stop")


async def container_kill(daemon: Daemon, ref: str, sig_name: str | None) -> None:
    container = daemon.containers.get(ref)
    sig = parse_signal(sig_name, default=signal.SIGKILL)
    if not container.state.running:
        raise ContainerNotRunning(container.id)
    if sig in (signal.SIGKILL, signal.SIGTERM):
        container.manually_stopped = True
    await send_signal(daemon, container, sig)
    daemon.container_event(container, "kill", signal=str(sig))
    if sig == signal.SIGKILL:
        await wait_stopped(container, 10)


async def container_pause(daemon: Daemon, ref: str) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.status == "paused":
            raise Conflict(f"Container {container.id} is already paused")
        if container.state.status != "running":
            raise ContainerNotRunning(container.id)
        try:
            await daemon.runtime.pause(container.id)
        except (NotRunning, ContainerNotFound):  # it exited meanwhile: Docker's 409
            raise ContainerNotRunning(container.id) from None
        container.state.set_paused()
        container.save()
    container.notify()
    daemon.container_event(container, "pause")


async def container_unpause(daemon: Daemon, ref: str) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.status != "paused":
            raise Conflict(f"Container {container.id} is not paused")
        await daemon.runtime.resume(container.id)
        container.state.set_unpaused()
        container.save()
    container.notify()
    daemon.container_event(container, "unpause")


async def container_restart(daemon: Daemon, ref: str, timeout: int | None) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.running:
            await stop_locked(daemon, container, timeout, None)
        await start_locked(daemon, container)
