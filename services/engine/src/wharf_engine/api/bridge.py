"""Bridges between async request/response bodies and blocking file-like code run in threads.

``BodyReader`` lets a thread read an upload as a file while the event loop receives it; an
upload that ends early (client gone) makes ``read`` raise, so a truncated tar never looks
complete. ``ThreadWriter`` lets a thread write a download that the loop streams out.
"""

from __future__ import annotations

import asyncio
import io
import queue
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO, cast

from starlette.requests import ClientDisconnect, Request
from wharf_common.errors import WharfError
from wharf_common.uploads import TruncatedUpload

_EOF = b""


class BodyReader(io.RawIOBase):
    """A read-only binary file fed by the event loop; read() blocks, so use it from a thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=16)
        self._buffer = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        while not self._eof and (size < 0 or len(self._buffer) < size):
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if item == _EOF:
                self._eof = True
            else:
                self._buffer += item
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    async def _put(self, item: bytes | BaseException) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)

    async def pump(self, request: Request) -> None:
        try:
            async for chunk in request.stream():
                if chunk:
                    await self._put(chunk)
        except ClientDisconnect:
            await self._put(TruncatedUpload())
            return
        except WharfError as exc:  # e.g. BodyTooLarge: the reading thread must stop too
            await self._put(exc)
            return
        await self._put(_EOF)

    def close(self) -> None:
        self._eof = True
        super().close()


async def with_body(request: Request, work: Callable[[BinaryIO], Any]) -> Any:
    """Run ``await work(reader)`` while the request body streams into ``reader``."""
    reader = BodyReader()
    pump = asyncio.create_task(reader.pump(request))
    try:
        return await work(cast(BinaryIO, reader))
    finally:
        pump.cancel()
        try:
            await pump
        except (asyncio.CancelledError, Exception):
            pass


class ThreadWriter(io.RawIOBase):
    """A write-only binary file drained by the event loop; write() blocks when the client is slow."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self.cancelled = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.cancelled:
            raise BrokenPipeError("client went away")
        if data:
            self._queue.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self._queue.put(None)

    async def chunks(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        try:
            while (chunk := await loop.run_in_executor(None, self._queue.get)) is not None:
                yield chunk
        finally:
            self.cancelled = True
            while not self._queue.empty():  # unblock a writer stuck on a full queue
                self._queue.get_nowait()


def stream_from_thread(work: Callable[[BinaryIO], Awaitable[None]]) -> AsyncIterator[bytes]:
    """Chunks that ``await work(file)`` writes (from a thread) to a file, as a response body.

    A failure after the first bytes went out ends the body early: the client sees a
    truncated download, as with Docker, rather than an error glued onto the data.
    """
    writer = ThreadWriter()

    async def run() -> None:
        try:
            await work(cast(BinaryIO, writer))
        finally:
            writer.finish()

    task = asyncio.ensure_future(run())

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in writer.chunks():
                yield chunk
            await task
        finally:
            if not task.done():
                task.cancel()

    return body()
