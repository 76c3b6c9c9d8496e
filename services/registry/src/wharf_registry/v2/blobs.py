"""Blobs by digest, stored once and linked into each repository that pushed or mounted them.

A repository reads a blob only through its link (``repositories/<ns>/<repo>/_blobs/<hex>``),
as the Go registry does: knowing a digest proves nothing. The bytes are ``blobs/.../data``, or,
for a layer first pushed over v1, the v1 layer file that ``blobs/.../link`` names (nothing is
copied: see :mod:`wharf_registry.v2.synthesis`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from ..names import RepositoryName
from ..storage import paths
from ..storage.base import PathNotFound, StorageDriver, check_path, get_bytes, put_bytes
from .errors import BlobUnknown
from .names import Digest

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: Digest
    path: str
    """Where the bytes are in storage."""
    size: int


class BlobStore:
    """Durability: an uploaded blob is published without waiting for its fsync, which runs in the
    background (:meth:`sync_later`); a manifest is the commit point, and :meth:`make_durable` waits
    for the syncs of the blobs it references before the manifest is stored. (A crash of the host
    may lose a blob no manifest references yet: the client then uploads it again.)
    """

    def __init__(self, storage: StorageDriver) -> None:
        self.storage = storage
        self._syncing: dict[str, asyncio.Task[None]] = {}

    def sync_later(self, digest: Digest, path: str) -> None:
        task = asyncio.create_task(self.storage.sync([path]))
        self._syncing[digest.hex] = task
        task.add_done_callback(lambda done: self._synced(digest.hex, done))

    def _synced(self, hex_digest: str, task: asyncio.Task[None]) -> None:
        if self._syncing.get(hex_digest) is task:
            del self._syncing[hex_digest]
        if not task.cancelled() and task.exception() is not None:
            log.warning("blob.sync_failed", digest=hex_digest, error=str(task.exception()))

    async def make_durable(self, digests: list[Digest]) -> None:
        """Wait for the background syncs of ``digests`` (a failed one is done again, awaited)."""
        for digest in digests:
            task = self._syncing.get(digest.hex)
            if task is None:
                continue
            try:
                await asyncio.shield(task)
            except PathNotFound:
                continue
            except OSError:
                found = await self.locate(digest)
                if found is not None:
                    await self.storage.sync([found.path])

    async def locate(self, digest: Digest) -> BlobInfo | None:
        """Where ``digest``'s bytes are stored, whichever repository has them; None if nowhere."""
        path = paths.blob_data(digest.hex)
        try:
            return BlobInfo(digest, path, await self.storage.size(path))
        except PathNotFound:
            pass
        try:
            target = check_path((await get_bytes(self.storage, paths.blob_link(digest.hex))).decode())
            return BlobInfo(digest, target, await self.storage.size(target))
        except (PathNotFound, UnicodeDecodeError, ValueError):
            return None

    async def held(self, repo: RepositoryName, digest: Digest) -> bool:
        return await self.storage.exists(paths.repository_blob(repo.namespace, repo.repo, digest.hex))

    async def stat(self, repo: RepositoryName, digest: Digest) -> BlobInfo:
        """The blob as ``repo`` sees it, or :class:`BlobUnknown`."""
        if await self.held(repo, digest):
            found = await self.locate(digest)
            if found is not None:
                return found
        raise BlobUnknown(str(digest))

    async def link(self, repo: RepositoryName, digest: Digest) -> None:
        path = paths.repository_blob(repo.namespace, repo.repo, digest.hex)
        if not await self.storage.exists(path):
            await put_bytes(self.storage, path, b"", durable=False)

    async def unlink(self, repo: RepositoryName, digest: Digest) -> None:
        """DELETE of a blob: the repository forgets it; ``gc`` removes bytes nothing reaches."""
        try:
            await self.storage.delete(paths.repository_blob(repo.namespace, repo.repo, digest.hex))
        except PathNotFound:
            raise BlobUnknown(str(digest)) from None

    async def mount(self, repo: RepositoryName, digest: Digest, source: RepositoryName) -> BlobInfo | None:
        """Link ``source``'s blob into ``repo`` (the caller may read ``source``); None if it has none."""
        try:
            found = await self.stat(source, digest)
        except BlobUnknown:
            return None
        await self.link(repo, digest)
        return found

    async def put_small(self, digest: Digest, data: bytes) -> None:
        """Store a small blob whole (a manifest, a synthesised config), if it is not there yet."""
        if await self.locate(digest) is None:
            await put_bytes(self.storage, paths.blob_data(digest.hex), data)

    async def get_small(self, digest: Digest) -> bytes:
        found = await self.locate(digest)
        if found is None:
            raise BlobUnknown(str(digest))
        try:
            return await get_bytes(self.storage, found.path)
        except PathNotFound:
            raise BlobUnknown(str(digest)) from None

    def read(self, blob: BlobInfo, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.storage.read(blob.path, start=start, end=end)

    def local_file(self, blob: BlobInfo) -> Path | None:
        return self.storage.local_path(blob.path)

    def redirect_url(self, blob: BlobInfo) -> str | None:
        return self.storage.redirect_url(blob.path)
