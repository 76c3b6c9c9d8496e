"""ContainerAttach and ContainerResize: connections to the container's shim."""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from wharf_engine.containers.container import Container, Stdio
from wharf_engine.containers.errors import ContainerNotRunning

from .rootfs import shim_paths

if TYPE_CHECKING:
    from .daemon import Daemon

STDIN, CLOSE_STDIN, RESIZE = 0, 4, 5


def shim_frame(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BxxxI", kind, len(payload)) + payload


def pending_attach(container: Container) -> asyncio.Future[Stdio]:
    """A stream to the stdio of a container about to start: the start connects it first."""
    waiter: asyncio.Future[Stdio] = asyncio.get_running_loop().create_future()
    container.pending_attach.append(waiter)
    return waiter


async def container_attach(daemon: Daemon, container: Container) -> Stdio:
    """A stream to the container's stdio; for a container not yet started, wait for its start."""
    if container.state.running:
        return await daemon.runtime.connect(shim_paths(daemon, container))
    waiter = pending_attach(container)
    try:
        return await waiter
    finally:
        if waiter in container.pending_attach:
            container.pending_attach.remove(waiter)


async def container_resize(daemon: Daemon, container: Container, height: int, width: int) -> None:
    if not container.state.running:
        raise ContainerNotRunning(container.id)
    if not container.tty:
        return
    _reader, writer = await daemon.runtime.connect(shim_paths(daemon, container))
    try:
        writer.write(shim_frame(RESIZE, f"{height} {width}".encode()))
        await writer.drain()
    finally:
        writer.close()
