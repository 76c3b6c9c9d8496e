"""Shared pieces of :mod:`wharf_common.tarfiles` (private): errors, whiteout names, streams.

* :func:`open_decompressed` sniffs gzip/bzip2/xz magic and returns a reader of the
  plain tar bytes, so the digest is the one of the *uncompressed* stream.
* :class:`HashingReader` / :class:`HashingWriter` hash every byte that passes,
  and satisfy the file-object protocol ``tarfile`` streaming mode needs.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import zlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from wharf_common._gunzip import GZIP_MAGIC, GunzipReader
from wharf_common.errors import InvalidArgument
from wharf_common.humanize import human_size

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_BZIP2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_MAGIC_LENGTH = 6
_READ_SIZE = 1 << 16
_MAX_READ = 64 << 20
"""``tarfile`` reads member data in small pieces; only a header (PAX records, a GNU long name)
is read whole, and none of a real archive comes near this."""
_HEADER_ALLOWANCE = 4 * 512
"""Stream bytes per member beside its data: header, PAX header and its records, padding."""

WHITEOUT_PREFIX = ".wh."
"""A Docker layer member ``dir/.wh.name`` deletes ``dir/name`` of the layers below."""
WHITEOUT_META_PREFIX = ".wh..wh."
"""Prefix of AUFS bookkeeping names (``.wh..wh.plnk``), never part of a rootfs."""
WHITEOUT_OPAQUE_DIR = ".wh..wh..opq"
"""A Docker layer member ``dir/.wh..wh..opq`` hides everything below ``dir`` in lower layers."""
OPAQUE_XATTR = "trusted.overlay.opaque"
"""The overlayfs xattr (value ``y``) that marks an opaque directory."""


class InvalidArchive(InvalidArgument):
    """A layer stream that is not a well-formed (optionally compressed) tar archive."""


class UnsafeArchive(InvalidArchive):
    """A layer member that would escape the destination or write through a symlink."""


class ArchiveTooLarge(InvalidArgument):
    """An archive that expands beyond :class:`ExtractLimits` (a decompression bomb, or just too big)."""


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """How much one archive may expand to; extraction stops with :class:`ArchiveTooLarge` beyond."""

    max_bytes: int = 64 << 30
    """File data written: regular members' sizes, sparse members' data only (holes are free)."""
    max_files: int = 1_000_000
    """Members of any type (files, directories, links, whiteouts)."""

    @property
    def max_stream(self) -> int:
        """The most uncompressed tar bytes an archive within the limits can take."""
        return self.max_bytes + (self.max_files + 2) * _HEADER_ALLOWANCE

    def too_many_bytes(self) -> ArchiveTooLarge:
        return ArchiveTooLarge(f"archive expands to more than {human_size(self.max_bytes)} (the limit)")

    def too_many_files(self) -> ArchiveTooLarge:
        return ArchiveTooLarge(f"archive holds more than {self.max_files} files (the limit)")


class Readable(Protocol):
    """Anything with a ``read(size)`` returning bytes (``b""`` at end of stream)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    """Anything with a ``write(data)``."""

    def write(self, data: bytes, /) -> object: ...


class _PrefixedRaw(io.RawIOBase):
    """Serve ``head`` first, then the rest of ``source`` (undoes the magic sniffing)."""

    def __init__(self, head: bytes, source: Readable) -> None:
        super().__init__()
        self._head = head
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._source.read(len(view))
        view[: len(data)] = data
        return len(data)


def open_decompressed(source: Readable) -> Readable:
    """Return a reader of the tar bytes inside ``source``, decompressing when needed.

    Plain, gzip, bzip2 and xz streams are accepted; zstd is recognised and refused.
    """
    head = b""
    while len(head) < _MAGIC_LENGTH:
        chunk = source.read(_MAGIC_LENGTH - len(head))
        if not chunk:
            break
        head += chunk
    if head.startswith(GZIP_MAGIC):
        return GunzipReader(source, head)
    stream = io.BufferedReader(_PrefixedRaw(head, source), _READ_SIZE)
    if head.startswith(_BZIP2_MAGIC):
        return bz2.BZ2File(stream)
    if head.startswith(_XZ_MAGIC):
        return lzma.LZMAFile(stream)
    if head.startswith(_ZSTD_MAGIC):
        raise InvalidArchive("zstd-compressed layers are not supported")
    return stream


