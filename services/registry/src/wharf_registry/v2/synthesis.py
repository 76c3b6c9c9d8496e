"""One storage, both protocols: v1 images served as schema-2 manifests, v2 images as v1 images.

**v1 → v2.** A tag that names a v1 image is served over v2 as a Docker schema-2 manifest
synthesised from the image's ancestry: one layer per image (base first), each the v1 layer file
itself (``blobs/.../link`` names it: nothing is copied), and a config made from the top image's
JSON with ``rootfs.diff_ids`` and a ``history`` entry per image. A layer's digest, size and
diff id are computed once and kept in ``images/<id>/_blob``. Everything is serialised with sorted
keys from what is stored, so the same image always gives the same digests.

**v2 → v1.** A tag that names a single-platform manifest (or an index with a linux/amd64 one)
is served over v1 as a chain of v1 images, one per layer. Their ids are derived from the layer
digests and the config digest (``sha256(parent id, layer digest[, config digest])``), so they are
stable too; each image's ``_blob`` names the blob that is its layer. The top image's JSON is the
config (without ``rootfs`` and ``history``) plus ``id`` and ``parent``. Written once per manifest
(``blobs/.../v1`` remembers the top id). Artifacts and other platforms are not pullable over v1.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import structlog
from wharf_common import jsonsafe

from ..errors import ImageInProgress, ImageNotFound
from ..layers import LayerService
from ..names import RepositoryName, check_image_id
from ..storage import paths
from ..storage.base import CHUNK_SIZE, PathNotFound, StorageDriver, get_bytes, put_bytes
from ..tags import TagService
from .blobs import BlobStore
from .errors import ManifestUnknown, V2Error
from .manifests import ManifestService
from .models import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from .names import Digest

log = structlog.get_logger(__name__)

DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
IMAGE_CONFIGS = frozenset({DOCKER_CONFIG, OCI_CONFIG})
_CONFIG_KEYS = (
    "architecture",
    "os",
    "variant",
    "config",
    "container_config",
    "created",
    "author",
    "docker_version",
    "container",
    "comment",
    "os.version",
    "os.features",
)
_V1_DROPPED = ("rootfs", "history")


class Synthesis:
    def __init__(
        self,
        storage: StorageDriver,
        blobs: BlobStore,
        manifests: ManifestService,
        layers: LayerService,
        tags: TagService,
    ) -> None:
        self.storage = storage
        self.blobs = blobs
        self.manifests = manifests
        self.layers = layers
        self.tags = tags
        self._lock = asyncio.Lock()

    # ---- v1 → v2 --------------------------------------------------------------------------

    async def manifest_of(self, repo: RepositoryName, image_id: str) -> Digest:
        """The schema-2 manifest of a v1 image, stored and linked into ``repo`` (the first time)."""
        try:
            chain = list(reversed(await self.layers.ancestry(image_id)))
        except (ImageNotFound, ImageInProgress) as exc:  # the tag names nothing pullable
            raise ManifestUnknown(image_id) from exc
        jsons = [await self._v1_json(i) for i in chain]
        layers = [await self.layer_blob(i) for i in chain]
        top = jsons[-1]
        config: dict[str, Any] = {k: top[k] for k in _CONFIG_KEYS if k in top}
        config.setdefault("architecture", "amd64")
        config.setdefault("os", "linux")
        config["rootfs"] = {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}
        config["history"] = [_history(data) for data in jsons]
        config_raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        config_digest = Digest(hashlib.sha256(config_raw).hexdigest())
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(config_raw), "digest": str(config_digest)},
            "layers": [
                {"mediaType": layer["media_type"], "size": layer["size"], "digest": layer["digest"]}
                for layer in layers
            ],
        }
        raw = json.dumps(manifest, indent=3).encode()
        digest = Digest(hashlib.sha256(raw).hexdigest())
        if await self.manifests.holds(repo, digest) is None:
            await self.blobs.put_small(config_digest, config_raw)
            await self.blobs.link(repo, config_digest)
            for layer in layers:
                await self.blobs.link(repo, Digest.parse(layer["digest"]))
            _media_type, model = parse_manifest(raw, DOCKER_MANIFEST)
            await self.manifests.store(repo, digest, DOCKER_MANIFEST, raw, model)
            await put_bytes(self.storage, paths.manifest_v1(digest.hex), image_id.encode())
            log.info("manifest.synthesised", repository=str(repo), image_id=image_id, digest=str(digest))
        return digest

    async def _v1_json(self, image_id: str) -> dict[str, Any]:
        data = jsonsafe.loads(await get_bytes(self.storage, paths.image_json(image_id)))
        return data if isinstance(data, dict) else {}

    async def layer_blob(self, image_id: str) -> dict[str, Any]:
        """``{"digest", "size", "diff_id", "media_type"}`` of a v1 image's layer; a blob from now on."""
        try:
            record = json.loads(await get_bytes(self.storage, paths.image_blob(image_id)))
            if isinstance(record, dict) and {"digest", "size", "diff_id", "media_type"} <= record.keys():
                return record
        except (PathNotFound, ValueError, UnicodeDecodeError):
            pass
        layer = paths.image_layer(image_id)
        local = self.storage.local_path(layer)
        if local is not None:
            digest, size, diff_id, gzipped = await asyncio.to_thread(_digests_of_file, local)
        else:
            digests = _LayerDigests()
            async for chunk in self.storage.read(layer):
                digests.update(chunk)
            digest, size, diff_id, gzipped = digests.result()
        record = {
            "digest": digest,
            "size": size,
            "diff_id": diff_id,
            "media_type": DOCKER_LAYER if gzipped else DOCKER_LAYER_TAR,
        }
        if await self.blobs.locate(Digest.parse(digest)) is None:
            await put_bytes(self.storage, paths.blob_link(digest[7:]), layer.encode())
        await put_bytes(self.storage, paths.image_blob(image_id), json.dumps(record).encode())
        return record

    # ---- v2 → v1 --------------------------------------------------------------------------

    async def image_of(self, repo: RepositoryName, digest: str) -> str | None:
        """The top v1 image of the manifest ``digest`` names in ``repo``; None if it has none."""
        try:
            manifest_digest = Digest.parse(digest)
            async with self._lock:
                return await self._image_of(repo, manifest_digest)
        except (V2Error, PathNotFound, ValueError, UnicodeDecodeError) as exc:
            log.info("v1.not_synthesised", repository=str(repo), digest=digest, reason=str(exc))
            return None

    async def _image_of(self, repo: RepositoryName, digest: Digest) -> str | None:
        try:
            image_id = (await get_bytes(self.storage, paths.manifest_v1(digest.hex))).decode()
            if await self.layers.is_complete(check_image_id(image_id)):
                return image_id
        except (PathNotFound, UnicodeDecodeError, ValueError):
            pass
        stored = await self.manifests.get(repo, str(digest))
        _media_type, manifest = parse_manifest(stored.raw, stored.media_type)
        if isinstance(manifest, ImageIndex):
            for child in manifest.manifests:
                platform = child.platform
                if platform is not None and (platform.os, platform.architecture) == ("linux", "amd64"):
                    return await self._image_of(repo, Digest.parse(child.digest))
            return None
        if manifest.config.mediaType not in IMAGE_CONFIGS:
            return None  # an artifact
        return await self._write_v1_images(repo, digest, manifest)

    async def _write_v1_images(self, repo: RepositoryName, digest: Digest, manifest: ImageManifest) -> str:
        config_digest = Digest.parse(manifest.config.digest)
        config = jsonsafe.loads(await self.blobs.get_small(config_digest))
        if not isinstance(config, dict):
            raise ManifestUnknown(str(digest))
        history = [h for h in config.get("history") or [] if isinstance(h, dict) and not h.get("empty_layer")]
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        parent: str | None = None
        ancestry: list[str] = []
        for index, layer in enumerate(manifest.layers):
            blob = await self.blobs.stat(repo, Digest.parse(layer.digest))
            top = index == len(manifest.layers) - 1
            seed = f"{parent or ''}\n{layer.digest}\n{config_digest if top else ''}"
            image_id = hashlib.sha256(seed.encode()).hexdigest()
            ancestry.insert(0, image_id)
            if not await self.layers.is_complete(image_id):
                step = history[index] if index < len(history) else {}
                data = _v1_image(config, step, top=top)
                data.update({"id": image_id, "Size": blob.size, **({"parent": parent} if parent else {})})
                record = {
                    "digest": layer.digest,
                    "size": blob.size,
                    "media_type": layer.mediaType,
                    "diff_id": diff_ids[index] if index < len(diff_ids) else None,
                    "path": blob.path,
                }
                image_json = json.dumps(data, sort_keys=True).encode()
                await put_bytes(self.storage, paths.image_blob(image_id), json.dumps(record).encode())
                await put_bytes(self.storage, paths.image_json(image_id), image_json)
                await put_bytes(self.storage, paths.image_ancestry(image_id), json.dumps(ancestry).encode())
                await put_bytes(self.storage, paths.image_checksum(image_id), b"[]")
            parent = image_id
        if parent is None:
            raise ManifestUnknown(str(digest))  # no layers: nothing a v1 client can pull
        await put_bytes(self.storage, paths.manifest_v1(digest.hex), parent.encode())
        log.info("v1.synthesised", repository=str(repo), digest=str(digest), image_id=parent)
        return parent


