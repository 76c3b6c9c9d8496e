"""ImagePush over the v2 / OCI distribution API: layers, config, then a schema 2 manifest per tag.

Each layer goes through the same steps as in moby's ``push_v2.go``, several at once: the blobs
this engine knows for it on this registry (:class:`~wharf_engine.distribution.v2meta.BlobMetadataStore`,
filled by pulls and pushes) are asked for in the target repository (``Layer already exists``),
then mounted from the repository that had them (``Mounted from alice/other``); only when neither
works is the layer compressed (parallel gzip, hashed on the way) while it is uploaded, or,
when the engine kept it gzipped as it was pulled (or loaded), those bytes sent as they are
(hashed on the way: no compression, and the same digest as where it came from). Then
the config blob, and the manifest under each tag: the stream says
``<tag>: digest: sha256:… size: N`` and an ``aux`` message with the same, as Docker does, and the
digest becomes one of the image's ``RepoDigests``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import structlog
from wharf_common.errors import InvalidArgument, NotFound, WharfError
from wharf_common.reference import ImageReference, InvalidReference, is_valid_tag, parse_reference

from wharf_engine.distribution import AuthConfig, Repository
from wharf_engine.distribution.manifests import DOCKER_MANIFEST, schema2_manifest, sha256_digest
from wharf_engine.distribution.progress import (
    Emit,
    Message,
    layer_status,
    pushing,
    run_with_progress,
    status,
)
from wharf_engine.distribution.v2 import V2Client
from wharf_engine.distribution.v2auth import Challenge, push_scope
from wharf_engine.distribution.v2meta import BlobRecord

from .push_layers import SEND_SIZE, LiveLayer

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

PARALLEL_UPLOADS = 5  # as moby's max-concurrent-uploads
COMPRESS_THREADS = min(4, os.cpu_count() or 2)
WHOLE_UP_TO = 8 << 20  # gzip bytes held to send a layer in one PUT, checked for first by digest


@dataclass(frozen=True, slots=True)
class Target:
    tag: str
    image_id: str


def push_targets(daemon: Daemon, name: str, tag: str | None) -> tuple[ImageReference, list[Target]]:
    """The repository and the local tags to push (every tag of it when ``tag`` is empty)."""
    try:
        ref = parse_reference(name)
    except InvalidReference as exc:
        raise InvalidArgument(str(exc)) from None
    if ref.digest:
        raise InvalidArgument("cannot push a digest reference")
    tag = tag or ref.tag
    repository = ref.repository
    if tag and not is_valid_tag(tag):
        raise InvalidArgument(f"invalid tag format: {tag}")
    targets = [
        Target(key.rpartition(":")[2], image_id)
        for key, image_id in daemon.references.items()
        if key.rpartition(":")[0] == repository and (not tag or key == f"{repository}:{tag}")
    ]
    if not targets:
        raise NotFound(f"An image does not exist locally with the tag: {repository}")
    return ImageReference(ref.domain, ref.path), targets


async def image_push_v2(
    daemon: Daemon,
    ref: ImageReference,
    targets: list[Target],
    repository: Repository,
    auth: AuthConfig,
    challenges: list[Challenge],
) -> AsyncGenerator[Message, None]:
    scopes = (push_scope(repository.remote),)
    async with daemon.registries.v2_client(repository.index, auth, challenges, scopes) as client:
        # as moby, the first line goes out before the registry is asked anything: refused
        # credentials are the stream's error (a 401 answer would make the CLI prompt for a login)
        yield status(f"The push refers to repository [{ref.full_name}]")
        job = _Push(daemon, client, ref, repository, targets)
        try:
            async for message in run_with_progress(job.run):
                yield message
        except WharfError as exc:
            log.warning("image.push_failed", repository=ref.repository, error=exc.message)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            log.info("image.push_abandoned", repository=ref.repository)
            raise


class _Push:
    def __init__(
        self,
        daemon: Daemon,
        client: V2Client,
        ref: ImageReference,
        repository: Repository,
        targets: list[Target],
    ) -> None:
        self.daemon = daemon
        self.client = client
        self.ref = ref
        self.remote = repository.remote
        self.registry = repository.index.domain
        self.targets = targets
        self.blobs: dict[str, asyncio.Future[tuple[str, int]]] = {}  # diff id → (digest, size)
        self.slots = asyncio.Semaphore(PARALLEL_UPLOADS)

    async def run(self, emit: Emit) -> None:
        try:
            for target in self.targets:
                await self._push_image(target, emit)
        finally:
            for future in self.blobs.values():
                future.cancel()
            await asyncio.gather(*self.blobs.values(), return_exceptions=True)

    async def _push_image(self, target: Target, emit: Emit) -> None:
        config_raw = self.daemon.images.raw(target.image_id)
        config = self.daemon.images.get(target.image_id)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        for diff_id in reversed(diff_ids):  # Docker lists the top layer first
            if diff_id not in self.blobs:
                emit(layer_status(_short(diff_id), "Preparing"))
        fresh = [d for d in dict.fromkeys(diff_ids) if d not in self.blobs]
        for index, diff_id in enumerate(reversed(fresh)):
            if index >= PARALLEL_UPLOADS:
                emit(layer_status(_short(diff_id), "Waiting"))
        for diff_id in fresh:
            self.blobs[diff_id] = asyncio.ensure_future(self._push_layer(diff_id, emit))
        layers = [await self.blobs[d] for d in diff_ids]
        config_digest = sha256_digest(config_raw)
        if await self.client.blob_size(self.remote, config_digest) is None:
            location = await self.client.start_upload(self.remote)
            await self.client.put_blob(location, config_digest, len(config_raw), _once(config_raw))
        manifest = schema2_manifest(config_raw, layers)
        digest = await self.client.put_manifest(self.remote, target.tag, manifest, DOCKER_MANIFEST)
        if digest != sha256_digest(manifest):
            log.warning("image.push_digest_differs", sent=sha256_digest(manifest), answered=digest)
            digest = sha256_digest(manifest)
        async with self.daemon.image_lock:
            self.daemon.repo_digests.add(self.ref.repository, digest, target.image_id)
        name = f"{self.ref.repository}:{target.tag}"
        self.daemon.events.emit("image", "push", name, {"name": name})
        log.info("image.pushed", reference=name, digest=digest, layers=len(layers), protocol="v2")
        emit(status(f"{target.tag}: digest: {digest} size: {len(manifest)}"))
        emit({"progressDetail": {}, "aux": {"Tag": target.tag, "Digest": digest, "Size": len(manifest)}})

    async def _push_layer(self, diff_id: str, emit: Emit) -> tuple[str, int]:
        short = _short(diff_id)
        async with self.slots:
            found = await self._reuse(diff_id, short, emit)
            if found is None:
                found = await self._upload(diff_id, short, emit)
        self._remember(diff_id, found[0])
        return found

    async def _upload(self, diff_id: str, short: str, emit: Emit) -> tuple[str, int]:
        """The layer gzipped while it is sent (:class:`LiveLayer`): a body that is all there
        within ``WHOLE_UP_TO`` bytes goes in one ``PUT``, unless the registry has its digest
        already; a bigger one streams through a ``PATCH`` as it is compressed, and its digest,
        known at the end, finishes the upload."""
        source = self.daemon.layers.gzip_source(diff_id)
        if source is not None:  # pulled (or loaded) gzipped: those bytes go out as they are
            live = LiveLayer(lambda out: _copy_file(source, out), None, COMPRESS_THREADS, compress=False)
            estimate = source.stat().st_size
        else:
            live = LiveLayer(lambda out: self.daemon.layers.export(diff_id, out), None, COMPRESS_THREADS)
            estimate = self.daemon.layers.get(diff_id).size
        chunks = live.chunks()
        try:
            head: list[bytes] = []
            held = 0
            async for chunk in chunks:
                head.append(chunk)
                held += len(chunk)
                if held > WHOLE_UP_TO:
                    break
            else:
                assert live.payload is not None  # every chunk is out
                digest, size = live.payload.checksum, live.payload.size
                if await self.client.blob_size(self.remote, digest) is not None:
                    emit(layer_status(short, "Layer already exists"))
                    return digest, size
                location = await self.client.start_upload(self.remote)
                await self.client.put_blob(location, digest, size, pushing(_each(head), size, short, emit))
                emit(layer_status(short, "Pushed"))
                return digest, size
            location = await self.client.start_upload(self.remote)
            body = pushing(_chained(head, chunks), estimate, short, emit)
            location = await self.client.patch_blob(location, body)
            assert live.payload is not None  # the PATCH took every chunk
            digest, size = live.payload.checksum, live.payload.size
            await self.client.finish_upload(location, digest)
            emit(layer_status(short, "Pushed"))
            return digest, size
        finally:
            live.close()
            await chunks.aclose()

    async def _reuse(self, diff_id: str, short: str, emit: Emit) -> tuple[str, int] | None:
        """A blob this registry has for the layer: in the target repository, or mounted from another."""
        records = [r for r in self.daemon.blob_metadata.records(diff_id) if r.registry == self.registry]
        for record in (r for r in records if r.repository == self.remote):
            size = await self.client.blob_size(self.remote, record.digest)
            if size is not None:
                emit(layer_status(short, "Layer already exists"))
                return record.digest, size
        for record in (r for r in records if r.repository != self.remote):
            try:
                opened = await self.client.mount(self.remote, record.digest, record.repository)
            except WharfError as exc:  # not allowed to read the other repository: upload instead
                log.info("image.push_mount_refused", source=record.repository, error=exc.message)
                continue
            if opened is None:
                size = await self.client.blob_size(self.remote, record.digest)
                if size is not None:
                    emit(layer_status(short, f"Mounted from {record.repository}"))
                    self._remember(diff_id, record.digest)
                    return record.digest, size
        return None

    def _remember(self, diff_id: str, digest: str) -> None:
        self.daemon.blob_metadata.add(diff_id, BlobRecord(digest, self.registry, self.remote))


def _copy_file(path: Path, out: BinaryIO) -> None:
    with path.open("rb") as f:
        shutil.copyfileobj(f, out, SEND_SIZE)


async def _each(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _chained(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


__all__ = ["Target", "image_push_v2", "push_targets"]
