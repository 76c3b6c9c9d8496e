"""The runtime as the daemon sees it: the ``OCIRuntime`` Protocol and the values it speaks in.

The daemon never runs runc itself. Each container's process belongs to a shim (``shim.py``), which
runs ``runc create`` (or ``runc exec``), keeps the process's stdio and log, and writes its exit
status when it ends; the other verbs are runc's own. So the interface is runc's verbs in OCI
terms (go-runc's ``create``, ``start``, ``kill``, ``delete``, ``state``, ``exec``, ``pause``,
``resume``, ``update``) plus what the shim adds, as containerd's task service does: a connection
to the process's stdio, and word of its exit. ``runtime/runc.py`` implements it; ``runtime/fake.py``
is the in-memory stand-in the daemon's unit tests use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .monitor import ShimPaths

Stdio = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class RuntimeState:
    id: str
    status: str  # created | running | paused | stopped
    pid: int


@dataclass(frozen=True, slots=True)
class Launched:
    """A process handed to its shim: the shim's pid (its exit is the process's) and the process's."""

    shim_pid: int
    pid: int
    stdio: Stdio | None = None  # an exec's stdio, connected before the process ran


@dataclass(frozen=True, slots=True)
class ExecOutput:
    """A process run in a container to its end, its output collected (a healthcheck probe)."""

    exit_code: int | None  # None: killed at its timeout
    output: bytes


class OCIRuntime(Protocol):
    """What the daemon asks of the OCI runtime and the shims; errors are ``runtime/errors.py``'s."""

    async def create(self, cid: str, paths: ShimPaths, *, tty: bool, stdin: bool) -> Launched:
        """A shim runs ``runc create`` for the bundle at ``paths.bundle``; the process waits for ``start``.

        Raises ``StartFailure`` when the process cannot be started (Docker's 126/127)."""
        ...

    async def start(self, cid: str, pid: int = 0) -> None:
        """Let a created container's process run; ``pid`` (its init) turns init's death into
        ``NotRunning`` instead of a wait."""
        ...

    async def exec(self, cid: str, paths: ShimPaths, process: Path, *, tty: bool, stdin: bool) -> Launched:
        """A shim runs ``runc exec --process <process>`` in the running container ``cid``; the
        result's stdio is connected before the process runs, so no output is missed."""
        ...

    async def exec_output(self, cid: str, process: Path, *, pid_file: Path, timeout: float) -> ExecOutput:
        """Run ``process`` in ``cid`` without a shim and collect its output (stdout and stderr
        together); at ``timeout`` seconds it is killed and the exit code is None."""
        ...

    async def kill(self, cid: str, sig: int, *, all: bool = False) -> None:
        """Send ``sig`` to the container's init (with ``all``, to every process in it)."""
        ...

    async def pause(self, cid: str) -> None: ...

    async def resume(self, cid: str) -> None: ...

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        """New cgroup limits (OCI ``linux.resources``) for a live container."""
        ...

    async def delete(self, cid: str, *, force: bool = False) -> None:
        """Forget the container (``force``: kill it first); one the runtime does not have is no error."""
        ...

    async def state(self, cid: str) -> RuntimeState:
        """The runtime's view of ``cid``; raises ``ContainerNotFound``."""
        ...

    async def connect(self, paths: ShimPaths) -> Stdio:
        """A stream to the stdio a shim keeps (attach, resize)."""
        ...

    def watch_exit(self, shim_pid: int, on_exit: Callable[[], None]) -> None:
        """Call ``on_exit`` in the event loop once the shim ``shim_pid`` has gone (at once if it has)."""
        ...

    def alive(self, shim_pid: int, bundle: Path) -> bool:
        """Whether ``shim_pid`` is still the shim of the container at ``bundle`` (after an engine restart)."""
        ...

    def warm(self) -> None:
        """Prepare for the next ``create`` in the background (the real runtime boots a spare shim)."""
        ...

    def close(self) -> None:
        """The engine is stopping: let go of helpers; the containers and their shims live on."""
        ...


__all__ = ["ExecOutput", "Launched", "OCIRuntime", "RuntimeState", "Stdio"]
