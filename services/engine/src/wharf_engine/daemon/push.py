"""ImagePush (``POST /images/{name}/push``): the v1 push of protocols.md A.7.

Each local layer becomes a v1 image (:func:`wharf_engine.distribution.v1.v1_chain`). The index
``PUT`` announces the list (a hub checks the password there and answers a write token and the
registries; a standalone registry is its own index); then, on each registry, a ``GET json``
per layer finds what it already has; the JSONs of the others go one after the other, root
first (``PUT json``: a registry wants the parent's before the child's), each layer following
its JSON, a few at once (``PUT layer`` as gzip, ``PUT checksum``; the first compressed while it
is sent, the others into temporary files meanwhile); then the tags and the final ``PUT
…/images`` with one entry per tag and the checksums. A layer the registry has is never sent
again, provided it is this engine's content: "already there" (``GET json`` 200, ``PUT json``
409) counts only when the registry's payload checksum is the one this engine recorded for that
v1 id when it pushed or pulled it; otherwise the layer goes out anyway and the registry checks
the bytes against what it stores (an id another pushed with other content fails the push: the
engine never tags content it did not push).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import structlog
from wharf_common.errors import InvalidArgument, NotFound, WharfError
from wharf_common.reference import ImageReference, InvalidReference, is_valid_tag, parse_reference

from wharf_engine.distribution import AuthConfig, RegistryClient, Session
from wharf_engine.distribution.names import v2_repository
from wharf_engine.distribution.progress import (
    Emit,
    Message,
    layer_status,
    pushing,
    run_with_progress,
    status,
)
from wharf_engine.distribution.v1 import V1Layer, v1_chain

from .push_layers import Export, LiveLayer, Payload, spool
from .push_v2 import image_push_v2, push_targets

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

PARALLEL_COMPRESS = 3
COMPRESS_THREADS = min(4, os.cpu_count() or 2)  # per layer: blocks deflated side by side
PARALLEL_CHECKS = 5
PARALLEL_UPLOADS = 3
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Target:
    tag: str
    image_id: str
    chain: list[V1Layer]


@dataclass(frozen=True, slots=True)
class _Prepared:
    path: Path  # the gzip body, compressed ahead
    payload: Payload


def _targets(daemon: Daemon, name: str, tag: str | None) -> tuple[ImageReference, list[_Target]]:
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
    pairs = [
        (key.rpartition(":")[2], image_id)
        for key, image_id in daemon.references.items()
        if key.rpartition(":")[0] == repository and (not tag or key == f"{repository}:{tag}")
    ]
    if not pairs:
        raise NotFound(f"An image does not exist locally with the tag: {repository}")
    targets = []
    for t, image_id in pairs:
        config = daemon.images.get(image_id)
        sizes = [daemon.layers.get(d).size for d in config.get("rootfs", {}).get("diff_ids", [])]
        if not sizes:
            raise InvalidArgument(f"image {repository}:{t} has no layers: a v1 registry cannot store it")
        targets.append(_Target(t, image_id, v1_chain(image_id, config, sizes, daemon.v1ids)))
    return ImageReference(ref.domain, ref.path), targets


async def image_push(
    daemon: Daemon, name: str, tag: str | None, auth: AuthConfig
) -> AsyncGenerator[Message, None]:
    """v2 when the registry answers ``GET /v2/`` (:mod:`.push_v2`), else v1."""
    ref, found = push_targets(daemon, name, tag)
    repository = daemon.registries.repository(ref)
    v2 = await daemon.registries.negotiate_v2(repository.index)
    if v2 is not None:
        target = v2_repository(repository, ref, v2.endpoint)
        pushing = image_push_v2(daemon, ref, found, target, auth, v2.challenges)
    else:
        pushing = image_push_v1(daemon, name, tag, auth)
    async for message in pushing:
        yield message


async def image_push_v1(
    daemon: Daemon, name: str, tag: str | None, auth: AuthConfig
) -> AsyncGenerator[Message, None]:
    ref, targets = _targets(daemon, name, tag)
    async with await daemon.registries.session(daemon.registries.repository(ref), auth) as session:
        yield status(f"The push refers to repository [{ref.full_name}]")
        job = _Push(daemon, session, ref.repository, targets)
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
    def __init__(self, daemon: Daemon, session: Session, repository: str, targets: list[_Target]):
        self.daemon = daemon
        self.session = session
        self.remote = session.remote
        self.repository = repository  # the local name, for events
        self.targets = targets
        self.layers: dict[str, V1Layer] = {}  # root first, each v1 image once
        for target in targets:
            for layer in target.chain:
                self.layers.setdefault(layer.v1_id, layer)
        self.spool_dir: Path | None = None  # this push's temporary files, made on first use

    def _image_list(self) -> list[dict[str, str]]:
        """Step 3's list: every image once, root first; a tagged one once per tag (M15)."""
        tags: dict[str, list[str]] = {}
        for target in self.targets:
            tags.setdefault(target.chain[-1].v1_id, []).append(target.tag)
        return [
            {"id": v1_id, **({"Tag": tag} if tag else {})}
            for v1_id in self.layers
            for tag in tags.get(v1_id, [""])
        ]

    def _pushed_list(self, checksums: dict[str, str]) -> list[dict[str, str]]:
        """The final ``PUT …/images``: one entry per tag (a hub fires webhooks), then checksums."""
        entries, tops = [], set()
        for target in self.targets:
            top = target.chain[-1].v1_id
            tops.add(top)
            entries.append(
                {"id": top, "Tag": target.tag, **({"checksum": checksums[top]} if top in checksums else {})}
            )
        entries += [{"id": v1_id, "checksum": c} for v1_id, c in checksums.items() if v1_id not in tops]
        return entries

    async def run(self, emit: Emit) -> None:
        for v1_id in self.layers:
            emit(layer_status(v1_id[:12], "Preparing"))
        checksums: dict[str, str] = {}
        for client in await self.session.writers(self._image_list()):
            checksums.update(await self._upload(client, emit))
        for target in self.targets:
            rows = [(layer.v1_id, layer.parent, layer.diff_id, layer.chain_id) for layer in target.chain]
            self.daemon.v1ids.record(rows, target.image_id)
        self.daemon.v1ids.remember_pushed(
            checksums, {v1_id: layer.raw for v1_id, layer in self.layers.items()}
        )
        await self.session.finish(self._pushed_list(checksums))
        for target in self.targets:
            name = f"{self.repository}:{target.tag}"
            self.daemon.events.emit("image", "push", name, {"name": name})
            log.info("image.pushed", reference=name, pushed=len(checksums), layers=len(target.chain))
            emit(status(f"{target.tag}: pushed image {target.chain[-1].v1_id}"))

    async def _upload(self, client: RegistryClient, emit: Emit) -> dict[str, str]:
        """The layers ``client``'s registry lacks, then the tags: their checksums.

        The JSONs go one after the other, root first (a registry wants an image's parent before
        it); each layer follows its JSON, a few at once, while the next JSONs go out: the first
        layer compressed while it is sent, the others into temporary files meanwhile."""
        missing = await self._missing(client, emit)
        checksums: dict[str, str] = {}
        compressing = asyncio.Semaphore(PARALLEL_COMPRESS)
        prepared = {
            v1: asyncio.ensure_future(self._prepare(self.layers[v1], compressing)) for v1 in missing[1:]
        }
        announced: dict[str, asyncio.Future[bool]] = {
            v1: asyncio.get_running_loop().create_future() for v1 in missing
        }
        sending = asyncio.Semaphore(PARALLEL_UPLOADS)

        async def announce_all() -> None:
            for v1_id in missing:
                announced[v1_id].set_result(await self._announce(client, v1_id, emit))

        async def send(v1_id: str) -> None:
            if not await announced[v1_id]:
                return  # the registry has it complete
            async with sending:
                ready = await prepared[v1_id] if v1_id in prepared else None
                checksums[v1_id] = await self._send(client, self.layers[v1_id], ready, emit)

        tasks = [asyncio.ensure_future(announce_all()), *(asyncio.ensure_future(send(v1)) for v1 in missing)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in [*tasks, *prepared.values()]:
                task.cancel()
            for future in announced.values():
                future.cancel()
            await asyncio.gather(*tasks, *prepared.values(), return_exceptions=True)
            if self.spool_dir is not None:
                shutil.rmtree(self.spool_dir, ignore_errors=True)
                self.spool_dir = None
        for target in self.targets:
            await client.put_tag(self.remote, target.tag, target.chain[-1].v1_id)
        return checksums

    async def _missing(self, client: RegistryClient, emit: Emit) -> list[str]:
        slots = asyncio.Semaphore(PARALLEL_CHECKS)

        async def present(v1_id: str) -> bool:
            async with slots:
                return await self._has_ours(client, v1_id)

        found = await asyncio.gather(*(present(v1_id) for v1_id in self.layers))
        missing = []
        for v1_id, there in zip(self.layers, found, strict=True):
            if there:
                emit(layer_status(v1_id[:12], "Layer already exists"))
            else:
                missing.append(v1_id)
                emit(layer_status(v1_id[:12], "Waiting"))
        return missing

    async def _prepare(self, layer: V1Layer, slots: asyncio.Semaphore) -> _Prepared:
        """The layer tar through gzip into a temporary file, hashing what will be sent."""
        async with slots:
            if self.spool_dir is None:  # one directory per push: no file is created on the loop
                self.spool_dir = Path(tempfile.mkdtemp(prefix="push-", dir=self.daemon.layers.tmp))
            path = self.spool_dir / f"{layer.v1_id}.gz"
            payload = await asyncio.to_thread(spool, self._export(layer), layer.raw, path, COMPRESS_THREADS)
            return _Prepared(path, payload)

    def _export(self, layer: V1Layer) -> Export:
        return lambda out: self.daemon.layers.export(layer.diff_id, out)

    async def _has_ours(self, client: RegistryClient, v1_id: str, *, exists: bool = False) -> bool:
        """Whether the registry has ``v1_id`` complete with this engine's content: its payload
        checksum is the one recorded for ``v1_id``. ``exists``: the registry said "already
        exists" but may not show the image to a write token (a registry older than wharf's, which
        answers that only for images of the token's repository): then its word is taken."""
        stored = await client.stored_checksum(v1_id)
        if stored is None:
            return exists
        return stored == self.daemon.v1ids.checksum(v1_id)

    async def _announce(self, client: RegistryClient, v1_id: str, emit: Emit) -> bool:
        """``PUT json``; False when the registry has the image complete with this engine's content
        (pushed meanwhile). Complete with another checksum (or one this engine does not know):
        True, the layer goes out and the registry compares it with what it has."""
        if await client.put_image_json(v1_id, self.layers[v1_id].raw):
            return True
        if not await self._has_ours(client, v1_id, exists=True):
            log.info("image.push_verifies_existing", v1_id=v1_id)
            return True
        emit(layer_status(v1_id[:12], "Layer already exists"))
        return False

    async def _send(
        self, client: RegistryClient, layer: V1Layer, prepared: _Prepared | None, emit: Emit
    ) -> str:
        short = layer.v1_id[:12]
        if prepared is not None:
            await client.put_layer(
                layer.v1_id, pushing(self._read(prepared.path), prepared.payload.size, short, emit)
            )
            payload = prepared.payload
        else:
            live = LiveLayer(self._export(layer), layer.raw, COMPRESS_THREADS)
            try:
                estimate = self.daemon.layers.get(layer.diff_id).size
                await client.put_layer(layer.v1_id, pushing(live.chunks(), estimate, short, emit))
            finally:
                live.close()
            assert live.payload is not None  # every chunk went out
            payload = live.payload
        await client.put_checksum(layer.v1_id, payload.checksum)
        emit(layer_status(short, "Pushed"))
        return payload.checksum

    @staticmethod
    async def _read(path: Path) -> AsyncIterator[bytes]:
        """The spooled body; the file is removed as its last chunk is read (in the same hop to a
        thread: a small layer is opened, read and removed in one)."""
        f: BinaryIO | None = None
        done = False

        def next_chunk() -> bytes:
            nonlocal f, done
            if done:
                return b""
            if f is None:
                f = path.open("rb")
            chunk = f.read(CHUNK)
            if len(chunk) < CHUNK:
                done = True
                f.close()
                path.unlink(missing_ok=True)
            return chunk

        try:
            while chunk := await asyncio.to_thread(next_chunk):
                yield chunk
        finally:
            if f is not None:
                f.close()
