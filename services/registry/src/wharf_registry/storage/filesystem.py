"""The default driver: a directory tree; writes go to a hidden temp file, fsync, rename.

Metadata reads (``exists``, ``size``, ``list``, ``get`` of a small object) run on the event
loop itself: on a local disk they take microseconds, a hop to a worker thread costs more
than that (a push of 50 small layers made ~2000 of them). So does a small ``put`` that is not
durable (no fsync: it only reaches the page cache). Everything else that writes, fsyncs or
streams a layer runs in a worker thread, one hop per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel

from .base import CHUNK_SIZE, PathNotFound, Tap, check_path

WRITE_BATCH = 4 << 20  # bytes per hop to a worker thread (a request body comes in pieces of 1 MiB or less)
MAX_PIECES = 256  # pieces per hop


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """All of ``pieces`` to ``fd``, in order, a ``write`` each (``writev`` of many small pieces
    measured several times slower into the page cache)."""
    for piece in pieces:
        view = memoryview(piece)
        while view:
            view = view[os.write(fd, view) :]


class FilesystemStorageSettings(BaseModel):
    """``WHARF_REGISTRY_STORAGE__DRIVER=filesystem`` (the default)."""

    driver: Literal["filesystem"] = "filesystem"
    root: Path | None = None
    """Where objects live; defaults to the registry's ``--data-root``."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemDriver:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, path: str) -> Path:
        return self.root / check_path(path)

    def _prune(self, directory: Path) -> None:
        """Remove empty directories from ``directory`` up to (not including) the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    async def read(self, path: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        target = self._path(path)
        try:
            f = await asyncio.to_thread(target.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PathNotFound(path) from None
        try:
            if start:
                await asyncio.to_thread(f.seek, start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await asyncio.to_thread(f.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            f.close()

    def _open_temp(self, target: Path, tmp: Path) -> BinaryIO:
        for _ in range(5):  # a concurrent delete may prune the parent between mkdir and open
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tmp.open("xb")
            except FileNotFoundError:
                continue
        return tmp.open("xb")

    async def write(
        self, path: str, chunks: AsyncIterable[bytes], *, durable: bool = True, tap: Tap | None = None
    ) -> int:
        """Chunks are gathered by reference (no copy) into ``WRITE_BATCH`` bytes per hop to a
        worker thread, which passes them to ``tap`` and writes them; the next batch is gathered
        meanwhile. An object smaller than a batch takes one hop."""
        target = self._path(path)
        tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
        f: BinaryIO | None = None
        storing: asyncio.Future[BinaryIO] | None = None
        batch: list[bytes] = []
        gathered = written = 0

        def store(opened: BinaryIO | None, pieces: list[bytes]) -> BinaryIO:
            fresh = opened is None
            opened = self._open_temp(target, tmp) if opened is None else opened
            try:
                if tap is not None:
                    for piece in pieces:
                        tap(piece)
                _write_all(opened.fileno(), pieces)
            except BaseException:
                if fresh:
                    opened.close()
                raise
            return opened

        def last(opened: BinaryIO | None, pieces: list[bytes]) -> None:
            opened = store(opened, pieces)
            try:
                self._publish(opened, tmp, target, durable=durable)
            finally:
                opened.close()  # (a no-op once published)

        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                batch.append(chunk)
                gathered += len(chunk)
                written += len(chunk)
                if gathered < WRITE_BATCH and len(batch) < MAX_PIECES:
                    continue
                if storing is not None:
                    f, storing = await storing, None
                storing = asyncio.ensure_future(asyncio.to_thread(store, f, batch))
                batch, gathered = [], 0
            if storing is not None:
                f, storing = await storing, None
            await asyncio.to_thread(last, f, batch)
        except BaseException:
            if storing is not None:  # the thread runs on: its file is closed after it
                with contextlib.suppress(BaseException):
                    f = await asyncio.shield(storing)
            if f is not None:
                f.close()
            tmp.unlink(missing_ok=True)
            raise
        return written

    def _publish(self, f: BinaryIO, tmp: Path, target: Path, *, durable: bool = True) -> None:
        f.flush()
        if durable:
            os.fsync(f.fileno())
        f.close()
        tmp.replace(target)
        if durable:
            _fsync_dir(target.parent)

    async def put(self, path: str, data: bytes, *, durable: bool = True) -> None:
        target = self._path(path)

        def store() -> None:
            tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
            f = self._open_temp(target, tmp)
            try:
                f.write(data)
                self._publish(f, tmp, target, durable=durable)
            except BaseException:
                f.close()
                tmp.unlink(missing_ok=True)
                raise

        if durable:
            await asyncio.to_thread(store)
        else:  # a small write to the page cache: cheaper here than a trip to a worker thread
            store()

    async def sync(self, paths: Sequence[str]) -> None:
        targets = [self._path(path) for path in paths]

        def flush() -> None:
            for target in targets:
                try:
                    fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
                except (FileNotFoundError, NotADirectoryError):
                    raise PathNotFound(str(target.relative_to(self.root))) from None
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for parent in dict.fromkeys(target.parent for target in targets):
                _fsync_dir(parent)

        await asyncio.to_thread(flush)

    async def get(self, path: str) -> bytes:
        try:
            with self._path(path).open("rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PathNotFound(path) from None

    async def size(self, path: str) -> int:
        try:
            st = self._path(path).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(path) from None
        if not stat.S_ISREG(st.st_mode):
            raise PathNotFound(path)
        return st.st_size

    async def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    async def list(self, path: str) -> list[str]:
        try:
            return sorted(p.name for p in self._path(path).iterdir() if not p.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []

    async def delete(self, path: str) -> None:
        target = self._path(path)

        def remove() -> None:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                try:
                    target.unlink()
                except (FileNotFoundError, NotADirectoryError):
                    raise PathNotFound(path) from None
            self._prune(target.parent)

        await asyncio.to_thread(remove)

    async def move(self, src: str, dst: str, *, durable: bool = True) -> None:
        source, target = self._path(src), self._path(dst)

        def rename() -> None:
            if not source.is_file():
                raise PathNotFound(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
            if durable:
                _fsync_dir(target.parent)
            self._prune(source.parent)

        if durable:
            await asyncio.to_thread(rename)
        else:  # a rename in the page cache: as cheap as the hop it would take
            rename()

    def redirect_url(self, path: str) -> str | None:
        return None

    def local_path(self, path: str) -> Path | None:
        return self._path(path)
