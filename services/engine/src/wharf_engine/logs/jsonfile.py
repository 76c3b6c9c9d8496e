"""Read Docker's json-file logs, rotated files included: tail, since/until, follow (the shim writes)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

POLL = 0.05  # seconds between looks at a followed log when nothing rings its bell


class LogBell:
    """Wakes a container's log followers at once; they otherwise look every :data:`POLL` seconds.

    Rung when the container's shim has gone (its last lines are in the file by then), before the
    engine reports the exit: a client that stops following on the ``die`` event (docker-compose's
    ``logs -f``) has been sent the last lines already, as with Docker's file watcher."""

    def __init__(self) -> None:
        self._events: set[asyncio.Event] = set()

    async def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds or when rung, whichever is first."""
        event = asyncio.Event()
        self._events.add(event)
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._events.discard(event)

    def ring(self) -> None:
        for event in self._events:
            event.set()


@dataclass(frozen=True, slots=True)
class LogRecord:
    stream: str  # stdout | stderr
    data: bytes
    time: str  # RFC3339Nano


@dataclass(frozen=True, slots=True)
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    tail: int | None = None  # None: all
    since: float = 0.0
    until: float = 0.0
    timestamps: bool = False


def parse_time(value: str) -> float:
    """Seconds since the epoch of an RFC3339Nano string, keeping microseconds."""
    head, _, frac = value.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def _decode(line: bytes) -> LogRecord | None:
    try:
        entry = json.loads(line)
        return LogRecord(entry["stream"], entry["log"].encode(), entry["time"])
    except (ValueError, KeyError):
        return None  # a line the shim was still writing, or garbage


def _wanted(record: LogRecord, opts: LogOptions) -> bool:
    if record.stream == "stdout" and not opts.stdout:
        return False
    if record.stream == "stderr" and not opts.stderr:
        return False
    if opts.since or opts.until:
        t = parse_time(record.time)
        if opts.since and t < opts.since:
            return False
        if opts.until and t > opts.until:
            return False
    return True


def log_files(path: Path) -> list[Path]:
    """The log's files oldest first: ``<log>.N`` ... ``<log>.1`` (rotated by the shim), ``<log>``."""
    rotated: list[Path] = []
    while (older := path.with_name(f"{path.name}.{len(rotated) + 1}")).exists():
        rotated.append(older)
    return [*reversed(rotated), path]


@contextmanager
def _rotation_lock(path: Path) -> Iterator[None]:
    """Shared flock of the log's directory: the shim rotates under the exclusive one."""
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _open_files(path: Path, after: int | None = None) -> list[BinaryIO]:
    """Open the log's files oldest first; with ``after`` (an inode), only those newer than it."""
    files: list[BinaryIO] = []
    with _rotation_lock(path):
        for name in log_files(path):
            try:
                files.append(open(name, "rb"))  # noqa: SIM115 - the caller closes them
            except FileNotFoundError:
                continue
    inodes = [os.fstat(f.fileno()).st_ino for f in files]
    if after is not None and after in inodes:
        cut = inodes.index(after) + 1
        for f in files[:cut]:
            f.close()
        files = files[cut:]
    return files


def _rotated(path: Path, current: BinaryIO) -> bool:
    try:
        return path.stat().st_ino != os.fstat(current.fileno()).st_ino
    except FileNotFoundError:
        return True


def _complete_lines(f: BinaryIO) -> Iterator[bytes]:
    """Whole lines from where ``f`` is; a line still being written is left for later."""
    for line in f:
        if not line.endswith(b"\n"):
            f.seek(-len(line), 1)
            return
        yield line


async def read_logs(
    path: Path,
    opts: LogOptions,
    running: Callable[[], bool],
    bell: LogBell | None = None,
    poll: float | None = None,
) -> AsyncIterator[LogRecord]:
    """Yield the records ``opts`` asks for, across rotated files; with ``follow``, keep going
    (through the rotations the shim makes) until ``running()`` is false, looking again every
    ``poll`` seconds (:data:`POLL`) or when ``bell`` rings."""
    poll = POLL if poll is None else poll
    files = _open_files(path)
    if not files:
        return
    current = files[-1]
    try:
        backlog: deque[LogRecord] | list[LogRecord]
        backlog = deque(maxlen=opts.tail) if opts.tail is not None else []
        if opts.tail != 0:
            for f in files:
                for line in _complete_lines(f):
                    record = _decode(line)
                    if record is not None and _wanted(record, opts):
                        backlog.append(record)
        else:
            current.seek(0, 2)
        for f in files[:-1]:
            f.close()
        for record in backlog:
            yield record
        if not opts.follow:
            return
        pending = b""
        while True:
            chunk = current.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    record = _decode(line)
                    if record is not None and _wanted(record, opts):
                        yield record
                continue
            if _rotated(path, current):
                if current.read(1):  # written just before the rotation: read it first
                    current.seek(-1, 1)
                    continue
                newer = _open_files(path, after=os.fstat(current.fileno()).st_ino)
                if newer:
                    current.close()
                    pending = b""
                    for f in newer[:-1]:
                        with f:
                            for line in _complete_lines(f):
                                record = _decode(line)
                                if record is not None and _wanted(record, opts):
                                    yield record
                    current = newer[-1]
                    continue
            if not running():
                # one more read: the shim may have written its last lines just before exiting
                if current.read(1):
                    current.seek(-1, 1)
                    continue
                return
            if bell is None:
                await asyncio.sleep(poll)
            else:
                await bell.wait(poll)
    finally:
        for f in (*files, current):
            f.close()
