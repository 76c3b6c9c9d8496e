"""Parallel gzip, as pigz writes it: one gzip member whose deflate stream is made of blocks
compressed independently in threads (the codec releases the GIL), each primed with the previous
block's last 32 KiB so the ratio stays close to a single stream, and ended with a sync flush so
the blocks simply concatenate. The CRC-32 and the length are computed in order, in the writer.

The codec is ISA-L's (``isal``) when it is installed: its levels 1-3 compress at several times
zlib's speed with a ratio near zlib's level 6, and its CRC-32 is several times zlib's. zlib
levels map onto them (1-3 → 1, 4-6 → 2, 7-9 → 3); without ``isal``, zlib itself.

A block that does not shrink when its first 8 KiB are tried (already compressed content:
archives, media, random bytes) is written as stored deflate blocks instead, framed in the
writer (a copy; zlib's level 0 would still run the data through its window, and a hop to a
thread costs more than the copy): any gzip reader accepts them, and no CPU is spent on data
that will not get smaller.

:class:`ParallelGzipWriter` is a write-only file object; what it produces goes to ``sink``
(a callable taking bytes) in order.
"""

from __future__ import annotations

import importlib
import struct
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_codec: Any
try:
    _codec = importlib.import_module("isal.isal_zlib")
except ImportError:  # pragma: no cover - isal is a dependency; a platform without its wheel
    _codec = zlib

BLOCK = 1 << 20
WINDOW = 32 << 10
PROBE = 8 << 10  # enough to tell text or binaries (well under 0.9) from compressed data (over 1)
INCOMPRESSIBLE = 0.97
STORED_MAX = 0xFFFF  # the most a stored deflate block holds
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, no extra flags, OS unknown
FINAL = b"\x03\x00"  # an empty last block (fixed codes, end of block): the stream's end
_STORED = struct.Struct("<BHH")  # BFINAL=0 BTYPE=00 (byte-aligned: every block ends so), LEN, NLEN

Block = bytes | memoryview


def codec_level(level: int) -> int:
    """The codec's level for a zlib level (1-9)."""
    return level if _codec is zlib or level <= 0 else min(3, (level + 2) // 3)


def _compresses(data: Block) -> bool:
    """Whether a block is worth deflating: its first ``PROBE`` bytes shrink at the fastest level."""
    probe = _codec.compressobj(1, zlib.DEFLATED, -15)
    sample = data[:PROBE]
    return len(probe.compress(sample) + probe.flush()) <= INCOMPRESSIBLE * len(sample)


def _deflate(data: Block, dictionary: bytes, level: int) -> bytes:
    if dictionary:
        c = _codec.compressobj(codec_level(level), zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    else:
        c = _codec.compressobj(codec_level(level), zlib.DEFLATED, -15)
    out: bytes = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out


def _stored(data: Block) -> bytearray:
    """``data`` as non-final stored blocks; they start and end on a byte boundary, as a sync
    flush leaves the stream, so they sit between compressed blocks as they are."""
    view = memoryview(data)
    out = bytearray(len(view) + _STORED.size * -(-len(view) // STORED_MAX))
    pos = 0
    for start in range(0, len(view), STORED_MAX):
        piece = view[start : start + STORED_MAX]
        n = len(piece)
        _STORED.pack_into(out, pos, 0, n, n ^ 0xFFFF)
        out[pos + _STORED.size : pos + _STORED.size + n] = piece
        pos += _STORED.size + n
    return out


class ParallelGzipWriter:
    def __init__(
        self, sink: Callable[[bytes | bytearray], object], *, level: int = 6, threads: int = 2
    ) -> None:
        self._sink = sink
        self._level = level
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None  # made for the second block: small layers need none
        self._pending: deque[Future[bytes | bytearray]] = deque()
        self._ahead = threads * 2
        self._buffer = bytearray()
        self._dictionary = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        sink(HEADER)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if not self._buffer and isinstance(data, bytes) and len(data) >= BLOCK:
            # whole blocks of a big write (a copy loop's 1 MiB reads) go out without a copy
            view = memoryview(data)
            whole = len(data) - len(data) % BLOCK
            for start in range(0, whole, BLOCK):
                self._submit(view[start : start + BLOCK])
            self._buffer += view[whole:]
            return len(data)
        self._buffer += data
        if len(self._buffer) >= BLOCK:
            view = memoryview(self._buffer)
            whole = len(self._buffer) - len(self._buffer) % BLOCK
            blocks = [bytes(view[start : start + BLOCK]) for start in range(0, whole, BLOCK)]
            view.release()
            del self._buffer[:whole]
            for block in blocks:
                self._submit(block)
        return len(data)

    def _submit(self, block: Block, *, last: bool = False) -> None:
        self._crc = _codec.crc32(block, self._crc)
        self._size += len(block)
        dictionary, self._dictionary = self._dictionary, bytes(block[-WINDOW:])
        if self._level <= 0 or not _compresses(block):
            stored: Future[bytes | bytearray] = Future()  # framed here: a copy, no thread
            stored.set_result(_stored(block))
            self._pending.append(stored)
        elif last and self._pool is None:  # the only block to deflate: here, no threads to start
            self._sink(_deflate(block, dictionary, self._level))
            return
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="pgzip")
            self._pending.append(self._pool.submit(_deflate, block, dictionary, self._level))
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
            self._sink(FINAL)
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
