"""Docker's JSON progress messages (protocols.md C.6) and a runner that streams them out of a task.

A pull or push works in a task of its own and *emits* messages; the HTTP response iterates
them. If the consumer goes away (the client disconnected), the task is cancelled, so its
``finally`` blocks remove what it left half done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

Message = dict[str, Any]
Emit = Callable[[Message], None]
ProgressStream = AsyncGenerator[Message, None]


def status(text: str, id: str | None = None) -> Message:
    message: Message = {"status": text}
    if id is not None:
        message["id"] = id
    return message


def layer_status(id: str, text: str) -> Message:
    return {"status": text, "progressDetail": {}, "id": id}


def layer_progress(id: str, text: str, current: int, total: int | None) -> Message:
    detail = {"current": current, **({"total": total} if total else {})}
    return {"status": text, "progressDetail": detail, "progress": _bar(current, total), "id": id}


def _bar(current: int, total: int | None) -> str:
    if not total:
        return _size(current)
    filled = min(50, current * 50 // total)
    bar = ("=" * (filled - 1) + (">" if filled < 50 else "=")) if filled else ""
    return f"[{bar}{' ' * (50 - filled)}] {_size(current)}/{_size(total)}"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.4g}{unit}" if unit != "B" else f"{n}B"
        value /= 1000
    return f"{n}B"


class Throttle:
    """At most one progress message per ``interval`` seconds (and always the last one)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = 0.0

    def ready(self, *, final: bool = False) -> bool:
        now = time.monotonic()
        if final or now - self._last >= self.interval:
            self._last = now
            return True
        return False


async def pushing(chunks: AsyncIterable[bytes], total: int, short: str, emit: Emit) -> AsyncIterator[bytes]:
    """Pass an upload's bytes through, emitting ``Pushing`` progress for layer ``short`` (throttled)."""
    throttle, sent = Throttle(), 0
    async for chunk in chunks:
        sent += len(chunk)
        if throttle.ready(final=sent >= total):
            emit(layer_progress(short, "Pushing", sent, max(total, sent)))
        yield chunk


async def run_with_progress(work: Callable[[Emit], Awaitable[None]]) -> AsyncIterator[Message]:
    """Messages ``await work(emit)`` emits, as they come; its exception is raised at the end."""
    queue: asyncio.Queue[Message | None] = asyncio.Queue()

    async def runner() -> None:
        try:
            await work(queue.put_nowait)
        finally:
            queue.put_nowait(None)

    task = asyncio.ensure_future(runner())
    try:
        while (message := await queue.get()) is not None:
            yield message
        await task
    finally:
        if not task.done():
            task.cancel()
            with suppress(BaseException):
                await task


__all__ = [
    "Emit",
    "Message",
    "ProgressStream",
    "Throttle",
    "layer_progress",
    "layer_status",
    "run_with_progress",
    "status",
]
