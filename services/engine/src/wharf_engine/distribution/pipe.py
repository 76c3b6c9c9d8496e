"""A bounded pipe from the event loop to a blocking reader in a thread.

A pull hands each downloaded chunk to the thread that extracts the layer, so downloading and
extracting overlap and nothing is spooled to disk first. The reader sees end of file only
when the writer :meth:`finish` es (after the download was verified); :meth:`abort` makes it
raise instead, and a reader that stops early (an invalid layer) makes :meth:`put` raise
:class:`ReaderGone` rather than wait forever.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import TypeVar, cast

DEPTH = 8  # chunks (about 1 MiB each) between the download and the extraction


T = TypeVar("T")


def in_thread(fn: Callable[[], T], *, name: str) -> asyncio.Future[T]:
    """Run ``fn`` in a thread of its own (not the loop's small default pool, which the pipe's
    own hops use: a reader parked there could starve them); its result as a future. Await it
    through :func:`asyncio.shield` or :func:`settled`: a cancelled future would forget the
    thread, which goes on running."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))

    def run() -> None:
        outcome: tuple[T | None, BaseException | None]
        try:
            outcome = (fn(), None)
        except BaseException as exc:
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


async def settled(future: asyncio.Future[T]) -> None:
    """Wait until ``future`` is done, even if this task is cancelled meanwhile (the thread behind
    it ends soon once its pipe is aborted, and its clean-up must be over before we return); a
    cancellation that came in is raised afterwards. The future's own error is consumed: the
    caller is already failing, and the thread's error is its echo."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])  # unlike gather, never cancels the future itself
        except asyncio.CancelledError:
            cancelled = True
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it as forgotten
    if cancelled:
        raise asyncio.CancelledError


class ReaderGone(Exception):
    """The reading side ended (its own error says why)."""


class ChunkPipe:
    def __init__(self, depth: int = DEPTH) -> None:
        self._queue: queue.Queue[bytes | bytearray | BaseException | None] = queue.Queue(depth)
        self._gone = threading.Event()
        self._view = memoryview(b"")
        self._eof = False

    # ---- the writer (event loop) ------------------------------------------------------------

    def _put_blocking(self, item: bytes | bytearray | None) -> None:
        while not self._gone.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise ReaderGone()

    async def put(self, chunk: bytes | bytearray) -> None:
        """Queue ``chunk`` (the pipe owns it from here); waits in a thread only when the pipe is full."""
        if not chunk:
            return
        if self._gone.is_set():
            raise ReaderGone()
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._put_blocking, chunk)

    async def finish(self) -> None:
        """End of file for the reader."""
        await asyncio.to_thread(self._put_blocking, None)

    def abort(self, exc: BaseException) -> None:
        """The reader raises ``exc`` at its next read (never blocks: makes room if it must)."""
        while True:
            try:
                self._queue.put_nowait(exc)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass

    # ---- the reader (a thread) -------------------------------------------------------------

    def reader_done(self) -> None:
        """Called by the reading side when it stops, read to the end or not."""
        self._gone.set()

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        while not self._view and not self._eof:
            item = self._queue.get()
            if item is None:
                self._eof = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._view = memoryview(item)
        data = bytes(self._view[:size])
        self._view = self._view[size:]
        return data


__all__ = ["ChunkPipe", "ReaderGone", "in_thread", "settled"]
