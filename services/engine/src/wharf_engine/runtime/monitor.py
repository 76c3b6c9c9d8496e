"""Engine side of the shim: spawn it, learn when the container exits, connect to its stdio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from .errors import RuntimeFailure, StartFailure

log = structlog.get_logger(__name__)

SHIM = Path(__file__).with_name("shim.py")


@dataclass(frozen=True, slots=True)
class ShimPaths:
    """Where one container's shim keeps its files."""

    bundle: Path
    log: Path
    exit_file: Path
    socket: Path
    run_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.bundle / "init.pid"

    @property
    def runc_log(self) -> Path:
        return self.bundle / "runc.log"

    @property
    def shim_log(self) -> Path:
        return self.bundle / "shim.log"


@dataclass(frozen=True, slots=True)
class ExitStatus:
    exit_code: int
    finished_at: str | None
    oom_killed: bool = False


def start_exit_code(message: str) -> int:
    """Docker's exit codes for a process that could not be started."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 128


async def spawn_shim(
    cid: str, paths: ShimPaths, *, runtime: str, runtime_root: Path, tty: bool, stdin: bool
) -> tuple[int, int]:
    """Start a shim that runs ``runc create``; return (shim pid, init pid)."""
    read_fd, write_fd = os.pipe()
    args = [
        sys.executable, "-S", str(SHIM),
        "--id", cid,
        "--bundle", str(paths.bundle),
        "--runtime", runtime,
        "--runtime-root", str(runtime_root),
        "--runc-log", str(paths.runc_log),
        "--pid-file", str(paths.pid_file),
        "--log", str(paths.log),
        "--exit-file", str(paths.exit_file),
        "--socket", str(paths.socket),
        "--run-dir", str(paths.run_dir),
        "--ready-fd", str(write_fd),
    ]  # fmt: skip
    if tty:
        args.append("--tty")
    if stdin:
        args.append("--stdin")
    with open(paths.shim_log, "ab") as shim_log:
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=shim_log,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
    await proc.wait()
    line = await asyncio.to_thread(_read_line, read_fd)
    try:
        ready = json.loads(line)
    except ValueError as exc:
        raise RuntimeFailure(f"shim failed to start: {paths.shim_log.read_text()[-500:]}") from exc
    if not ready.get("ok"):
        message = str(ready.get("error", "unknown error"))
        code = start_exit_code(message)
        if code in (126, 127):
            raise StartFailure(message, code)
        raise RuntimeFailure(message)
    return int(ready["shim_pid"]), int(ready["pid"])


def _read_line(fd: int) -> str:
    chunks = []
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def read_exit_file(path: Path) -> ExitStatus | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return ExitStatus(int(data["exit_code"]), data.get("finished_at"), bool(data.get("oom_killed")))


def shim_alive(shim_pid: int, cid: str) -> bool:
    """True when ``shim_pid`` is still the shim of container ``cid`` (guards pid reuse)."""
    try:
        cmdline = Path(f"/proc/{shim_pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cid.encode() in cmdline and str(SHIM).encode() in cmdline


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
    "ShimPaths",
    "connect",
    "read_exit_file",
    "shim_alive",
    "spawn_shim",
    "start_exit_code",
    "watch_exit",
]
