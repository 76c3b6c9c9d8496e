"""The storage interface: bytes under slash-separated paths, nothing about images.

Every driver passes ``tests/storage/test_driver_conformance.py``. The layout (which path
holds what) lives in :mod:`wharf_registry.storage.paths`; drivers never interpret paths.

Rules every driver keeps:

* ``write`` streams and is atomic: readers see the old object (or none) until the last
  chunk is stored, and an iterator that raises leaves nothing behind; given a ``tap`` (a
  hash's ``update``), it passes it every byte, in order, before it returns, in the worker
  thread that stores them (hashlib lets go of the GIL), so a body is hashed and stored in
  one hop off the event loop;
* ``put`` stores a small object whole (atomically, as ``write``); ``get`` reads one whole
  (metadata, never layers) and raises :class:`PathNotFound` when it is missing. With
  ``durable=False`` (``put``, ``write`` and ``move`` take it) the object is still atomic but
  a crash may lose it until ``sync`` names it: the caller makes it durable when it matters
  (before the image it belongs to is published), which keeps the fsyncs off the requests a
  push makes one after another and lets one ``sync`` cover them all (``sync`` of a missing
  object raises :class:`PathNotFound` where the driver can tell without asking a server:
  S3 keeps what it acknowledged and checks nothing);
* ``read`` streams the byte range ``[start, end)``; a missing path raises
  :class:`PathNotFound` from the first ``__anext__``, before any byte;
* ``list`` names the direct children of a "directory" (objects and sub-prefixes), sorted,
  and is empty for a path that holds nothing;
* ``delete`` removes an object or everything under a prefix and raises
  :class:`PathNotFound` when there was nothing;
* ``move`` replaces ``dst`` atomically with ``src``'s bytes and removes ``src``;
* ``local_path`` names a local file that holds the object's bytes, for zero-copy serving
  (``os.sendfile``), or is None when the driver keeps no local files. It does not check that
  the object exists: whoever opens the file treats ``FileNotFoundError`` as
  :class:`PathNotFound`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Protocol

from wharf_common.errors import InvalidArgument, NotFound

CHUNK_SIZE = 1 << 20


class PathNotFound(NotFound):
    def __init__(self, path: str) -> None:
        super().__init__(f"no such path in storage: {path}")
        self.path = path


class InvalidPath(InvalidArgument):
    def __init__(self, path: str) -> None:
        super().__init__(f"invalid storage path: {path!r}")


Tap = Callable[[bytes], object]
"""Sees the bytes ``write`` stores (``hashlib``'s ``update``)."""


class StorageDriver(Protocol):
    """Bytes only; see the module docstring for the rules."""

    name: str

    def read(self, path: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...

    async def write(
        self, path: str, chunks: AsyncIterable[bytes], *, durable: bool = True, tap: Tap | None = None
    ) -> int: ...

    async def put(self, path: str, data: bytes, *, durable: bool = True) -> None: ...

    async def sync(self, paths: Sequence[str]) -> None: ...

    async def get(self, path: str) -> bytes: ...

    async def size(self, path: str) -> int: ...

    async def exists(self, path: str) -> bool: ...

    async def list(self, path: str) -> list[str]: ...

    async def delete(self, path: str) -> None: ...

    async def move(self, src: str, dst: str, *, durable: bool = True) -> None: ...

    def redirect_url(self, path: str) -> str | None: ...

    def local_path(self, path: str) -> Path | None: ...


def check_path(path: str) -> str:
    """Return ``path`` if it is relative, normalized, and no part starts with ``.``.

    Dot names are the drivers' own (temporary files), and this also rules out ``..``.
    """
    parts = path.split("/")
    if not path or any(not p or p.startswith(".") for p in parts) or "\x00" in path:
        raise InvalidPath(path)
    return path


async def put_bytes(driver: StorageDriver, path: str, data: bytes, *, durable: bool = True) -> None:
    """Store a small object atomically (durably unless asked otherwise: see ``sync``)."""
    await driver.put(path, data, durable=durable)


async def get_bytes(driver: StorageDriver, path: str) -> bytes:
    """Read a small object whole (metadata, never layers)."""
    return await driver.get(path)


__all__ = [
    "CHUNK_SIZE",
    "InvalidPath",
    "PathNotFound",
    "StorageDriver",
    "Tap",
    "check_path",
    "get_bytes",
    "put_bytes",
]
