"""Manifests: verified, stored once by digest as blobs, linked into repositories, named by tags.

``PUT`` checks everything before anything is visible: the size limit (413), the format (schema
1 is refused with a message saying so), the digest the URL names (if it names one), and that
every blob and child manifest the manifest references is in the repository
(``MANIFEST_BLOB_UNKNOWN``). Then the bytes are stored as a blob, the repository's link is
written, then the tag (tags are one namespace with v1's: :class:`~wharf_registry.tags.TagService`).
A manifest with a ``subject`` is recorded as one of its subject's referrers.

A tag that names a v1 image (pushed over v1) is served as a synthesised schema-2 manifest
(:mod:`wharf_registry.v2.synthesis`). Listeners hear of every push (the hub counts them) and
of every delete (the tags it removed, so the hub's tag list follows).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from ..errors import TagNotFound, UploadTooLarge
from ..names import RepositoryName
from ..quotas import capped
from ..storage import paths
from ..storage.base import PathNotFound, StorageDriver, get_bytes, put_bytes
from ..tags import TagService
from . import names
from .blobs import BlobStore
from .errors import DigestInvalid, ManifestBlobUnknown, ManifestUnknown, TooLarge, V2Error
from .models import INDEXES, ImageIndex, ImageManifest, Manifest, descriptor_json, parse_manifest
from .names import Digest
from .uploads import V2Limits

log = structlog.get_logger(__name__)


class ManifestPushed(Protocol):
    """Told of each manifest stored: ``(repository "ns/repo", tag or None, digest, user or None)``."""

    async def __call__(self, repository: str, tag: str | None, digest: str, user: str | None) -> None: ...


class ManifestDeleted(Protocol):
    """Told of each manifest or tag deleted: ``(repository, the tags removed, digest or None, user)``."""

    async def __call__(
        self, repository: str, tags: list[str], digest: str | None, user: str | None
    ) -> None: ...


class V1Images(Protocol):
    """:class:`~wharf_registry.v2.synthesis.Synthesis`: v1 images as manifests."""

    async def manifest_of(self, repo: RepositoryName, image_id: str) -> Digest: ...


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    media_type: str
    raw: bytes


class ManifestService:
    def __init__(self, storage: StorageDriver, blobs: BlobStore, tags: TagService, limits: V2Limits) -> None:
        self.storage = storage
        self.blobs = blobs
        self.tags = tags
        self.limits = limits
        self.v1: V1Images | None = None
        self.listeners: list[ManifestPushed] = []
        self.delete_listeners: list[ManifestDeleted] = []

    async def read_body(self, chunks: AsyncIterable[bytes], length: int | None) -> bytes:
        limit = self.limits.max_manifest_size
        body = bytearray()
        try:
            async for chunk in capped(chunks, limit, "Manifest", length):
                body += chunk
        except UploadTooLarge:
            raise TooLarge("Manifest", limit) from None
        return bytes(body)

    # ---- reads ------------------------------------------------------------------------

    async def holds(self, repo: RepositoryName, digest: Digest) -> str | None:
        """The manifest's media type if ``repo`` holds it, else None."""
        try:
            link = json.loads(
                await get_bytes(
                    self.storage, paths.repository_manifest(repo.namespace, repo.repo, digest.hex)
                )
            )
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None
        media_type = link.get("mediaType") if isinstance(link, dict) else None
        return media_type if isinstance(media_type, str) else None

    async def resolve(self, repo: RepositoryName, reference: str) -> Digest:
        """The digest a tag or digest reference names in ``repo``."""
        if names.is_digest(reference):
            return Digest.parse(reference)
        tag = names.tag(reference)
        try:
            target = await self.tags.tag_target(repo, tag)
        except TagNotFound:
            raise ManifestUnknown(reference) from None
        if target.startswith(paths.DIGEST_PREFIX):
            return Digest.parse(target)
        if self.v1 is None:
            raise ManifestUnknown(reference)
        return await self.v1.manifest_of(repo, target)  # pushed over v1: served as schema 2

    async def get(self, repo: RepositoryName, reference: str) -> StoredManifest:
        digest = await self.resolve(repo, reference)
        media_type = await self.holds(repo, digest)
        if media_type is None:
            raise ManifestUnknown(reference)
        try:
            raw = await self.blobs.get_small(digest)
        except PathNotFound:
            raise ManifestUnknown(reference) from None
        return StoredManifest(digest, media_type, raw)

    # ---- writes -----------------------------------------------------------------------

    async def put(
        self,
        repo: RepositoryName,
        reference: str,
        raw: bytes,
        content_type: str | None,
        *,
        user: str | None = None,
        user_agent: str = "",
    ) -> tuple[StoredManifest, Manifest]:
        tag = None if names.is_digest(reference) else names.tag(reference)
        digest = Digest(hashlib.sha256(raw).hexdigest())
        if tag is None and Digest.parse(reference) != digest:
            raise DigestInvalid(
                "the manifest's digest is not the one in the URL", {"digest": reference[:140]}
            )
        media_type, manifest = parse_manifest(raw, content_type)
        await self._check_references(repo, manifest)
        await self.store(repo, digest, media_type, raw, manifest)
        if tag is not None:
            await self.tags.put_manifest_tag(repo, tag, str(digest), user_agent)
        log.info("manifest.stored", repository=str(repo), tag=tag, digest=str(digest), media_type=media_type)
        for listener in self.listeners:
            await listener(str(repo), tag, str(digest), user)
        return StoredManifest(digest, media_type, raw), manifest

    async def store(
        self, repo: RepositoryName, digest: Digest, media_type: str, raw: bytes, manifest: Manifest
    ) -> None:
        """Bytes, the repository's link, the referrer record: what a verified manifest needs."""
        await self.blobs.put_small(digest, raw)
        link = json.dumps({"mediaType": media_type}).encode()
        await put_bytes(self.storage, paths.repository_manifest(repo.namespace, repo.repo, digest.hex), link)
        if manifest.subject is not None:
            subject = Digest.parse(manifest.subject.digest)
            artifact_type = manifest.artifactType
            if artifact_type is None and isinstance(manifest, ImageManifest):
                artifact_type = manifest.config.mediaType
            record = descriptor_json(
                media_type,
                str(digest),
                len(raw),
                artifactType=artifact_type,
                annotations=manifest.annotations,
            )
            path = paths.referrer(repo.namespace, repo.repo, subject.hex, digest.hex)
            await put_bytes(self.storage, path, json.dumps(record).encode())

    async def _check_references(self, repo: RepositoryName, manifest: Manifest) -> None:
        if isinstance(manifest, ImageIndex):
            for child in manifest.manifests:
                if await self.holds(repo, Digest.parse(child.digest)) is None:
                    raise ManifestBlobUnknown(child.digest)
            return
        digests = []
        for descriptor in [manifest.config, *manifest.layers]:
            digest = Digest.parse(descriptor.digest)
            if descriptor.urls:  # a foreign layer: its bytes are elsewhere
                continue
            info = await self.blobs.locate(digest) if await self.blobs.held(repo, digest) else None
            if info is None:
                raise ManifestBlobUnknown(descriptor.digest)
            digests.append(digest)
        await self.blobs.make_durable(digests)  # the commit point: its blobs on disk first

    async def delete(self, repo: RepositoryName, reference: str, *, user: str | None = None) -> None:
        """By digest: the repository forgets the manifest and the tags naming it; by tag: the tag."""
        if not names.is_digest(reference):
            tag = names.tag(reference)
            try:
                await self.tags.delete_tag(repo, tag)
            except TagNotFound:
                raise ManifestUnknown(reference) from None
            await self._deleted(repo, [tag], None, user)
            return
        digest = Digest.parse(reference)
        if await self.holds(repo, digest) is None:
            raise ManifestUnknown(reference)
        removed = []
        for tag in await self.tags.tag_names(repo):
            try:
                if await self.tags.tag_target(repo, tag) == str(digest):
                    await self.tags.delete_tag(repo, tag)
                    removed.append(tag)
            except TagNotFound:
                continue
        try:
            raw = await self.blobs.get_small(digest)
            _media_type, manifest = parse_manifest(raw, None)
        except (V2Error, PathNotFound):  # a stored manifest always parses: a subject is a bonus
            manifest = None
        if manifest is not None and manifest.subject is not None:
            subject = Digest.parse(manifest.subject.digest)
            await _delete_quietly(
                self.storage, paths.referrer(repo.namespace, repo.repo, subject.hex, digest.hex)
            )
        await _delete_quietly(self.storage, paths.repository_manifest(repo.namespace, repo.repo, digest.hex))
        log.info("manifest.deleted", repository=str(repo), digest=str(digest), tags=removed)
        await self._deleted(repo, removed, str(digest), user)

    async def _deleted(
        self, repo: RepositoryName, tags: list[str], digest: str | None, user: str | None
    ) -> None:
        for listener in self.delete_listeners:
            await listener(str(repo), tags, digest, user)


async def _delete_quietly(storage: StorageDriver, path: str) -> None:
    try:
        await storage.delete(path)
    except PathNotFound:
        pass


def is_index(media_type: str) -> bool:
    return media_type in INDEXES


Hook = Callable[[str, str | None, str, str | None], Awaitable[None]]

__all__ = [
    "Hook",
    "ManifestDeleted",
    "ManifestPushed",
    "ManifestService",
    "StoredManifest",
    "V1Images",
    "is_index",
]
