"""Engine side of the shim: spawn it, learn when the container exits, connect to its stdio."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from .errors import RuntimeFailure
from .runc_errors import start_error

log = structlog.get_logger(__name__)

SHIM = Path(__file__).with_name("shim.py")
START = 6  # the shim frame that lets an exec's process run

Stdio = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class ShimPaths:
    """Where one container's shim keeps its files."""

    bundle: Path
    log: Path
    exit_file: Path
    socket: Path
    run_dir: Path
    prefix: str = ""  # "exec-<id>." for an exec's files beside the container's
    log_max_size: int = 0  # rotate the log past this many bytes (0: never)
    log_max_files: int = 1  # ...keeping this many files, the live one included

    @property
    def pid_file(self) -> Path:
        return self.bundle / f"{self.prefix}init.pid"

    @property
    def runc_log(self) -> Path:
        return self.bundle / f"{self.prefix}runc.log"


@dataclass(frozen=True, slots=True)
class ExitStatus:
    exit_code: int
    finished_at: str | None
    oom_killed: bool = False


@dataclass(slots=True)
class _Spare:
    """A shim already booted and daemonized, waiting on ``job`` for its container."""

    job: int  # write end of the shim's stdin
    ready: int  # read end of the shim's stdout


class ShimLauncher:
    """Starts shims, keeping one spare warm so that a start skips even the fork.

    Spares come from the shim server (``shim.py --server``), an interpreter booted once that
    forks one per request: a fork is far cheaper than a fresh interpreter (docs/performance.md).
    A server that died is started again on the next request.
    """

    def __init__(self) -> None:
        self._spare: _Spare | None = None
        self._warming: asyncio.Task[None] | None = None
        self._server: socket.socket | None = None
        self._server_proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def _server_socket(self) -> socket.socket:
        if self._server is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self._server_proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-E",  # nothing from the engine's environment (PYTHONPATH, PYTHONMALLOC...)
                    "-S",  # no site: the shims' memory is the server's (docs/performance.md)
                    str(SHIM),
                    "--server",
                    str(theirs.fileno()),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
            except BaseException:
                ours.close()
                raise
            finally:
                theirs.close()
            ours.setblocking(False)
            self._server = ours
        return self._server

    def _stop_server(self) -> None:
        """Close our end: EOF ends the server (asyncio's child watcher reaps it)."""
        if self._server is not None:
            self._server.close()
            self._server = None
            self._server_proc = None

    async def _boot(self) -> _Spare:
        loop = asyncio.get_running_loop()
        async with self._lock:  # one request at a time: answers carry no id
            for _ in range(2):  # a dead server is replaced once
                server = await self._server_socket()
                job_r, job_w = os.pipe()
                ready_r, ready_w = os.pipe()
                try:
                    socket.send_fds(server, [b"spawn"], [job_r, ready_w])
                    reply = await loop.sock_recv(server, 64)
                except OSError as exc:
                    reply = str(exc).encode()
                finally:
                    os.close(job_r)
                    os.close(ready_w)
                if reply == b"ok":
                    return _Spare(job=job_w, ready=ready_r)
                os.close(job_w)
                os.close(ready_r)
                log.warning("shim.server_failed", reply=reply.decode(errors="replace"))
                self._stop_server()
        raise OSError("the shim server does not answer")

    def warm(self) -> None:
        """Boot a spare in the background, if none is ready or booting."""
        if self._spare is None and (self._warming is None or self._warming.done()):
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        try:
            self._spare = await self._boot()
        except OSError as exc:
            log.warning("shim.warm_failed", error=str(exc))

    async def _take(self) -> _Spare:
        if self._spare is None and self._warming is not None and not self._warming.done():
            await asyncio.shield(self._warming)
        spare, self._spare = self._spare, None
        return spare if spare is not None else await self._boot()

    async def launch(
        self,
        cid: str,
        paths: ShimPaths,
        *,
        runtime: str,
        runtime_root: Path,
        tty: bool,
        stdin: bool,
        exec_process: Path | None = None,
    ) -> tuple[int, int, Stdio | None]:
        """Hand a container (or, with ``exec_process``, an exec) to a shim.

        Returns (shim pid, process pid, stdio). For a container the shim ran ``runc create``
        and stdio is None; for an exec the stdio stream is already connected and the
        process was started only after that connection, so no output is missed.
        """
        spare = await self._take()
        job = {
            "id": cid,
            "bundle": str(paths.bundle),
            "runtime": runtime,
            "runtime_root": str(runtime_root),
            "runc_log": str(paths.runc_log),
            "pid_file": str(paths.pid_file),
            "log": str(paths.log),
            "log_max_size": paths.log_max_size,
            "log_max_files": paths.log_max_files,
            "exit_file": str(paths.exit_file),
            "socket": str(paths.socket),
            "run_dir": str(paths.run_dir),
            "tty": tty,
            "stdin": stdin,
            "exec_process": str(exec_process) if exec_process else None,
        }
        try:
            os.write(spare.job, json.dumps(job).encode() + b"\n")
        finally:
            os.close(spare.job)
        ready_file = os.fdopen(spare.ready, "rb")
        try:
            stdio: Stdio | None = None
            if exec_process is not None:
                _check(await asyncio.to_thread(ready_file.readline))
                stdio = await connect(paths)
                stdio[1].write(struct.pack(">BxxxI", START, 0))
                await stdio[1].drain()
            ready = _check(await asyncio.to_thread(ready_file.readline))
        finally:
            ready_file.close()
            self.warm()  # after runc create, which it would slow down: the next start finds it ready
        return int(ready["shim_pid"]), int(ready["pid"]), stdio

    def close(self) -> None:
        """Let the spare and the server go: EOF on its stdin ends each (a spare still booting is
        cancelled, so that nothing waits on the server's socket once it is closed)."""
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
        if self._spare is not None:
            os.close(self._spare.job)
            os.close(self._spare.ready)
            self._spare = None
        self._stop_server()


def _check(line: bytes) -> dict[str, Any]:
    """A shim's ready report, or the error it names (126/127 kinds for a bad command)."""
    try:
        ready = json.loads(line)
    except ValueError as exc:
        raise RuntimeFailure(f"shim failed to start: {line[-500:]!r}") from exc
    if not ready.get("ok"):
        raise start_error(str(ready.get("error", "unknown error")))
    return dict(ready)


def read_exit_file(path: Path) -> ExitStatus | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return ExitStatus(int(data["exit_code"]), data.get("finished_at"), bool(data.get("oom_killed")))


def shim_alive(shim_pid: int, bundle: Path) -> bool:
    """True when ``shim_pid`` is still the shim working in ``bundle`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{shim_pid}/cmdline").read_bytes()
        cwd = str(Path(f"/proc/{shim_pid}/cwd").readlink())
    except OSError:
        return False
    return str(SHIM).encode() in cmdline and cwd == str(bundle)


def watch_exit(shim_pid: int, on_exit: Callable[[], None]) -> None:
    """Call ``on_exit`` in the event loop once the shim process has gone."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(shim_pid)
    except ProcessLookupError:
        loop.call_soon(on_exit)
        return

    def fire() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        on_exit()

    loop.add_reader(pidfd, fire)


async def connect(paths: ShimPaths) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(str(paths.socket))


__all__ = [
    "ExitStatus",
    "ShimLauncher",
    "ShimPaths",
    "connect",
    "read_exit_file",
    "shim_alive",
    "watch_exit",
]
