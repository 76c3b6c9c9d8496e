"""Blob uploads: a session per ``POST``, chunks by ``PATCH``, verified and published by ``PUT``.

A session is ``uploads/<uuid>/``: its ``info`` names the repository that opened it (another
repository's request for it is answered as for an unknown upload) and when; each chunk is an
object of its own, named by the offset it starts at, written atomically, so a chunk cut off
half way leaves nothing and the session where it was. A chunk must start where the upload ends
(``Content-Range``): a gap or an overlap is a 416.

The digest is computed while the chunks stream in (one sha256 per session, kept in memory,
continued chunk after chunk in the thread the storage driver writes them in; after a restart
it is computed again from the stored chunks), and checked before anything is visible:
``PUT ?digest=`` publishes ``blobs/.../data`` only when it matches, by renaming the single
chunk into place (most clients send one) or concatenating several, and links the blob into
the repository. A mismatch removes the session: 400 ``DIGEST_INVALID``, nothing stored.

Sessions older than ``upload_ttl`` are gone: their requests get ``BLOB_UPLOAD_UNKNOWN`` and
:meth:`UploadService.purge` (run now and then on ``POST``, and by ``wharf-registry gc``) removes
their chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any
from weakref import WeakValueDictionary

import structlog
from pydantic import BaseModel, Field

from ..errors import UploadTooLarge
from ..hashing import HASH_BATCH
from ..names import RepositoryName
from ..quotas import capped
from ..storage import paths
from ..storage.base import PathNotFound, StorageDriver, get_bytes, put_bytes
from .blobs import BlobInfo, BlobStore
from .errors import BlobUploadUnknown, DigestInvalid, RangeInvalid, TooLarge
from .names import Digest

log = structlog.get_logger(__name__)

_UUID_LEN = 32


class V2Limits(BaseModel):
    """``WHARF_REGISTRY_V2__UPLOAD_TTL=…`` and so on (bytes, seconds)."""

    upload_ttl: float = Field(default=86400.0, gt=0)
    """Seconds an upload session lives (default a day); then it is unknown and purged."""
    purge_interval: float = Field(default=600.0, ge=0)
    """Seconds between purges of expired sessions, run on ``POST`` (0: on every one)."""
    max_manifest_size: int = Field(default=4 << 20, gt=0)
    """The largest manifest accepted (default 4 MiB, as the Go registry); 413 above."""
    max_page: int = Field(default=10000, gt=0)
    """The largest ``n`` of a tags or catalog page."""


@dataclass(frozen=True, slots=True)
class UploadState:
    upload_id: str
    repository: str
    started: float
    size: int
    parts: tuple[tuple[int, int], ...]
    """(offset, size) of each chunk, in order."""


class _Hash:
    """A session's running sha256 and how many bytes it has seen."""

    __slots__ = ("h", "offset")

    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.offset = 0


