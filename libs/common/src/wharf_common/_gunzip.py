"""gzip members inflated by zlib in large pieces (private to :mod:`wharf_common.tarfiles`).

What ``gzip.GzipFile`` reads, with its checks (header, CRC-32 and length trailer, members
one after another, zero padding after the last), but without its 8 KiB steps through Python:
a layer is a few large reads and CRC calls, not thousands of small ones.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Protocol

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # the gzip wrapper: zlib checks the header and the trailer
_PIECE = 1 << 20


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class GunzipReader:
    """Read the decompressed bytes of the gzip stream in ``source`` (whose first bytes are ``head``).

    Errors are the ones ``gzip`` raises: ``EOFError`` for a stream cut short, ``zlib.error``
    for corrupt data or a wrong checksum, ``gzip.BadGzipFile`` for garbage between members.
    """

    def __init__(self, source: _Readable, head: bytes = b"") -> None:
        self._source = source
        self._input = head  # compressed bytes zlib has not seen yet
        self._inflate: zlib._Decompress | None = zlib.decompressobj(_GZIP_WBITS)
        self._output = b""
        self._offset = 0
        self._eof = False

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(_PIECE):
                parts.append(chunk)
            return b"".join(parts)
        while self._offset == len(self._output) and not self._eof:
            self._output, self._offset = self._inflate_some(), 0
        if self._offset == 0 and size >= len(self._output):  # the whole piece: no copy
            self._offset = len(self._output)
            return self._output
        data = self._output[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def _next_input(self) -> bytes:
        data, self._input = self._input, b""
        return data or self._source.read(_PIECE)

    def _inflate_some(self) -> bytes:
        if self._inflate is None:  # between members: zero padding, the end, or another member
            data = self._next_input().lstrip(b"\x00")
            while not data:
                more = self._source.read(_PIECE)
                if not more:
                    self._eof = True
                    return b""
                data = more.lstrip(b"\x00")
            if len(data) < len(GZIP_MAGIC):
                data += self._source.read(len(GZIP_MAGIC) - len(data))
            if not data.startswith(GZIP_MAGIC):
                raise gzip.BadGzipFile(f"Not a gzipped file ({data[:2]!r})")
            self._input = data
            self._inflate = zlib.decompressobj(_GZIP_WBITS)
        inflate = self._inflate
        data = inflate.unconsumed_tail or self._next_input()
        if not data:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        out = inflate.decompress(data, _PIECE)  # bounded: a small input may inflate a lot
        if inflate.eof:
            self._input = inflate.unused_data
            self._inflate = None
        return out
