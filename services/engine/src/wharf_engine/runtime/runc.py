"""A thin typed client for the runc binary, in OCI terms (id, bundle, signal), as go-runc.

``Runc`` is the engine's ``OCIRuntime`` (``base.py``): runc's verbs, with create and exec run by
each container's shim (``monitor.py``). runc's words become typed errors here and nowhere else
(``runc_errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import ExecOutput, Launched, RuntimeState, Stdio
from .cleanup import delete_stopped
from .errors import ContainerNotFound, NotRunning
from .monitor import ShimLauncher, ShimPaths, connect, shim_alive, watch_exit
from .runc_errors import runc_error

KILL_GRACE = 5.0
"""After ``exec_output``'s process is killed at its timeout, how long runc gets to report it."""

EXEC_FIFO = "exec.fifo"  # runc's libcontainer: <root>/<id>/exec.fifo while the container is "created"


async def _read_exec_fifo(fd: int, pid: int) -> bytes:
    """Read the fifo to its end (init wrote and exec'd); b"" if init died first.

    A fifo whose writer never opened it does not poll readable, so the wait is for init's
    byte, its exec (end of file), or, with ``pid``, its death.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    received = bytearray()

    def readable() -> None:
        while not done.done():
            try:
                chunk = os.read(fd, 64)
            except BlockingIOError:
                return
            if not chunk:
                done.set_result(None)
            received.extend(chunk)

    def died() -> None:
        readable()  # its byte may be in the fifo already
        if not done.done():
            done.set_result(None)

    pidfd = -1
    if pid:
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            readable()
            return bytes(received)
        loop.add_reader(pidfd, died)
    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        if pidfd >= 0:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    return bytes(received)


class Runc:
    """Runs ``runc --root <root> <verb>``; creation and exec are handed to shims, which run runc."""

    def __init__(self, binary: str, root: Path, shims: ShimLauncher | None = None) -> None:
        self.binary = binary
        self.root = root
        self.shims = shims if shims is not None else ShimLauncher()

    async def _run(self, *args: str, input: bytes | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--root",
            str(self.root),
            *args,
            stdin=asyncio.subprocess.DEVNULL if input is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(input)
        if proc.returncode != 0:
            raise runc_error(err.decode(errors="replace"), args[0])
        return out.decode()

    async def create(self, cid: str, paths: ShimPaths, *, tty: bool, stdin: bool) -> Launched:
        shim_pid, pid, _ = await self.shims.launch(
            cid, paths, runtime=self.binary, runtime_root=self.root, tty=tty, stdin=stdin
        )
        return Launched(shim_pid, pid)

    async def exec(self, cid: str, paths: ShimPaths, process: Path, *, tty: bool, stdin: bool) -> Launched:
        shim_pid, pid, stdio = await self.shims.launch(
            cid,
            paths,
            runtime=self.binary,
            runtime_root=self.root,
            tty=tty,
            stdin=stdin,
            exec_process=process,
        )
        return Launched(shim_pid, pid, stdio)

    async def start(self, cid: str, pid: int = 0) -> None:
        """Let a created container's process run.

        As ``runc start`` does it, without starting a runc process: runc's init waits to
        open the state dir's ``exec.fifo`` for writing; a reader lets it write one byte and
        exec, which closes the fifo, and removing the fifo marks the container running.
        Without a fifo (another runtime, or not in the created state) ``runc start`` runs
        and names the reason. ``pid`` (the init process) turns its death into an error
        instead of a wait for ever.
        """
        fifo = self.root / cid / EXEC_FIFO
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            await self._run("start", cid)
            return
        try:
            received = await _read_exec_fifo(fd, pid)
        finally:
            os.close(fd)
        if not received:
            raise NotRunning("cannot start a container that has stopped")
        fifo.unlink(missing_ok=True)

    async def kill(self, cid: str, sig: int, *, all: bool = False) -> None:
        await self._run("kill", *(["--all"] if all else []), cid, str(sig))

    async def pause(self, cid: str) -> None:
        await self._run("pause", cid)

    async def resume(self, cid: str) -> None:
        await self._run("resume", cid)

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        """``runc update --resources -``: new cgroup limits (OCI ``linux.resources``) for a live container."""
        await self._run("update", "--resources", "-", cid, input=json.dumps(resources).encode())

    async def delete(self, cid: str, *, force: bool = False) -> None:
        """``runc delete``; a container whose init has exited is cleaned up here, without runc,
        and one without a state directory is not runc's (no runc process to say so)."""
        state_dir = self.root / cid
        if not state_dir.exists():
            return
        if await asyncio.to_thread(delete_stopped, state_dir):
            return
        with contextlib.suppress(ContainerNotFound):  # deleted meanwhile
            await self._run("delete", *(["--force"] if force else []), cid)

    async def state(self, cid: str) -> RuntimeState:
        data = json.loads(await self._run("state", cid))
        return RuntimeState(id=data["id"], status=data["status"], pid=int(data.get("pid") or 0))

    async def exec_output(self, cid: str, process: Path, *, pid_file: Path, timeout: float) -> ExecOutput:
        """``runc exec --process <process> --pid-file <pid_file> <cid>``, its output collected; at
        ``timeout`` the process is killed by the pid runc wrote, then runc if it lingers."""
        _forget(pid_file)  # so that a timeout never kills by the pid of an earlier run
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--root",
            str(self.root),
            "exec",
            "--process",
            str(process),
            "--pid-file",
            str(pid_file),
            cid,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            _kill_by_pid_file(pid_file)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), KILL_GRACE)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            return ExecOutput(None, b"")
        except asyncio.CancelledError:
            _kill_by_pid_file(pid_file)
            if proc.returncode is None:
                proc.kill()
            raise
        return ExecOutput(proc.returncode, output)

    # -- what the shims add ---------------------------------------------------
    async def connect(self, paths: ShimPaths) -> Stdio:
        return await connect(paths)

    def watch_exit(self, shim_pid: int, on_exit: Callable[[], None]) -> None:
        watch_exit(shim_pid, on_exit)

    def alive(self, shim_pid: int, bundle: Path) -> bool:
        return shim_alive(shim_pid, bundle)

    def warm(self) -> None:
        self.shims.warm()

    def close(self) -> None:
        self.shims.close()


def _forget(path: Path) -> None:
    path.unlink(missing_ok=True)


def _kill_by_pid_file(pid_file: Path) -> None:
    """SIGKILL to the process whose host pid runc wrote to ``pid_file``."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
