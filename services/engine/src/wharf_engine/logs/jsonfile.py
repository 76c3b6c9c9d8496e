"""Read Docker's json-file logs: tail, since/until, follow (the shim is the writer)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


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


async def read_logs(path: Path, opts: LogOptions, running: Callable[[], bool]) -> AsyncIterator[LogRecord]:
    """Yield the records ``opts`` asks for; with ``follow``, keep going until ``running()`` is false."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally
    except FileNotFoundError:
        return
    try:
        backlog: deque[LogRecord] | list[LogRecord]
        backlog = deque(maxlen=opts.tail) if opts.tail is not None else []
        if opts.tail != 0:
            for line in f:
                if not line.endswith(b"\n"):
                    f.seek(-len(line), 1)
                    break
                record = _decode(line)
                if record is not None and _wanted(record, opts):
                    backlog.append(record)
        else:
            f.seek(0, 2)
        for record in backlog:
            yield record
        if not opts.follow:
            return
        pending = b""
        while True:
            chunk = f.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    record = _decode(line)
                    if record is not None and _wanted(record, opts):
                        yield record
                continue
            if not running():
                # one more read: the shim may have written its last lines just before exiting
                if f.read(1):
                    f.seek(-1, 1)
                    continue
                return
            await asyncio.sleep(0.05)
    finally:
        f.close()