class HashingReader:
    """Read ``source``, hashing every byte and keeping the last ``window`` bytes readable.

    The window lets the caller look back at the block where ``tarfile`` stopped, to
    tell a real end-of-archive marker from a truncated or corrupt stream.
    """

    def __init__(self, source: Readable, *, window: int, limits: ExtractLimits | None = None) -> None:
        self._source = source
        self._limits = limits
        self._sha256 = hashlib.sha256()
        self._position = 0
        self._window = window
        self._recent: deque[bytes] = deque()
        self._recent_length = 0

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes, short only at the end (``tarfile`` reads member data in one call)."""
        if size > _MAX_READ:
            raise InvalidArchive(f"invalid tar archive: a header of {size} bytes at offset {self._position}")
        if self._limits is not None and self._position + max(size, 0) > self._limits.max_stream:
            raise self._limits.too_many_bytes()
        try:
            data = self._source.read(size)
            if 0 < len(data) < size:
                parts, missing = [data], size - len(data)
                while missing > 0 and (more := self._source.read(missing)):
                    parts.append(more)
                    missing -= len(more)
                data = b"".join(parts)
        except (EOFError, zlib.error, lzma.LZMAError) as exc:
            raise InvalidArchive(f"invalid compressed layer: {exc}") from exc
        except OSError as exc:
            if exc.errno is not None:  # a real I/O error, not a decompressor complaint
                raise
            raise InvalidArchive(f"invalid compressed layer: {exc}") from exc
        self._sha256.update(data)
        self._position += len(data)
        self._remember(data)
        return data

    def _remember(self, data: bytes) -> None:
        self._recent.append(data)
        self._recent_length += len(data)
        while self._recent_length - len(self._recent[0]) >= self._window:
            self._recent_length -= len(self._recent.popleft())

    def recent(self, start: int, end: int) -> bytes | None:
        """Bytes ``[start, end)`` of the stream (short at end of stream); ``None`` if forgotten."""
        window_start = self._position - self._recent_length
        if start < window_start:
            return None
        return b"".join(self._recent)[start - window_start : end - window_start]

    def drain(self) -> None:
        """Read (and hash) whatever is left, e.g. the zero padding after the end marker."""
        while self.read(_READ_SIZE):
            pass

    def hexdigest(self) -> str:
        """Hex sha256 of the bytes read so far."""
        return self._sha256.hexdigest()

    def write(self, data: bytes, /) -> int:
        raise io.UnsupportedOperation("write")

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = io.SEEK_SET, /) -> int:
        """Forward only, by reading (and hashing) what is skipped: enough for ``tarfile``'s
        ``r:`` mode, which then reads member data straight from here, without ``r|``'s
        buffer-joining stream in between."""
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("seek: from the start only")
        if position < self._position:  # a stream cannot go back; a sane archive never asks
            raise InvalidArchive(f"invalid tar archive: offset {position} lies behind {self._position}")
        while self._position < position:
            if not self.read(min(position - self._position, _READ_SIZE)):
                break
        return self._position

    def close(self) -> None:
        """The source belongs to the caller; nothing to close."""


class HashingWriter:
    """Write to ``sink``, hashing every byte."""

    def __init__(self, sink: Writable) -> None:
        self._sink = sink
        self._sha256 = hashlib.sha256()
        self._position = 0

    def write(self, data: bytes, /) -> int:
        self._sink.write(data)
        self._sha256.update(data)
        self._position += len(data)
        return len(data)

    def hexdigest(self) -> str:
        """Hex sha256 of the bytes written so far."""
        return self._sha256.hexdigest()

    def read(self, size: int = -1, /) -> bytes:
        raise io.UnsupportedOperation("read")

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, /) -> int:
        raise io.UnsupportedOperation("seek")

    def close(self) -> None:
        """The sink belongs to the caller; nothing to close."""


__all__ = [
    "OPAQUE_XATTR",
    "WHITEOUT_META_PREFIX",
    "WHITEOUT_OPAQUE_DIR",
    "WHITEOUT_PREFIX",
    "ArchiveTooLarge",
    "ExtractLimits",
    "HashingReader",
    "HashingWriter",
    "InvalidArchive",
    "Readable",
    "UnsafeArchive",
    "Writable",
    "open_decompressed",
]
