"""ImagePull over the v2 / OCI distribution API (a registry that answers ``GET /v2/``).

Before the first message: the manifest (by tag or by digest; a manifest list or OCI index is
resolved to the entry for the wanted platform, ``linux/amd64`` by default), its config blob
(checked against its digest, and its ``rootfs.diff_ids`` against the layers), so an unknown
tag, a refused repository, a schema 1 manifest or a zstd layer is a plain HTTP error. Then the
layers this engine lacks are downloaded a few at a time, each streamed into the thread that
extracts it, while its size and sha256 are checked against the manifest (the extractor sees the
end of its input only once they match) and its diff id against the config. Only when every layer
is in the store are the config, the tag and the repo digest written.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import NotFound, WharfError
from wharf_common.reference import ImageReference

from wharf_engine.distribution import (
    AuthConfig,
    LayerVerificationFailed,
    PullAccessDenied,
    RegistryUnauthorized,
    Repository,
)
from wharf_engine.distribution.manifests import (
    INDEXES,
    Descriptor,
    ImageManifest,
    InvalidManifest,
    UnsupportedManifest,
    check_layers,
    config_matches,
    media_type,
    parse_index,
    parse_manifest,
    parse_platform,
    platform_text,
    refuse_schema1,
    select_platform,
)
from wharf_engine.distribution.pipe import ChunkPipe, ReaderGone, in_thread, settled
from wharf_engine.distribution.progress import (
    Emit,
    Message,
    Throttle,
    layer_progress,
    layer_status,
    run_with_progress,
    status,
)
from wharf_engine.distribution.v2 import V2Client, V2Error
from wharf_engine.distribution.v2auth import Challenge, pull_scope
from wharf_engine.distribution.v2meta import BlobRecord
from wharf_engine.layers.store import Layer

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

PARALLEL_DOWNLOADS = 3
PIPE_CHUNK = 1 << 20
MAX_CONFIG = 8 << 20  # bytes of an image config


async def image_pull_v2(
    daemon: Daemon,
    ref: ImageReference,
    repository: Repository,
    auth: AuthConfig,
    challenges: list[Challenge],
    platform: str | None,
) -> AsyncGenerator[Message, None]:
    wanted = parse_platform(platform)
    scopes = (pull_scope(repository.remote),)
    async with daemon.registries.v2_client(repository.index, auth, challenges, scopes) as client:
        reference = ref.digest or ref.tag or "latest"
        try:
            top = await client.manifest(repository.remote, reference)
        except (RegistryUnauthorized, V2Error) as exc:
            raise _translate(ref, exc) from None
        kind = media_type(top.media_type, top.raw)
        refuse_schema1(kind, str(ref))
        manifest_raw = top.raw
        if kind in INDEXES:
            entry = select_platform(parse_index(top.raw), wanted)
            manifest_raw = (await client.manifest(repository.remote, entry.digest)).raw
            refuse_schema1(media_type(entry.mediaType, manifest_raw), str(ref))
        manifest = parse_manifest(manifest_raw)
        check_layers(manifest, str(ref))
        config_raw = await client.blob_bytes(repository.remote, manifest.config.digest, MAX_CONFIG)
        config = _config(config_raw, manifest)
        if platform and not config_matches(config, wanted):
            actual = f"{config.get('os') or 'linux'}/{config.get('architecture') or 'amd64'}"
            raise NotFound(
                f"image with reference {ref} was found but does not match the specified platform: "
                f"wanted {platform_text(wanted)}, actual: {actual}"
            )
        yield status(f"Pulling from {repository.remote if repository.official else ref.path}", reference)
        job = _Pull(daemon, client, ref, repository, manifest, config, config_raw, top.digest)
        try:
            async for message in run_with_progress(job.run):
                yield message
        except WharfError as exc:
            log.warning("image.pull_failed", reference=str(ref), error=exc.message)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            log.info("image.pull_abandoned", reference=str(ref))
            raise


def _translate(ref: ImageReference, exc: RegistryUnauthorized | V2Error) -> WharfError:
    """Docker's words: an unknown manifest is "not found", a refused or unknown repository is
    "pull access denied" (so names do not leak)."""
    if isinstance(exc, RegistryUnauthorized):
        return PullAccessDenied(ref.repository, f"unauthorized: {exc.reason}")
    if exc.code == "MANIFEST_UNKNOWN" or (exc.status == 404 and exc.code != "NAME_UNKNOWN"):
        return NotFound(f"manifest for {ref} not found: {exc.detail}")
    if exc.code in ("NAME_UNKNOWN", "DENIED", "UNAUTHORIZED") or exc.status == 403:
        return PullAccessDenied(ref.repository, exc.detail)
    return exc


def _config(raw: bytes, manifest: ImageManifest) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except ValueError:
        raise InvalidManifest("the image config is not JSON") from None
    if not isinstance(config, dict):
        raise InvalidManifest("the image config is not a JSON object")
    diff_ids = (config.get("rootfs") or {}).get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != len(manifest.layers):
        raise InvalidManifest(
            f"the image config names {len(diff_ids or [])} layers, the manifest {len(manifest.layers)}"
        )
    if not all(isinstance(d, str) and d.startswith("sha256:") and len(d) == 71 for d in diff_ids):
        raise UnsupportedManifest("the image config has a diff id that is not sha256")
    return config


class _Pull:
    def __init__(
        self,
        daemon: Daemon,
        client: V2Client,
        ref: ImageReference,
        repository: Repository,
        manifest: ImageManifest,
        config: dict[str, Any],
        config_raw: bytes,
        digest: str,
    ) -> None:
        self.daemon = daemon
        self.client = client
        self.ref = ref
        self.repository = repository
        self.manifest = manifest
        self.diff_ids: list[str] = list(config["rootfs"]["diff_ids"])
        self.config_raw = config_raw
        self.digest = digest  # what the tag names: the list's digest for a multi-platform image

    async def run(self, emit: Emit) -> None:
        missing: list[tuple[Descriptor, str]] = []
        seen: set[str] = set()
        for layer, diff_id in zip(self.manifest.layers, self.diff_ids, strict=True):
            short = _short(layer.digest)
            if self.daemon.layers.has(diff_id):
                emit(layer_status(short, "Already exists"))
                self._remember(diff_id, layer.digest)
            elif layer.digest not in seen:
                seen.add(layer.digest)
                missing.append((layer, diff_id))
                emit(layer_status(short, "Pulling fs layer"))
        slots = asyncio.Semaphore(PARALLEL_DOWNLOADS)
        for layer, _ in missing[PARALLEL_DOWNLOADS:]:
            emit(layer_status(_short(layer.digest), "Waiting"))
        tasks = [asyncio.ensure_future(self._fetch(layer, d, slots, emit)) for layer, d in missing]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._commit(emit)

    def _remember(self, diff_id: str, digest: str) -> None:
        record = BlobRecord(digest, self.repository.index.domain, self.repository.remote)
        self.daemon.blob_metadata.add(diff_id, record)

    async def _fetch(self, layer: Descriptor, diff_id: str, slots: asyncio.Semaphore, emit: Emit) -> None:
        short = _short(layer.digest)
        pipe = ChunkPipe()

        def register() -> Layer:
            try:
                return self.daemon.layers.register(pipe)  # type: ignore[arg-type]
            finally:
                pipe.reader_done()

        async with slots:
            registering = in_thread(register, name=f"pull-{short}")
            try:
                await self._download(layer, pipe, emit)
                emit(layer_status(short, "Download complete"))
                emit(layer_status(short, "Extracting"))
                await pipe.finish()
                stored = await asyncio.shield(registering)
            except ReaderGone:
                await asyncio.shield(registering)  # raises why the layer was refused
                raise
            except BaseException as exc:
                failed = f"layer {short}: the download failed ({type(exc).__name__})"
                pipe.abort(LayerVerificationFailed(failed))
                await settled(registering)
                raise
        if stored.diff_id != diff_id:
            raise LayerVerificationFailed(
                f"layer {layer.digest} unpacks to {stored.diff_id}, the image config says {diff_id}"
            )
        self._remember(diff_id, layer.digest)
        emit(layer_status(short, "Pull complete"))

    async def _download(self, layer: Descriptor, pipe: ChunkPipe, emit: Emit) -> None:
        short, hasher, throttle = _short(layer.digest), hashlib.sha256(), Throttle()
        received = shown = 0
        pending = bytearray()
        async with self.client.blob(self.repository.remote, layer.digest) as (_length, chunks):
            async for chunk in chunks:
                received += len(chunk)
                if received > layer.size:
                    raise LayerVerificationFailed(f"layer {layer.digest}: more than {layer.size} bytes")
                hasher.update(chunk)
                pending += chunk
                if len(pending) >= PIPE_CHUNK:
                    await pipe.put(pending)
                    pending = bytearray()
                if throttle.ready(final=received == layer.size):
                    emit(layer_progress(short, "Downloading", received, layer.size))
                    shown = received
        await pipe.put(pending)
        if shown != received:
            emit(layer_progress(short, "Downloading", received, layer.size))
        emit(layer_status(short, "Verifying Checksum"))
        if received != layer.size:
            raise LayerVerificationFailed(f"layer {layer.digest}: received {received} of {layer.size} bytes")
        if layer.digest.startswith("sha256:") and "sha256:" + hasher.hexdigest() != layer.digest:
            raise LayerVerificationFailed(f"layer {layer.digest}: the content does not match its digest")

    async def _commit(self, emit: Emit) -> None:
        repository = self.ref.repository
        key = None if self.ref.digest else str(self.ref.with_default_tag())
        async with self.daemon.image_lock:
            image_id = self.daemon.images.put_raw(self.config_raw)
            digest_ref = f"{repository}@{self.digest}"
            previous = self.daemon.references.get(key) if key else self.daemon.repo_digests.get(digest_ref)
            self.daemon.repo_digests.add(repository, self.digest, image_id)
            if key:
                self.daemon.references.add(key, image_id)
        shown = key or digest_ref
        self.daemon.events.emit("image", "pull", shown, {"name": shown})
        log.info("image.pulled", reference=shown, image_id=image_id, digest=self.digest, protocol="v2")
        emit(status(f"Digest: {self.digest}"))
        if previous == image_id:
            emit(status(f"Status: Image is up to date for {shown}"))
        else:
            emit(status(f"Status: Downloaded newer image for {shown}"))


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


__all__ = ["image_pull_v2"]
