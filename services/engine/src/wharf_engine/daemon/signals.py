"""Signals: names as Docker accepts them (``SIGKILL``, ``KILL``, ``9``), sending, waiting for the stop."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from wharf_common.errors import InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.runtime.errors import ContainerNotFound, NotRunning, RuntimeFailure

if TYPE_CHECKING:
    from .daemon import Daemon


def parse_signal(value: str | int | None, default: int = signal.SIGKILL) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) or (value.isascii() and value.isdigit()):
        number = int(value)
        if not 0 < number < 65:
            raise InvalidArgument(f"Invalid signal: {value}")
        return number
    name = value.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {value}") from None


async def wait_stopped(container: Container, timeout: float | None) -> bool:
    """True once the container is no longer running, False if ``timeout`` passed first."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while container.state.running:
        event = container.changed
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return False
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except TimeoutError:
            return not container.state.running
    return True


async def send_signal(daemon: Daemon, container: Container, sig: int) -> None:
    """``sig`` to the container's process; one that has already ended is no error, as Docker."""
    try:
        await daemon.runtime.kill(container.id, sig, all=sig == signal.SIGKILL)
    except (NotRunning, ContainerNotFound):
        pass
    except RuntimeFailure:
        if container.state.running and not await runtime_exited(daemon, container):
            raise
    if container.state.status == "paused":  # a frozen process takes its signal once thawed, as Docker
        await daemon.runtime.resume(container.id)
        container.state.set_unpaused()
        container.save()


async def runtime_exited(daemon: Daemon, container: Container) -> bool:
    """Whether the runtime has the container stopped or gone (a kill raced with its exit: runc
    then fails on the vanished cgroup), as Docker ignores a kill of a process already finished."""
    try:
        state = await daemon.runtime.state(container.id)
    except ContainerNotFound:
        return True
    except RuntimeFailure:
        return False
    return state.status == "stopped"
