"""Member data written to disk sparsely (private to :mod:`wharf_common.tarfiles`).

* A GNU or PAX sparse member (``tar --sparse``) becomes a sparse file: only its data regions
  are written, each at its offset, and the holes stay holes.
* In a regular member, every aligned 64 KiB block of zeros is skipped with a seek instead of
  written, so a file of zeros costs no disk whatever its size.

Either way the file ends with the member's size (``ftruncate``), and reads back the same.
"""

from __future__ import annotations

import errno
import os
import tarfile
from pathlib import Path
from typing import BinaryIO, cast

from wharf_common._tarbase import ExtractLimits, HashingReader, InvalidArchive, Readable, open_decompressed

_COPY_CHUNK = 1 << 20
_HOLE = 64 << 10
_ZEROS = bytes(_HOLE)


def _regions(member: tarfile.TarInfo) -> list[tuple[int, int]]:
    """``(offset, length)`` of a sparse member's data, without the empty entries ``tarfile``
    keeps from an old GNU header's unused slots (typeshed calls it a list of ints)."""
    regions = cast("list[tuple[int, int]]", member.sparse or [])
    return [(offset, length) for offset, length in regions if length]


def data_size(member: tarfile.TarInfo) -> int:
    """The bytes extracting ``member`` writes: its size, or for a sparse member its data regions."""
    if member.sparse is not None:
        return sum(length for _offset, length in _regions(member))
    return member.size


def copy_data(tar: tarfile.TarFile, member: tarfile.TarInfo, fd: int) -> None:
    """Write the data of the regular (or sparse) ``member`` to the empty file ``fd``."""
    if member.sparse is not None:
        _check_sparse_map(member)
        # tarfile would serve the holes as zeros; read the stored regions straight from the stream
        source: Readable = tar.fileobj  # type: ignore[assignment]  # HashingReader: forward seeks
        source.seek(member.offset_data)  # type: ignore[attr-defined]
        for offset, length in _regions(member):
            os.lseek(fd, offset, os.SEEK_SET)
            _copy_exactly(source, fd, length, member)
    else:
        data = tar.extractfile(member)
        if data is None:  # pragma: no cover - isreg() members always have a file object
            return
        with data:
            while chunk := data.read(_COPY_CHUNK):
                write_skipping_zeros(fd, chunk)
    try:
        os.ftruncate(fd, member.size)  # a trailing hole, and the size tar says
    except OSError as exc:
        if exc.errno not in (errno.EFBIG, errno.EINVAL):
            raise
        raise InvalidArchive(f"cannot extract {member.name!r}: a size of {member.size} bytes") from None


def _check_sparse_map(member: tarfile.TarInfo) -> None:
    """Regions in order, within the file's size: anything else is a forged map."""
    end = 0
    for offset, length in _regions(member):
        if offset < end or length < 0 or offset + length > member.size:
            raise InvalidArchive(f"invalid tar archive: a broken sparse map in {member.name!r}")
        end = offset + length


def _copy_exactly(source: Readable, fd: int, length: int, member: tarfile.TarInfo) -> None:
    while length > 0:
        chunk = source.read(min(length, _COPY_CHUNK))
        if not chunk:
            raise tarfile.ReadError(f"unexpected end of data in sparse member {member.name!r}")
        write_skipping_zeros(fd, chunk)
        length -= len(chunk)


def write_skipping_zeros(fd: int, chunk: bytes) -> None:
    """Write ``chunk`` at ``fd``'s position, seeking over its 64 KiB blocks of zeros."""
    pending = 0  # start of the bytes not written yet
    for start in range(0, len(chunk) - _HOLE + 1, _HOLE):
        end = start + _HOLE
        if chunk[start] or chunk[end - 1] or chunk[start:end] != _ZEROS:
            continue
        _write_all(fd, chunk, pending, start)
        os.lseek(fd, _HOLE, os.SEEK_CUR)
        pending = end
    _write_all(fd, chunk, pending, len(chunk))


def _write_all(fd: int, chunk: bytes, start: int, end: int) -> None:
    view = memoryview(chunk)[start:end]
    while view:
        view = view[os.write(fd, view) :]


def extract_archive(fileobj: BinaryIO, dest: Path, *, limits: ExtractLimits) -> None:
    """Extract a plain (optionally compressed) archive, not a layer: ``docker save`` output.

    ``tarfile``'s ``data`` filter keeps members inside ``dest``; ``limits`` bound what it writes
    (:class:`ArchiveTooLarge`, with ``dest`` half-written: extract into a temporary directory).
    """
    reader = HashingReader(open_decompressed(fileobj), window=tarfile.BLOCKSIZE, limits=limits)
    files = written = 0

    def within_limits(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        nonlocal files, written
        files += 1
        written += data_size(member) if member.isreg() else 0
        if files > limits.max_files:
            raise limits.too_many_files()
        if written > limits.max_bytes:
            raise limits.too_many_bytes()
        return tarfile.data_filter(member, path)

    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            archive.extractall(dest, filter=within_limits)
    except tarfile.TarError as exc:
        raise InvalidArchive(f"invalid archive: {exc}") from exc


__all__ = ["copy_data", "data_size", "extract_archive", "write_skipping_zeros"]
