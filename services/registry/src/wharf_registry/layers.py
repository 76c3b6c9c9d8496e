"""Images and their layers: upload → verify → atomic publish (protocols.md A.5-A.7).

The life of an image id:

1. ``PUT json`` writes ``_inprogress`` then the JSON and its ancestry; the image is now
   *in progress*: its JSON and ancestry answer "being uploaded", its layer does not exist.
   An image is in progress while its mark is there or its ``_checksum`` is not.
2. ``PUT layer`` streams the body into a fresh upload object, hashing as it goes; only a
   complete body becomes an object (the driver's write is atomic), and its payload checksum
   is recorded beside it. A body cut off half way leaves nothing.
3. ``PUT checksum`` finds the upload whose checksum the client names, moves it to ``layer``,
   records the checksum and removes ``_inprogress``: from here on the image is *complete*.
   A checksum that matches no upload fails and discards the uploads.

Durability: the checksum is the commit point. Everything before it is written without fsync
as it arrives (a push sends the JSONs one after another, and their fsyncs were most of each
request's time): the mark, the JSON, the ancestry, the upload and its checksum record. Step 3
moves the upload into place, syncs the JSON, the ancestry and the layer at once (one trip, one
directory), and only then writes the checksum, durably. So a complete image is on disk whole,
and whatever a crash loses before that leaves the image in progress (no checksum): an upload
or record lost only makes the client's checksum find no upload (it pushes again). A push of
50 small layers made 10 fsyncs per layer, now 6, and none on the path of ``PUT json``.

Identical concurrent pushes all succeed and store one layer: steps that change an image's
state hold a per-image lock, a layer re-sent for a complete image is accepted when its
checksum is the stored one, and a checksum re-sent for a complete image likewise.
(The lock is per process: run one registry process per storage.)

Repositories (index mode, where every write names the repository of its token): image ids are
no secret, so an id says nothing about who may use it.

* An image in progress belongs to the repository whose ``PUT json`` started it (named in the
  mark): another repository's ``PUT json``, ``PUT layer`` or ``PUT checksum`` of it is refused
  (:class:`ImageBusy`) until the push is over, or the mark is older than ``takeover_after``.
* Publishing records the image in its repository (``repositories/<ns>/<repo>/_images/<id>``,
  without fsync: a record lost in a crash only makes the repository prove the image again).
* "Already exists" is said to a repository that holds the image only. For another, a
  complete image is a claim to prove: ``PUT json`` must send the stored JSON byte for byte
  (recorded as a claim), then ``PUT layer`` the very bytes whose checksum is stored, and only
  then is the image in that repository too (nothing is stored twice). Anything else is
  :class:`ImageContentDiffers`: a client never gets another's content under its own push.

Limits (:class:`UploadLimits`): an image JSON and a layer have a maximum size, and a
namespace an optional quota of layer bytes published into it; both are checked while the body
streams, and a refused body leaves no object behind (:mod:`wharf_registry.quotas`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from weakref import WeakValueDictionary

import structlog
from wharf_common.registry_v1 import PayloadHasher

from . import names
from .checksums import tarsums_of
from .errors import (
    ChecksumMismatch,
    ChecksumNotSettable,
    ImageAlreadyExists,
    ImageBusy,
    ImageContentDiffers,
    ImageInProgress,
    ImageNotFound,
    ImageNotInRepository,
    MissingChecksum,
    MissingParent,
)
from .hashing import hashed_batches
from .names import RepositoryName, parse_image_json
from .quotas import NamespaceUsage, UploadLimits, capped
from .storage import paths
from .storage.base import PathNotFound, StorageDriver, check_path, get_bytes, put_bytes

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ImageJson:
    raw: bytes
    layer_size: int | None
    checksums: list[str]


class LayerService:
    def __init__(self, storage: StorageDriver, limits: UploadLimits | None = None) -> None:
        self.storage = storage
        self.limits = limits or UploadLimits()
        self.usage = NamespaceUsage(storage, self.limits.namespace_quota)
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._linked: dict[str, str] = {}  # image id → the v2 blob that is its layer (a cache)

    def _lock(self, image_id: str) -> asyncio.Lock:
        lock = self._locks.get(image_id)
        if lock is None:
            lock = self._locks[image_id] = asyncio.Lock()
        return lock

    # ---- state -------------------------------------------------------------------------

    async def _has_json(self, image_id: str) -> bool:
        return await self.storage.exists(paths.image_json(image_id))

    async def _in_progress(self, image_id: str) -> bool:
        """The mark is there, or the checksum (written last, durably) is not: a crash that
        lost the mark, which is written without fsync, leaves the image in progress."""
        if await self.storage.exists(paths.image_mark(image_id)):
            return True
        return not await self.storage.exists(paths.image_checksum(image_id))

    async def _uploader(self, image_id: str) -> tuple[str | None, bool]:
        """The repository pushing an image in progress, per its mark (None: anyone's), and
        whether its claim is fresh (younger than ``takeover_after``)."""
        try:
            mark = json.loads(await get_bytes(self.storage, paths.image_mark(image_id)))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None, False
        if not isinstance(mark, dict) or not isinstance(mark.get("repository"), str):
            return None, False  # an older registry's mark ("true")
        since = mark.get("since")
        fresh = isinstance(since, int | float) and time.time() - since <= self.limits.takeover_after
        return str(mark["repository"]), fresh

    async def _check_uploader(self, image_id: str, repo: RepositoryName | None) -> None:
        """Uploads and checksums go to the repository whose ``PUT json`` started the image."""
        if repo is not None and (await self._uploader(image_id))[0] != str(repo):
            raise ImageBusy()

    async def holds(self, repo: RepositoryName, image_id: str) -> bool:
        """Whether ``image_id`` was pushed to ``repo`` (or proven there); see the module docstring."""
        return await self.storage.exists(paths.repository_image(repo.namespace, repo.repo, image_id))

    async def is_complete(self, image_id: str) -> bool:
        names.check_image_id(image_id)
        return await self._has_json(image_id) and not await self._in_progress(image_id)

    async def _require_complete(self, image_id: str) -> None:
        names.check_image_id(image_id)
        if not await self._has_json(image_id):
            raise ImageNotFound()
        if await self._in_progress(image_id):
            raise ImageInProgress()

    async def _stored_checksums(self, image_id: str) -> list[str]:
        try:
            value = json.loads(await get_bytes(self.storage, paths.image_checksum(image_id)))
        except PathNotFound:
            return []
        return [str(c) for c in value] if isinstance(value, list) else []

    # ---- reads ------------------------------------------------------------------------

    async def image_json(self, image_id: str) -> ImageJson:
        await self._require_complete(image_id)
        raw = await get_bytes(self.storage, paths.image_json(image_id))
        try:
            size: int | None = await self.layer_size(image_id)
        except ImageNotFound:
            size = None
        return ImageJson(raw, size, await self._stored_checksums(image_id))

    async def ancestry(self, image_id: str) -> list[str]:
        await self._require_complete(image_id)
        try:
            value = json.loads(await get_bytes(self.storage, paths.image_ancestry(image_id)))
        except PathNotFound:
            raise ImageNotFound() from None
        return [str(i) for i in value]

    async def layer_size(self, image_id: str) -> int:
        await self._require_complete(image_id)
        try:
            return await self.storage.size(paths.image_layer(image_id))
        except PathNotFound:
            pass
        linked = await self._linked_layer(image_id)  # an image synthesised from a v2 manifest
        if linked is None:
            raise ImageNotFound()
        try:
            size = await self.storage.size(linked)
        except PathNotFound:
            raise ImageNotFound() from None
        if len(self._linked) >= 4096:
            self._linked.clear()
        self._linked[image_id] = linked
        return size

    async def _linked_layer(self, image_id: str) -> str | None:
        try:
            record = json.loads(await get_bytes(self.storage, paths.image_blob(image_id)))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None
        path = record.get("path") if isinstance(record, dict) else None
        return check_path(path) if isinstance(path, str) else None

    def _layer_path(self, image_id: str) -> str:
        """``layer``, or the v2 blob :meth:`layer_size` found for it (blobs never move)."""
        return self._linked.get(image_id) or paths.image_layer(image_id)

    def read_layer(self, image_id: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The layer's bytes ``[start, end)``; call :meth:`layer_size` first."""
        return self.storage.read(self._layer_path(image_id), start=start, end=end)

    def layer_redirect(self, image_id: str) -> str | None:
        return self.storage.redirect_url(self._layer_path(image_id))

    def layer_file(self, image_id: str) -> Path | None:
        """A local file holding the layer, to send without copying; None when storage has none."""
        return self.storage.local_path(self._layer_path(image_id))

    # ---- push -------------------------------------------------------------------------

    async def read_image_json(self, chunks: AsyncIterable[bytes]) -> bytes:
        """A ``PUT json`` body, refused (:class:`UploadTooLarge`) as soon as it passes the limit."""
        body = bytearray()
        async for chunk in capped(chunks, self.limits.max_image_json_size, "Image JSON"):
            body += chunk
        return bytes(body)

    async def put_image_json(self, image_id: str, raw: bytes, repo: RepositoryName | None = None) -> None:
        names.check_image_id(image_id)
        data = parse_image_json(image_id, raw)
        parent = data.get("parent")
        async with self._lock(image_id):
            if await self._has_json(image_id) and not await self._in_progress(image_id):
                if repo is None or await self.holds(repo, image_id):
                    raise ImageAlreadyExists()
                await self._claim(image_id, raw, repo)
                return
            if repo is not None:
                uploader, fresh = await self._uploader(image_id)
                if fresh and uploader != str(repo):
                    raise ImageBusy()
            if parent:
                parent_ancestry = await self._ancestry_of_parent(parent)
            else:
                parent_ancestry = []
            # mark first; without fsync: the checksum's absence keeps the image in progress anyway
            mark = json.dumps({"repository": str(repo), "since": time.time()}).encode() if repo else b"true"
            await put_bytes(self.storage, paths.image_mark(image_id), mark, durable=False)
            await self._delete_if_there(paths.image_checksum(image_id))
            ancestry = json.dumps([image_id, *parent_ancestry]).encode()
            await _all(  # made durable when the image is published
                put_bytes(self.storage, paths.image_json(image_id), raw, durable=False),
                put_bytes(self.storage, paths.image_ancestry(image_id), ancestry, durable=False),
            )
        log.info(
            "image.json_stored", image_id=image_id, parent=parent, repository=str(repo) if repo else None
        )

    async def _claim(self, image_id: str, raw: bytes, repo: RepositoryName) -> None:
        """``repo`` sent the JSON of an image it does not hold: the stored one, or no claim."""
        if raw != await get_bytes(self.storage, paths.image_json(image_id)):
            log.warning("image.claim_refused", image_id=image_id, repository=str(repo))
            raise ImageContentDiffers()
        await put_bytes(
            self.storage, paths.image_claim(image_id, repo.namespace, repo.repo), b"{}", durable=False
        )
        log.info("image.claimed", image_id=image_id, repository=str(repo))

    async def _admit(self, image_id: str, repo: RepositoryName) -> None:
        """``repo`` proved it has the image's JSON and layer: it holds the image from now on."""
        member = paths.repository_image(repo.namespace, repo.repo, image_id)
        await put_bytes(self.storage, member, b"{}", durable=False)
        await self._delete_if_there(paths.image_claim(image_id, repo.namespace, repo.repo))
        log.info("image.proven", image_id=image_id, repository=str(repo))

    async def _ancestry_of_parent(self, parent: str) -> list[str]:
        if not await self._has_json(parent):
            raise MissingParent()
        try:
            value = json.loads(await get_bytes(self.storage, paths.image_ancestry(parent)))
        except PathNotFound:
            raise MissingParent() from None
        return [str(i) for i in value]

    async def put_layer(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        repo: RepositoryName | None = None,
        *,
        length: int | None = None,
    ) -> str:
        """Store a complete upload; return its payload checksum (the layer is not visible yet).

        ``length``: the body's declared size, refused at once when over a limit.
        """
        names.check_image_id(image_id)
        try:
            image_json = await get_bytes(self.storage, paths.image_json(image_id))
        except PathNotFound:
            raise ImageNotFound() from None
        hasher = PayloadHasher(image_json)
        size = 0

        async def hashed(body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
            nonlocal size
            async with aclosing(hashed_batches(body, hasher.update)) as batches:  # off the loop
                async for batch in batches:
                    size += len(batch)
                    yield batch

        layer_limit = self.limits.max_layer_size
        if not await self._in_progress(image_id):
            # complete already: an identical re-upload (a concurrent pusher, or a proof), stored nowhere
            if repo is not None and not await self.holds(repo, image_id):
                claim = paths.image_claim(image_id, repo.namespace, repo.repo)
                if not await self.storage.exists(claim):
                    raise ImageNotInRepository(image_id)  # its JSON first
            async for _ in hashed(capped(chunks, layer_limit, "Layer", length)):
                pass
            if hasher.checksum not in await self._stored_checksums(image_id):
                raise ImageContentDiffers()
            if repo is not None and not await self.holds(repo, image_id):
                await self._admit(image_id, repo)
            return hasher.checksum
        await self._check_uploader(image_id, repo)
        upload_id = uuid.uuid4().hex
        path = paths.image_upload(image_id, upload_id)
        # hashed in the thread that stores the bytes
        if repo is None:
            body = capped(chunks, layer_limit, "Layer", length)
            size = await self.storage.write(path, body, durable=False, tap=hasher.update)
        else:
            async with self.usage.reserve(repo.namespace, layer_limit, length) as limit:
                size = await self.storage.write(path, limit.apply(chunks), durable=False, tap=hasher.update)
        async with self._lock(image_id):
            if not await self._in_progress(image_id):  # published by someone else meanwhile
                await self._discard_uploads(image_id, [upload_id])
                matches = hasher.checksum in await self._stored_checksums(image_id)
                if matches and (repo is None or await self.holds(repo, image_id)):
                    return hasher.checksum
                raise ImageContentDiffers()
            record = json.dumps({"checksum": hasher.checksum, "size": size}).encode()
            await put_bytes(self.storage, paths.image_upload_sum(image_id, upload_id), record, durable=False)
        log.info("image.layer_uploaded", image_id=image_id, size=size, checksum=hasher.checksum)
        return hasher.checksum

    async def _uploads(self, image_id: str) -> dict[str, tuple[str, int]]:
        """upload id → recorded payload checksum and size, for every complete upload."""
        found: dict[str, tuple[str, int]] = {}
        for name in await self.storage.list(paths.image_uploads(image_id)):
            if not name.endswith(paths.UPLOAD_SUM_SUFFIX):
                continue
            upload_id = name.removesuffix(paths.UPLOAD_SUM_SUFFIX)
            try:
                raw = await get_bytes(self.storage, paths.image_upload_sum(image_id, upload_id))
                record = json.loads(raw)
            except (PathNotFound, ValueError):  # gone meanwhile, or cut short by a crash
                continue
            if isinstance(record, dict):
                recorded_size = record.get("size")
                size = recorded_size if isinstance(recorded_size, int) else 0
                found[upload_id] = (str(record.get("checksum", "")), size)
        return found

    async def _delete_if_there(self, path: str) -> None:
        """Delete ``path`` if it exists (asking first is cheaper than a delete that finds nothing)."""
        if await self.storage.exists(path):
            try:
                await self.storage.delete(path)
            except PathNotFound:
                pass

    async def _discard_uploads(self, image_id: str, upload_ids: list[str]) -> None:
        for upload_id in upload_ids:
            # the record first: an upload without one is never picked
            await self._delete_if_there(paths.image_upload_sum(image_id, upload_id))
            await self._delete_if_there(paths.image_upload(image_id, upload_id))

    async def put_checksum(
        self, image_id: str, *, payload: str | None, tarsum: str | None, repo: RepositoryName | None = None
    ) -> None:
        """Verify the client's checksum against the uploads and publish the matching one."""
        names.check_image_id(image_id)
        if not payload and not tarsum:
            raise MissingChecksum()
        async with self._lock(image_id):
            if not await self._has_json(image_id):
                raise ImageNotFound()
            if not await self._in_progress(image_id):
                stored = await self._stored_checksums(image_id)
                if (payload or tarsum) in stored:
                    if repo is not None and not await self.holds(repo, image_id):
                        raise ImageNotInRepository(
                            image_id
                        )  # a checksum is no secret: the layer is the proof
                    return  # a concurrent pusher got there first with the same bytes
                raise ChecksumNotSettable()
            await self._check_uploader(image_id, repo)
            uploads = await self._uploads(image_id)
            match = await self._find_upload(image_id, uploads, payload=payload, tarsum=tarsum)
            if match is None:
                await self._discard_uploads(image_id, list(uploads))
                log.warning("image.checksum_mismatch", image_id=image_id, payload=payload, tarsum=tarsum)
                raise ChecksumMismatch()
            upload_id, verified = match
            layer = paths.image_layer(image_id)
            await self.storage.move(paths.image_upload(image_id, upload_id), layer, durable=False)
            if repo is not None:  # (no fsync: see the module docstring)
                size = uploads[upload_id][1]  # the record names what it stored: gc recounts quotas from it
                member = paths.repository_image(repo.namespace, repo.repo, image_id)
                await put_bytes(self.storage, member, json.dumps({"size": size}).encode(), durable=False)
                await self.usage.add(repo.namespace, size)
            # the image on disk (one trip, one directory), then the checksum that publishes it
            await self.storage.sync([paths.image_json(image_id), paths.image_ancestry(image_id), layer])
            await put_bytes(self.storage, paths.image_checksum(image_id), json.dumps(verified).encode())
            await self.storage.delete(paths.image_mark(image_id))
            await self._discard_uploads(image_id, list(uploads))
        log.info("image.published", image_id=image_id, checksums=verified)

    async def _find_upload(
        self, image_id: str, uploads: dict[str, tuple[str, int]], *, payload: str | None, tarsum: str | None
    ) -> tuple[str, list[str]] | None:
        candidates = [u for u, (c, _) in uploads.items() if c == payload] if payload else list(uploads)
        for upload_id in candidates:
            verified = [uploads[upload_id][0]]
            if tarsum and not payload:
                # legacy client (< 0.10): only a tarsum to go by, computed from the stored upload
                image_json = await get_bytes(self.storage, paths.image_json(image_id))
                stream = self.storage.read(paths.image_upload(image_id, upload_id))
                if tarsum not in await tarsums_of(stream, image_json):
                    continue
                verified.append(tarsum)
            return upload_id, verified
        return None


async def _all(*steps: Awaitable[None]) -> None:
    """Run independent storage steps at once; all of them are over before the first error is raised."""
    for outcome in await asyncio.gather(*steps, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
