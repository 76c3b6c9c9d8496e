"""A thin typed client for the runc binary, in OCI terms (id, bundle, signal), as go-runc."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cleanup import delete_stopped
from .errors import RuntimeFailure


@dataclass(frozen=True, slots=True)
class RuntimeState:
    id: str
    status: str  # created | running | paused | stopped
    pid: int


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
    """Runs ``runc --root <root> <verb>``; container creation itself is the shim's job."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root

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
            raise RuntimeFailure(err.decode(errors="replace").strip() or f"runc {args[0]} failed")
        return out.decode()

    async def start(self, cid: str, pid: int = 0) -> None:
        """Let a created container's process run.

        As ``runc start`` does it, without the ~5 ms of a runc process: runc's init waits to
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
            raise RuntimeFailure("cannot start a container that has stopped")
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
        """``runc delete``; a container whose init has exited is cleaned up here, without runc."""
        if (self.root / cid).exists() and await asyncio.to_thread(delete_stopped, self.root / cid):
            return
        try:
            await self._run("delete", *(["--force"] if force else []), cid)
        except RuntimeFailure as exc:
            if "does not exist" not in str(exc):
                raise

    async def state(self, cid: str) -> RuntimeState | None:
        try:
            out = await self._run("state", cid)
        except RuntimeFailure as exc:
            if "does not exist" in str(exc):
                return None
            raise
        data = json.loads(out)
        return RuntimeState(id=data["id"], status=data["status"], pid=int(data.get("pid") or 0))
