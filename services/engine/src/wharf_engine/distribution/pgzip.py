"""Parallel gzip, as pigz writes it: one gzip member whose deflate stream is made of blocks
compressed independently in threads (zlib releases the GIL), each primed with the previous
block's last 32 KiB so the ratio stays close to a single stream, and ended with a sync flush so
the blocks simply concatenate. The CRC-32 and the length are computed in order, in the writer.

A block that does not shrink when its first 64 KiB are tried (already compressed content:
archives, media, random bytes) is written as stored deflate blocks instead: any gzip reader
accepts them, and no CPU is spent on data that will not get smaller.

:class:`ParallelGzipWriter` is a write-only file object; what it produces goes to ``sink``
(a callable taking bytes) in order.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

BLOCK = 1 << 20
WINDOW = 32 << 10
PROBE = 64 << 10
INCOMPRESSIBLE = 0.97
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, no extra flags, OS unknown


def _deflate(data: bytes, dictionary: bytes, level: int) -> bytes:
    if level > 0:
        probe = zlib.compressobj(1, zlib.DEFLATED, -15)
        sample = data[:PROBE]
        if len(probe.compress(sample) + probe.flush()) > INCOMPRESSIBLE * len(sample):
            level = 0
    if dictionary and level > 0:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter:
    def __init__(self, sink: Callable[[bytes], object], *, level: int = 6, threads: int = 2) -> None:
        self._sink = sink
        self._level = level
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None  # made for the second block: small layers need none
        self._pending: deque[Future[bytes]] = deque()
        self._ahead = threads * 2
        self._buffer = bytearray()
        self._dictionary = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        sink(HEADER)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK:
            self._submit(bytes(self._buffer[:BLOCK]))
            del self._buffer[:BLOCK]
        return len(data)

    def _submit(self, block: bytes, *, last: bool = False) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        if last and self._pool is None:  # the only block: deflated here, no threads to start
            self._sink(_deflate(block, self._dictionary, self._level))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="pgzip")
        self._pending.append(self._pool.submit(_deflate, block, self._dictionary, self._level))
        self._dictionary = block[-WINDOW:]
        while len(self._pending) > self._ahead:
            self._sink(self._pending.popleft().result())

    def flush(self) -> None:
        """Nothing to do: blocks go out when full (a file-object method tar writers call)."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._buffer:
                self._submit(bytes(self._buffer), last=True)
                self._buffer.clear()
            while self._pending:
                self._sink(self._pending.popleft().result())
            self._sink(zlib.compressobj(self._level, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))
            self._sink(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._closed = True
            self._shutdown()


__all__ = ["ParallelGzipWriter"]
