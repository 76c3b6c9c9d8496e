"""v1 checksums (protocols.md A.6): the legacy tarsum (the payload sha256 is shared with the
clients: :class:`wharf_common.registry_v1.PayloadHasher`).

* payload: ``sha256:`` + hex(sha256(image JSON + ``\\n`` + the uploaded bytes)), computed
  while the layer streams in (M15 ``PushImageLayerRegistry``, DR ``simple_checksum_handler``);
* tarsum ``Version0`` / ``Version1`` (M15 ``pkg/tarsum``): per entry, sha256 over the
  selected header fields (key + value, no separators) then the body; the hex sums sorted;
  the result is sha256(image JSON + the sorted sums). The upload may be gzip-compressed;
  the sum is over the tar entries. Tarsum only matters to pre-0.10 clients, which send no
  payload checksum, so it is computed on demand, from the stored upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from typing import Any

_ENCODING = "utf-8"


def _b(value: str) -> bytes:
    return value.encode(_ENCODING, "surrogateescape")


def _v0_headers(member: tarfile.TarInfo) -> list[tuple[bytes, bytes]]:
    name = member.name
    if member.isdir() and not name.endswith("/"):
        name += "/"  # Python strips it; Go's header (and DR's tarsum) keeps it
    return [
        (b"name", _b(name)),
        (b"mode", str(member.mode).encode()),
        (b"uid", str(member.uid).encode()),
        (b"gid", str(member.gid).encode()),
        (b"size", str(member.size).encode()),
        (b"mtime", str(int(member.mtime)).encode()),
        (b"typeflag", member.type),
        (b"linkname", _b(member.linkname)),
        (b"uname", _b(member.uname)),
        (b"gname", _b(member.gname)),
        (b"devmajor", str(member.devmajor).encode()),
        (b"devminor", str(member.devminor).encode()),
    ]


def _v1_headers(member: tarfile.TarInfo) -> list[tuple[bytes, bytes]]:
    headers = [h for h in _v0_headers(member) if h[0] != b"mtime"]
    prefix = "SCHILY.xattr."
    xattrs = sorted((k[len(prefix) :], v) for k, v in member.pax_headers.items() if k.startswith(prefix))
    headers.extend((_b(k), _b(v)) for k, v in xattrs)
    return headers


def tarsums(fileobj: Any, extra: bytes) -> set[str]:
    """``{"tarsum+sha256:…", "tarsum.v1+sha256:…"}`` of a (possibly compressed) tar stream.

    Blocking; an unreadable archive yields an empty set (it can then only match a payload sum).
    """
    sums: dict[str, list[str]] = {"tarsum": [], "tarsum.v1": []}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
            for member in tar:
                hashers = {
                    "tarsum": hashlib.sha256(b"".join(k + v for k, v in _v0_headers(member))),
                    "tarsum.v1": hashlib.sha256(b"".join(k + v for k, v in _v1_headers(member))),
                }
                if member.isreg() and member.size > 0:
                    body = tar.extractfile(member)
                    assert body is not None
                    while chunk := body.read(1 << 20):
                        for h in hashers.values():
                            h.update(chunk)
                for version, h in hashers.items():
                    sums[version].append(h.hexdigest())
    except (tarfile.TarError, OSError, EOFError):
        return set()
    return {
        f"{version}+sha256:" + hashlib.sha256(extra + "".join(sorted(hexes)).encode()).hexdigest()
        for version, hexes in sums.items()
    }


class _AsyncChunkReader(io.RawIOBase):
    """A blocking file over an async iterator, for a worker thread; the loop produces chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buffer and not self._done:
            future = asyncio.run_coroutine_threadsafe(anext(self._chunks, b""), self._loop)
            chunk = future.result()
            if chunk:
                self._buffer = chunk
            else:
                self._done = True
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


async def tarsums_of(chunks: AsyncIterator[bytes], extra: bytes) -> set[str]:
    """:func:`tarsums` over an async byte stream (a stored upload)."""
    reader = io.BufferedReader(_AsyncChunkReader(chunks, asyncio.get_running_loop()), 1 << 20)
    return await asyncio.to_thread(tarsums, reader, extra)
