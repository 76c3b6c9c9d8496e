"""ImagePull (``POST /images/create?fromImage=``): the v1 pull of protocols.md A.8.

Before the first message: parse the reference, find its index or registry (bare names: the
default index; :mod:`wharf_engine.distribution.session` pings it and, behind an index, gets a
read token and the registries), look the tag up and fetch the ancestry, so an unknown tag, a
refused repository or an unreachable registry is a plain HTTP error. Then every v1 JSON is
fetched and checked against the ancestry, the layers this engine lacks are downloaded (a few at a
time, each streamed to a temporary file while its size and payload checksum are checked)
and registered, and only when every layer is in the store are the image config and the
reference written: an interrupted pull leaves complete layers (a retry skips them) but never
an image or a tag.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import InvalidArgument, NotFound, NotSupported, WharfError
from wharf_common.reference import ImageReference, InvalidReference, parse_reference
from wharf_common.registry_v1 import PayloadHasher

from wharf_engine.distribution import (
    AccessDenied,
    AuthConfig,
    LayerVerificationFailed,
    PullAccessDenied,
    RegistryClient,
    RegistryUnauthorized,
    RegistryUnreachable,
    RepositoryUnknown,
    Session,
    TagNotFound,
)
from wharf_engine.distribution.client import ImageJson
from wharf_engine.distribution.manifests import parse_platform
from wharf_engine.distribution.names import v2_repository
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
from wharf_engine.distribution.v1 import chain_ids, check_json, image_config
from wharf_engine.layers.store import Layer

from .pull_v2 import image_pull_v2

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

PARALLEL_DOWNLOADS = 3
PIPE_CHUNK = 1 << 20
PARALLEL_METADATA = 8


def registry_reference(name: str, tag: str | None) -> ImageReference:
    """``name`` (+ ``tag``, which may be a digest) as a reference: bare names stay bare (the default
    index); a reference with neither tag nor digest gets ``latest``."""
    try:
        ref = parse_reference(name)
        if tag and ":" in tag:  # fromImage=x&tag=sha256:...: a digest
            ref = ImageReference(ref.domain, ref.path, None, tag)
        elif tag:
            ref = ImageReference(ref.domain, ref.path, tag)
    except InvalidReference as exc:
        raise InvalidArgument(str(exc)) from None
    return ref.with_default_tag()


async def image_pull(
    daemon: Daemon, name: str, tag: str | None, auth: AuthConfig, platform: str | None = None
) -> AsyncGenerator[Message, None]:
    """v2 when the registry answers ``GET /v2/``, else v1 (:mod:`.pull_v2`, :func:`image_pull_v1`)."""
    ref = registry_reference(name, tag)
    parse_platform(platform)  # a bad --platform is refused before any registry is asked
    repository = daemon.registries.repository(ref)
    v2 = await daemon.registries.negotiate_v2(repository.index)
    if v2 is not None:
        pulling = image_pull_v2(
            daemon, ref, v2_repository(repository, ref, v2.endpoint), auth, v2.challenges, platform
        )
    else:
        if ref.digest:
            raise NotSupported("pulling by digest is not supported by v1 registries: pull a tag")
        pulling = image_pull_v1(daemon, ref, auth)
    async for message in pulling:
        yield message


async def image_pull_v1(
    daemon: Daemon, ref: ImageReference, auth: AuthConfig
) -> AsyncGenerator[Message, None]:
    assert ref.tag is not None
    repository = daemon.registries.repository(ref)
    async with await daemon.registries.session(repository, auth) as session:
        try:
            client, top = await _find_tag(session, ref.tag)
        except (RegistryUnauthorized, AccessDenied, RepositoryUnknown) as exc:
            raise PullAccessDenied(ref.repository, _denial(exc)) from None
        if top is None:
            raise TagNotFound(str(ref), ref.tag, repository.display)
        ancestry = list(reversed(await client.ancestry(top)))  # root first
        if not ancestry or ancestry[-1] != top:
            raise LayerVerificationFailed(f"ancestry of {top} does not start with it")
        # Docker names the repository as the registry stores it: library/busybox, user/web
        yield status(f"Pulling from {repository.remote if repository.official else ref.path}", ref.tag)
        job = _Pull(daemon, client, ref, ancestry)
        try:
            async for message in run_with_progress(job.run):
                yield message
        except WharfError as exc:
            log.warning("image.pull_failed", reference=str(ref), error=exc.message)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            log.info("image.pull_abandoned", reference=str(ref))
            raise


async def _find_tag(session: Session, tag: str) -> tuple[RegistryClient, str | None]:
    """The first registry that knows ``tag`` and the image id it names (A.8 step 3)."""
    clients = await session.readers()
    unreachable: RegistryUnreachable | None = None
    answered = None
    for client in clients:
        try:
            top = await client.tag(session.remote, tag)
        except RegistryUnreachable as exc:
            unreachable = unreachable or exc
            continue
        if top is not None:
            return client, top
        answered = answered or client
    if answered is None and unreachable is not None:
        raise unreachable
    return answered or clients[0], None


def _denial(exc: RegistryUnauthorized | AccessDenied | RepositoryUnknown) -> str:
    if isinstance(exc, RegistryUnauthorized):
        return f"unauthorized: {exc.reason}"
    return AccessDenied.reason  # an unknown repository is denied too, so names do not leak


class _Pull:
    def __init__(self, daemon: Daemon, client: RegistryClient, ref: ImageReference, ancestry: list[str]):
        self.daemon = daemon
        self.client = client
        self.ref = ref
        self.ancestry = ancestry
        self.parents = {v1: (ancestry[i - 1] if i else None) for i, v1 in enumerate(ancestry)}
        self.diff_ids: dict[str, str] = {}

    async def run(self, emit: Emit) -> None:
        jsons = await self._metadata()
        missing = []
        for v1_id in self.ancestry:
            diff_id = self.daemon.v1ids.diff_id(v1_id)
            if diff_id is not None and self.daemon.layers.has(diff_id):
                self.diff_ids[v1_id] = diff_id
                emit(layer_status(v1_id[:12], "Already exists"))
            else:
                missing.append(v1_id)
                emit(layer_status(v1_id[:12], "Pulling fs layer"))
        slots = asyncio.Semaphore(PARALLEL_DOWNLOADS)
        tasks = [asyncio.ensure_future(self._fetch(v1_id, jsons[v1_id], slots, emit)) for v1_id in missing]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._commit([jsons[v1].data for v1 in self.ancestry], emit)

    async def _metadata(self) -> dict[str, ImageJson]:
        slots = asyncio.Semaphore(PARALLEL_METADATA)

        async def one(v1_id: str) -> ImageJson:
            async with slots:
                image = await self.client.image_json(v1_id)
            if image is None:
                raise NotFound(f"image {v1_id} of {self.ref} not found on {self.client.endpoint.domain}")
            problem = check_json(v1_id, self.parents[v1_id], image.data)
            if problem:
                raise LayerVerificationFailed(f"pulling {self.ref}: {problem}")
            return image

        found = await asyncio.gather(*(one(v1_id) for v1_id in self.ancestry))
        return dict(zip(self.ancestry, found, strict=True))

    async def _fetch(self, v1_id: str, image: ImageJson, slots: asyncio.Semaphore, emit: Emit) -> None:
        """Download and extract at once: chunks go through a pipe to the thread that registers
        the layer, which sees the end of its input only once size and checksum are verified."""
        short = v1_id[:12]
        pipe = ChunkPipe()

        def register() -> Layer:
            try:
                return self.daemon.layers.register(pipe)  # type: ignore[arg-type]
            finally:
                pipe.reader_done()

        async with slots:  # the registering thread lives only as long as its download
            registering = in_thread(register, name=f"pull-{short}")
            try:
                checksum = await self._download(v1_id, image, pipe, emit)
                emit(layer_status(short, "Download complete"))
                emit(layer_status(short, "Extracting"))
                await pipe.finish()
                layer = await asyncio.shield(registering)  # a cancel must not orphan the thread
            except ReaderGone:
                await asyncio.shield(registering)  # raises why the layer was refused
                raise
            except BaseException as exc:
                pipe.abort(
                    LayerVerificationFailed(f"layer {short}: the download failed ({type(exc).__name__})")
                )
                await settled(registering)  # its temporary files are gone before we go on
                raise
        self.diff_ids[v1_id] = layer.diff_id
        self.daemon.v1ids.remember_layer(v1_id, self.parents[v1_id], layer.diff_id, checksum, image.raw)
        emit(layer_status(short, "Pull complete"))

    async def _download(self, v1_id: str, image: ImageJson, pipe: ChunkPipe, emit: Emit) -> str:
        """Stream the layer into ``pipe``, verified; its payload checksum (as received)."""
        short, hasher, throttle = v1_id[:12], PayloadHasher(image.raw), Throttle()
        received = shown = 0
        pending = bytearray()  # what the socket gives (64 KiB or less) goes to the pipe by the MiB
        async with self.client.layer(v1_id) as (length, chunks):
            total = image.size or length
            async for chunk in chunks:
                hasher.update(chunk)
                pending += chunk
                received += len(chunk)
                if len(pending) >= PIPE_CHUNK:
                    await pipe.put(pending)
                    pending = bytearray()
                if throttle.ready(final=received == total):
                    emit(layer_progress(short, "Downloading", received, total))
                    shown = received
        await pipe.put(pending)
        if shown != received:
            emit(layer_progress(short, "Downloading", received, total))
        if image.size is not None and received != image.size:
            raise LayerVerificationFailed(
                f"layer {short}: received {received} bytes, the registry announced {image.size}"
            )
        if image.checksum and image.checksum.startswith("sha256:") and hasher.checksum != image.checksum:
            raise LayerVerificationFailed(
                f"layer {short}: checksum {hasher.checksum} does not match {image.checksum}"
            )
        emit(layer_status(short, "Verifying Checksum"))
        return hasher.checksum

    async def _commit(self, jsons: list[dict[str, Any]], emit: Emit) -> None:
        """Every layer is registered: write the config, then the reference (never a half image)."""
        diff_ids = [self.diff_ids[v1] for v1 in self.ancestry]
        key = str(self.ref)
        async with self.daemon.image_lock:
            image_id = self.daemon.images.create(image_config(jsons, diff_ids))
            previous = self.daemon.references.get(key)
            self.daemon.references.add(key, image_id)
        chains = chain_ids(diff_ids)
        rows = [
            (v1, self.parents[v1], d, c) for v1, d, c in zip(self.ancestry, diff_ids, chains, strict=True)
        ]
        self.daemon.v1ids.record(rows, image_id, prefer=True)
        self.daemon.events.emit("image", "pull", key, {"name": key})
        log.info("image.pulled", reference=key, image_id=image_id, layers=len(diff_ids))
        if previous == image_id:
            emit(status(f"Status: Image is up to date for {key}"))
        else:
            emit(status(f"Status: Downloaded newer image for {key}"))
