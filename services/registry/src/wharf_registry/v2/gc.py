"""What garbage collection keeps of the v2 side, and the blobs and upload sessions it removes.

:func:`wharf_registry.gc.plan` asks :func:`mark` first: every manifest a repository holds is
kept (it can be pulled by digest), with everything it references (config, layers, child
manifests). Its answer feeds the v1 mark: the v1 images synthesised from a kept manifest and
the v1 layers a kept blob links to are roots of the v1 ancestry walk, so neither protocol
collects what the other still serves. Then :func:`unreferenced_blobs` lists the blobs no kept
manifest and no kept v1 image (``images/<id>/_blob``) references, older than the grace period
(a push in flight uploads its blobs before its manifest), and :func:`expired_uploads` the
upload sessions older than their lifetime.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..storage import paths
from ..storage.base import PathNotFound, StorageDriver, get_bytes
from .errors import V2Error
from .models import ImageIndex, parse_manifest
from .names import Digest

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class BlobRemoval:
    digest: str
    size: int

    def line(self, dry_run: bool) -> str:
        return f"{'would remove' if dry_run else 'removed'} blob {self.digest}: {self.size} bytes"


@dataclass(slots=True)
class V2Marks:
    manifests: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    """Hex digests of the blobs the kept manifests reference (manifests included)."""
    v1_roots: dict[str, list[str]] = field(default_factory=dict)
    """v1 image id → why it is kept (``ns/repo@sha256:…``)."""


async def mark(storage: StorageDriver) -> V2Marks:
    marks = V2Marks()
    pending: list[tuple[str, str, str | None]] = []  # (hex, label, media type)
    for namespace in await storage.list(paths.REPOSITORIES):
        for repo in await storage.list(f"{paths.REPOSITORIES}/{namespace}"):
            for hex_digest in await storage.list(paths.repository_manifests(namespace, repo)):
                media_type = None
                try:
                    link = json.loads(
                        await get_bytes(storage, paths.repository_manifest(namespace, repo, hex_digest))
                    )
                    media_type = link.get("mediaType") if isinstance(link, dict) else None
                except (PathNotFound, ValueError, UnicodeDecodeError):
                    pass
                pending.append((hex_digest, f"{namespace}/{repo}@sha256:{hex_digest}", media_type))
    while pending:
        hex_digest, label, media_type = pending.pop()
        if hex_digest in marks.manifests or not _is_hex(hex_digest):
            continue
        marks.manifests.add(hex_digest)
        marks.blobs.add(hex_digest)
        try:
            image_id = (await get_bytes(storage, paths.manifest_v1(hex_digest))).decode()
            marks.v1_roots.setdefault(image_id, []).append(label)
        except (PathNotFound, UnicodeDecodeError):
            pass
        try:
            raw = await get_bytes(storage, paths.blob_data(hex_digest))
            _type, manifest = parse_manifest(raw, media_type)
        except (PathNotFound, V2Error):
            continue  # gone, or never a manifest: nothing more to keep through it
        if isinstance(manifest, ImageIndex):
            for child in manifest.manifests:
                pending.append((_hex_of(child.digest), label, child.mediaType))
            continue
        for descriptor in [manifest.config, *manifest.layers]:
            blob = _hex_of(descriptor.digest)
            marks.blobs.add(blob)
            try:  # a v1 layer serving as this blob: its image is kept too
                target = (await get_bytes(storage, paths.blob_link(blob))).decode()
            except (PathNotFound, UnicodeDecodeError):
                continue
            parts = target.split("/")
            if len(parts) == 3 and parts[0] == paths.IMAGES:
                marks.v1_roots.setdefault(parts[1], []).append(label)
    return marks


async def stored_blobs(storage: StorageDriver) -> dict[str, tuple[int, float | None]]:
    """Every blob stored: hex → (size of its data, modification time if the driver tells)."""
    found: dict[str, tuple[int, float | None]] = {}
    for prefix in await storage.list(f"{paths.BLOBS}/sha256"):
        for hex_digest in await storage.list(f"{paths.BLOBS}/sha256/{prefix}"):
            if not _is_hex(hex_digest):
                continue
            size, mtime = 0, None
            for name in await storage.list(paths.blob_dir(hex_digest)):
                path = f"{paths.blob_dir(hex_digest)}/{name}"
                try:
                    size += await storage.size(path)
                except PathNotFound:
                    continue
                local = storage.local_path(path)
                if local is not None:
                    try:
                        stamp = local.stat().st_mtime
                    except FileNotFoundError:
                        continue
                    mtime = stamp if mtime is None else max(mtime, stamp)
            found[hex_digest] = (size, mtime)
    return found


def unreferenced_blobs(
    stored: dict[str, tuple[int, float | None]], keep: set[str], *, grace: float, now: float
) -> list[BlobRemoval]:
    removals = []
    for hex_digest, (size, mtime) in sorted(stored.items()):
        if hex_digest in keep:
            continue
        if grace > 0 and (mtime is None or now - mtime < grace):
            continue
        removals.append(BlobRemoval(f"sha256:{hex_digest}", size))
    return removals


async def remove_blob(storage: StorageDriver, removal: BlobRemoval) -> None:
    try:
        await storage.delete(paths.blob_dir(Digest.parse(removal.digest).hex))
    except PathNotFound:
        pass


async def expired_uploads(storage: StorageDriver, ttl: float, now: float | None = None) -> list[str]:
    """Upload sessions older than ``ttl`` seconds."""
    now = time.time() if now is None else now
    expired = []
    for upload_id in await storage.list(paths.UPLOADS):
        try:
            info = json.loads(await get_bytes(storage, paths.upload_info(upload_id)))
            started = info.get("started") if isinstance(info, dict) else None
        except (PathNotFound, ValueError, UnicodeDecodeError):
            continue  # (being created: its info is the first thing written)
        if not isinstance(started, int | float) or now - started > ttl:
            expired.append(upload_id)
    return expired


def _is_hex(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


def _hex_of(digest: str) -> str:
    try:
        return Digest.parse(digest).hex
    except V2Error:
        return ""