def _v1_image(config: dict[str, Any], step: dict[str, Any], *, top: bool) -> dict[str, Any]:
    """The v1 JSON of a layer of a v2 image (without id and parent): the config for the top one."""
    if top:
        return {k: v for k, v in config.items() if k not in _V1_DROPPED}
    return {
        "created": step.get("created", config.get("created")),
        "container_config": {"Cmd": [step.get("created_by", "")]},
        "os": config.get("os", "linux"),
        "architecture": config.get("architecture", "amd64"),
    }


def _history(data: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if isinstance(data.get("created"), str):
        entry["created"] = data["created"]
    container_config = data.get("container_config")
    cmd = container_config.get("Cmd") if isinstance(container_config, dict) else None
    if isinstance(cmd, list):
        entry["created_by"] = " ".join(str(c) for c in cmd)
    return entry


class _LayerDigests:
    """sha256 of a layer as stored, and of its tar (gunzipped when it is gzip): digest and diff id."""

    def __init__(self) -> None:
        self.raw = hashlib.sha256()
        self.tar = hashlib.sha256()
        self.size = 0
        self.gzipped: bool | None = None
        self._inflate: Any = None
        self._broken = False  # not gzip after all: the diff id is the digest

    def update(self, chunk: bytes) -> None:
        if self.gzipped is None:
            self.gzipped = chunk[:2] == b"\x1f\x8b"
            self._inflate = zlib.decompressobj(31) if self.gzipped else None
        self.raw.update(chunk)
        self.size += len(chunk)
        if not self.gzipped:
            self.tar.update(chunk)
            return
        if self._broken:
            return
        data = chunk
        try:
            while data:  # (bounded output per call: a small chunk may inflate to a lot)
                self.tar.update(self._inflate.decompress(data, CHUNK_SIZE))
                if self._inflate.unconsumed_tail:
                    data = self._inflate.unconsumed_tail
                    continue
                data = self._inflate.unused_data
                if data:  # another gzip member
                    self._inflate = zlib.decompressobj(31)
        except zlib.error:
            self._broken = True

    def result(self) -> tuple[str, int, str, bool]:
        digest = f"sha256:{self.raw.hexdigest()}"
        if self._broken:
            return digest, self.size, digest, False
        if self._inflate is not None:
            self.tar.update(self._inflate.flush())
        return digest, self.size, f"sha256:{self.tar.hexdigest()}", bool(self.gzipped)


def _digests_of_file(path: Path) -> tuple[str, int, str, bool]:
    digests = _LayerDigests()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digests.update(chunk)
    return digests.result()