class UploadService:
    def __init__(
        self, storage: StorageDriver, blobs: BlobStore, limits: V2Limits, max_blob_size: int
    ) -> None:
        self.storage = storage
        self.blobs = blobs
        self.limits = limits
        self.max_blob_size = max_blob_size
        self._hashes: dict[str, _Hash] = {}
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._last_purge = 0.0

    def _lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = self._locks[upload_id] = asyncio.Lock()
        return lock

    # ---- sessions ----------------------------------------------------------------------

    async def start(self, repo: RepositoryName) -> UploadState:
        now = time.time()
        if now - self._last_purge >= self.limits.purge_interval:
            self._last_purge = now
            await self.purge(now)
        upload_id = uuid.uuid4().hex
        info = json.dumps({"repository": str(repo), "started": now}).encode()
        await put_bytes(self.storage, paths.upload_info(upload_id), info, durable=False)
        self._hashes[upload_id] = _Hash()
        log.info("upload.started", upload_id=upload_id, repository=str(repo))
        return UploadState(upload_id, str(repo), now, 0, ())

    async def _info(self, upload_id: str) -> dict[str, Any] | None:
        if len(upload_id) != _UUID_LEN or not all(c in "0123456789abcdef" for c in upload_id):
            return None
        try:
            info = json.loads(await get_bytes(self.storage, paths.upload_info(upload_id)))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None
        return info if isinstance(info, dict) else None

    async def state(self, repo: RepositoryName, upload_id: str) -> UploadState:
        """The session, if ``repo`` opened it and it has not expired; else :class:`BlobUploadUnknown`."""
        info = await self._info(upload_id)
        if info is None or info.get("repository") != str(repo):
            raise BlobUploadUnknown(upload_id)
        started = info.get("started")
        if not isinstance(started, int | float) or time.time() - started > self.limits.upload_ttl:
            await self._remove(upload_id)
            raise BlobUploadUnknown(upload_id)
        parts: list[tuple[int, int]] = []
        size = 0
        for name in await self.storage.list(paths.upload_dir(upload_id)):
            if not name.startswith(paths.UPLOAD_PART_PREFIX):
                continue
            offset = int(name.removeprefix(paths.UPLOAD_PART_PREFIX))
            if offset != size:
                continue  # (never written: chunks follow each other)
            try:
                part_size = await self.storage.size(paths.upload_part(upload_id, offset))
            except PathNotFound:
                continue
            parts.append((offset, part_size))
            size += part_size
        return UploadState(upload_id, str(repo), float(started), size, tuple(parts))

    async def _remove(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)
        try:
            await self.storage.delete(paths.upload_dir(upload_id))
        except PathNotFound:
            pass

    async def cancel(self, repo: RepositoryName, upload_id: str) -> None:
        async with self._lock(upload_id):
            await self.state(repo, upload_id)
            await self._remove(upload_id)
        log.info("upload.cancelled", upload_id=upload_id)

    async def purge(self, now: float | None = None) -> list[str]:
        """Remove the sessions older than ``upload_ttl`` (and any without a readable info)."""
        now = time.time() if now is None else now
        removed: list[str] = []
        for upload_id in await self.storage.list(paths.UPLOADS):
            info = await self._info(upload_id)
            started = info.get("started") if info is not None else None
            if isinstance(started, int | float) and now - started <= self.limits.upload_ttl:
                continue
            if info is None and upload_id in self._hashes:
                continue  # (being started right now)
            if self._lock(upload_id).locked():
                continue
            await self._remove(upload_id)
            removed.append(upload_id)
        if removed:
            log.info("upload.purged", count=len(removed))
        return removed

    # ---- chunks ------------------------------------------------------------------------

    async def append(
        self,
        repo: RepositoryName,
        upload_id: str,
        chunks: AsyncIterable[bytes],
        *,
        content_range: tuple[int, int] | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Store one chunk; ``content_range`` (inclusive, as the header) must start at the end."""
        async with self._lock(upload_id):
            state = await self.state(repo, upload_id)
            return await self._append(state, chunks, content_range, length)

    async def _append(
        self,
        state: UploadState,
        chunks: AsyncIterable[bytes],
        content_range: tuple[int, int] | None,
        length: int | None,
    ) -> UploadState:
        if content_range is not None and content_range[0] != state.size:
            raise RangeInvalid(state.size, content_range[0])
        limit = self.max_blob_size - state.size
        running = self._hashes.get(state.upload_id)
        if running is not None and running.offset != state.size:
            running = None  # (a chunk this process did not see: computed again at the end)
            self._hashes.pop(state.upload_id, None)
        part = paths.upload_part(state.upload_id, state.size)
        try:  # hashed into the session's running sha256 in the thread that stores the bytes
            tap = None if running is None else running.h.update
            written = await self.storage.write(part, _limited(chunks, limit, length), durable=False, tap=tap)
            if running is not None:
                running.offset += written
        except BaseException:
            self._hashes.pop(state.upload_id, None)  # what it had seen may be half a chunk
            raise
        if written == 0:
            await self.storage.delete(part)
        elif content_range is not None and content_range[1] - content_range[0] + 1 != written:
            await self.storage.delete(part)
            self._hashes.pop(state.upload_id, None)
            raise RangeInvalid(state.size, content_range[0])
        parts = (*state.parts, (state.size, written)) if written else state.parts
        return UploadState(state.upload_id, state.repository, state.started, state.size + written, parts)

    async def finish(
        self,
        repo: RepositoryName,
        upload_id: str,
        digest: Digest,
        chunks: AsyncIterable[bytes] | None = None,
        *,
        length: int | None = None,
    ) -> BlobInfo:
        """Take the last chunk (if any), verify ``digest`` and publish the blob into ``repo``."""
        async with self._lock(upload_id):
            state = await self.state(repo, upload_id)
            if chunks is not None:
                state = await self._append(state, chunks, None, length)
            actual = await self._digest(state)
            if actual != digest.hex:
                await self._remove(upload_id)
                log.warning("upload.digest_mismatch", upload_id=upload_id, expected=str(digest))
                raise DigestInvalid(detail={"digest": str(digest)})
            blob = await self._publish(state, digest)
            await self.blobs.link(repo, digest)
            await self._remove(upload_id)
        log.info("blob.stored", repository=str(repo), digest=str(digest), size=blob.size)
        return blob

    async def _digest(self, state: UploadState) -> str:
        running = self._hashes.get(state.upload_id)
        if running is not None and running.offset == state.size:
            return running.h.hexdigest()
        h = hashlib.sha256()
        for offset, _size in state.parts:
            async for chunk in self.storage.read(paths.upload_part(state.upload_id, offset)):
                await _update(h, chunk)
        return h.hexdigest()

    async def _publish(self, state: UploadState, digest: Digest) -> BlobInfo:
        existing = await self.blobs.locate(digest)
        if existing is not None:
            return existing  # the same bytes, pushed before
        target = paths.blob_data(digest.hex)
        if len(state.parts) == 1:
            await self.storage.move(paths.upload_part(state.upload_id, 0), target, durable=False)
        else:
            await self.storage.write(target, self._concat(state), durable=False)
        self.blobs.sync_later(digest, target)  # the manifest that references it waits for it
        return BlobInfo(digest, target, state.size)

    async def _concat(self, state: UploadState) -> AsyncIterator[bytes]:
        for offset, _size in state.parts:
            async for chunk in self.storage.read(paths.upload_part(state.upload_id, offset)):
                yield chunk


async def _limited(chunks: AsyncIterable[bytes], limit: int, length: int | None) -> AsyncIterator[bytes]:
    try:
        async for chunk in capped(chunks, limit, "Blob", length):
            yield chunk
    except UploadTooLarge:
        raise TooLarge("Blob", limit) from None


async def _update(h: Any, data: bytes | bytearray) -> None:
    """Hash ``data``: a big batch in a worker thread (hashlib lets go of the GIL), a small one here."""
    if len(data) >= HASH_BATCH:
        await asyncio.to_thread(h.update, data)
    else:
        h.update(data)


__all__ = ["UploadService", "UploadState", "V2Limits"]
