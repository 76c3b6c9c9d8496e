"""``FakeRuntime``: an in-memory ``OCIRuntime`` for unit tests of the daemon and the builder.

It keeps a record per container and per exec (status, pid, signals, resources), records every
call, and can be told to fail a verb. Processes behave as runc's do where the daemon can tell:
a signal other than SIGKILL ends a process unless it is in ``ignored_signals`` (as a process that
handles or, as pid 1, ignores it), a paused process takes its signals when resumed, and an
exit writes the shim's exit file (``{"exit_code", "finished_at", "oom_killed"}``) before the
exit watchers run, as the shim does. Nothing here starts a process or touches the host.

    fake = FakeRuntime()
    daemon = Daemon(settings, runtime=fake)
    fake.on_start = lambda process: fake.exit(process.cid, 0)   # a command that ends at once
    fake.fail("pause", NotRunning("container not running"))     # the next pause fails
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .base import ExecOutput, Launched, RuntimeState, Stdio
from .errors import ContainerNotFound, NotRunning, RuntimeFailure
from .monitor import ShimPaths

CREATED, RUNNING, PAUSED, STOPPED = "created", "running", "paused", "stopped"


@dataclass(slots=True)
class FakeProcess:
    """A container's init (``exec_id`` empty) or an exec's process, as the fake runtime holds it."""

    cid: str
    pid: int
    shim_pid: int
    paths: ShimPaths
    status: str = CREATED
    exec_id: str = ""
    tty: bool = False
    stdin: bool = False
    signals: list[int] = field(default_factory=list)  # every signal sent, in order
    pending: list[int] = field(default_factory=list)  # sent while paused, delivered on resume
    resources: dict[str, Any] = field(default_factory=dict)  # the last update's
    exit_code: int | None = None


class FakeRuntime:
    """Implements ``OCIRuntime`` in memory; see the module docstring."""

    def __init__(self) -> None:
        self.containers: dict[str, FakeProcess] = {}
        self.execs: list[FakeProcess] = []
        self.calls: list[tuple[Any, ...]] = []
        self.ignored_signals: set[int] = set()
        self.probe_results: list[ExecOutput] = []  # exec_output's answers in turn; then exit 0, no output
        self.on_start: Callable[[FakeProcess], None] | None = None
        self.on_exec: Callable[[FakeProcess], None] | None = None
        self.peers: dict[Path, list[socket.socket]] = {}  # the process's end of each stdio stream, by socket
        self._failures: dict[str, list[BaseException]] = {}
        self._watchers: dict[int, list[Callable[[], None]]] = {}
        self._live_shims: dict[int, FakeProcess] = {}
        self._next_pid = 10_000
        self.closed = False

    # -- test controls --------------------------------------------------------
    def fail(self, verb: str, error: BaseException, *, times: int = 1) -> None:
        """The next ``times`` calls of ``verb`` raise ``error`` (after being recorded)."""
        self._failures.setdefault(verb, []).extend([error] * times)

    def verbs(self, cid: str | None = None) -> list[str]:
        """The verbs called, in order (for ``cid`` alone if given)."""
        return [call[0] for call in self.calls if cid is None or (len(call) > 1 and call[1] == cid)]

    def exit(self, cid: str, code: int = 0) -> None:
        """The container's process ends by itself with ``code``."""
        self._finish(self._get(cid), code)

    def exit_exec(self, process: FakeProcess, code: int = 0) -> None:
        self._finish(process, code)

    # -- OCIRuntime -----------------------------------------------------------
    async def create(self, cid: str, paths: ShimPaths, *, tty: bool, stdin: bool) -> Launched:
        self._call("create", cid)
        if cid in self.containers:
            raise RuntimeFailure(f"container with id exists: {cid}")
        process = FakeProcess(cid, self._pid(), self._pid(), paths, tty=tty, stdin=stdin)
        self.containers[cid] = process
        self._live_shims[process.shim_pid] = process
        return Launched(process.shim_pid, process.pid)

    async def start(self, cid: str, pid: int = 0) -> None:
        self._call("start", cid)
        process = self._get(cid)
        if process.status == STOPPED:
            raise NotRunning("cannot start a container that has stopped")
        if process.status != CREATED:
            raise RuntimeFailure("cannot start an already running container")
        process.status = RUNNING
        if self.on_start is not None:
            self.on_start(process)

    async def exec(self, cid: str, paths: ShimPaths, process: Path, *, tty: bool, stdin: bool) -> Launched:
        self._call("exec", cid, _read_json(process))
        if self._get(cid).status not in (RUNNING, PAUSED):
            raise NotRunning("cannot exec in a stopped container")
        child = FakeProcess(
            cid, self._pid(), self._pid(), paths, status=RUNNING, exec_id=paths.prefix, tty=tty, stdin=stdin
        )
        self.execs.append(child)
        self._live_shims[child.shim_pid] = child
        stdio = await self._stream(paths)
        if self.on_exec is not None:
            self.on_exec(child)
        return Launched(child.shim_pid, child.pid, stdio)

    async def exec_output(self, cid: str, process: Path, *, pid_file: Path, timeout: float) -> ExecOutput:
        self._call("exec_output", cid, _read_json(process))
        if self._get(cid).status != RUNNING:
            raise NotRunning("cannot exec in a stopped container")
        return self.probe_results.pop(0) if self.probe_results else ExecOutput(0, b"")

    async def kill(self, cid: str, sig: int, *, all: bool = False) -> None:
        self._call("kill", cid, sig, all)
        process = self._get(cid)
        if process.status == STOPPED:
            raise NotRunning("container not running")
        process.signals.append(sig)
        if process.status == PAUSED:
            process.pending.append(sig)
        else:
            self._deliver(process, sig)

    async def pause(self, cid: str) -> None:
        self._call("pause", cid)
        process = self._get(cid)
        if process.status != RUNNING:
            raise NotRunning("container not running")
        process.status = PAUSED

    async def resume(self, cid: str) -> None:
        self._call("resume", cid)
        process = self._get(cid)
        if process.status != PAUSED:
            raise RuntimeFailure("container not paused")
        process.status = RUNNING
        pending, process.pending = process.pending, []
        for sig in pending:
            self._deliver(process, sig)

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        self._call("update", cid, resources)
        process = self._get(cid)
        if process.status not in (RUNNING, PAUSED):
            raise NotRunning("container not running")
        process.resources = resources

    async def delete(self, cid: str, *, force: bool = False) -> None:
        self._call("delete", cid, force)
        process = self.containers.get(cid)
        if process is None:
            return
        if process.status in (RUNNING, PAUSED) and not force:  # runc kills a merely created one
            raise RuntimeFailure(f"cannot delete container {cid} that is not stopped: {process.status}")
        self._finish(process, 128 + signal.SIGKILL)
        del self.containers[cid]

    async def state(self, cid: str) -> RuntimeState:
        self._call("state", cid)
        process = self._get(cid)
        return RuntimeState(cid, process.status, process.pid if process.status != STOPPED else 0)

    async def connect(self, paths: ShimPaths) -> Stdio:
        self._call("connect", paths.socket)
        if not any(p.paths.socket == paths.socket for p in self._live_shims.values()):
            raise ConnectionRefusedError(f"no shim listens on {paths.socket}")
        return await self._stream(paths)

    def watch_exit(self, shim_pid: int, on_exit: Callable[[], None]) -> None:
        if shim_pid in self._live_shims:
            self._watchers.setdefault(shim_pid, []).append(on_exit)
        else:
            asyncio.get_running_loop().call_soon(on_exit)

    def alive(self, shim_pid: int, bundle: Path) -> bool:
        process = self._live_shims.get(shim_pid)
        return process is not None and process.paths.bundle == bundle

    def warm(self) -> None:
        self.calls.append(("warm",))

    def close(self) -> None:
        self.calls.append(("close",))
        self.closed = True
        for peers in self.peers.values():
            for peer in peers:
                peer.close()
        self.peers.clear()

    # -- inside ---------------------------------------------------------------
    def _call(self, verb: str, *args: Any) -> None:
        self.calls.append((verb, *args))
        queued = self._failures.get(verb)
        if queued:
            raise queued.pop(0)

    def _get(self, cid: str) -> FakeProcess:
        process = self.containers.get(cid)
        if process is None:
            raise ContainerNotFound("container does not exist")
        return process

    def _pid(self) -> int:
        self._next_pid += 1
        return self._next_pid

    def _deliver(self, process: FakeProcess, sig: int) -> None:
        if sig == signal.SIGKILL or sig not in self.ignored_signals:
            self._finish(process, 128 + sig)

    def _finish(self, process: FakeProcess, code: int) -> None:
        """As the shim: the exit file first, then the shim goes and its watchers hear of it."""
        if process.status == STOPPED:
            return
        process.status, process.exit_code = STOPPED, code
        finished = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        process.paths.exit_file.parent.mkdir(parents=True, exist_ok=True)
        process.paths.exit_file.write_text(
            json.dumps({"exit_code": code, "finished_at": finished, "oom_killed": False})
        )
        self._live_shims.pop(process.shim_pid, None)
        loop = asyncio.get_running_loop()
        for on_exit in self._watchers.pop(process.shim_pid, []):
            loop.call_soon(on_exit)

    async def _stream(self, paths: ShimPaths) -> Stdio:
        ours, theirs = socket.socketpair()
        self.peers.setdefault(paths.socket, []).append(theirs)
        return await asyncio.open_unix_connection(sock=ours)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


__all__ = ["FakeProcess", "FakeRuntime"]
