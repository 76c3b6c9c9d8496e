"""The default driver: a directory tree; writes go to a hidden temp file, fsync, rename."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel

from .base import CHUNK_SIZE, PathNotFound, check_path


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

    def _open_temp(self, target: Path) -> tuple[Path, BinaryIO]:
        tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
        for _ in range(5):  # a concurrent delete may prune the parent between mkdir and open
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tmp, tmp.open("xb")
            except FileNotFoundError:
                continue
        return tmp, tmp.open("xb")

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        target = self._path(path)
        tmp, f = await asyncio.to_thread(self._open_temp, target)
        written = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(f.write, chunk)
                written += len(chunk)

            def publish() -> None:
                f.flush()
                os.fsync(f.fileno())
                f.close()
                tmp.replace(target)
                _fsync_dir(target.parent)

            await asyncio.to_thread(publish)
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
        return written

    async def size(self, path: str) -> int:
        target = self._path(path)
        try:
            st = await asyncio.to_thread(target.stat)
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(path) from None
        if not target.is_file():
            raise PathNotFound(path)
        return st.st_size

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._path(path).is_file)

    async def list(self, path: str) -> list[str]:
        target = self._path(path)

        def names() -> list[str]:
            try:
                return sorted(p.name for p in target.iterdir() if not p.name.startswith("."))
            except (FileNotFoundError, NotADirectoryError):
                return []

        return await asyncio.to_thread(names)

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

    async def move(self, src: str, dst: str) -> None:
        source, target = self._path(src), self._path(dst)

        def rename() -> None:
            if not source.is_file():
                raise PathNotFound(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
            _fsync_dir(target.parent)
            self._prune(source.parent)

        await asyncio.to_thread(rename)

    def redirect_url(self, path: str) -> str | None:
        return None

    def local_path(self, path: str) -> Path | None:
        return self._path(path)
