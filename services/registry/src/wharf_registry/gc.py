"""Garbage collection: remove the image objects no tag of any repository reaches.

An image is *reachable* when a tag names it or it is in the ancestry of an image a tag
names, or when a kept v2 manifest was synthesised from it or serves its layer as a blob
(:mod:`wharf_registry.v2.gc`: every manifest a repository holds is kept, with the blobs it
references; other blobs older than ``grace`` are removed, and upload sessions past their
lifetime). ``wharf-registry gc`` removes every object under ``images/<id>/`` (JSON, ancestry,
layer, checksum, uploads) of the images that are not (and the repositories' records of their
pushes, ``repositories/<ns>/<repo>/_images/<id>``), and the upload leftovers of complete
images (uploads whose checksum never came). Then it counts each namespace's quota usage again
(:func:`recount`): the layers its repositories published that are still stored, each once.

It is safe beside a running registry:

* an image with any object younger than ``grace`` seconds (default an hour) is kept, and so
  is its whole ancestry, so a push in flight (JSON stored, layer streaming, tag not yet
  written) and the parents it refers to are never collected; a write still streaming (a
  filesystem temp file, an S3 multipart upload) keeps its image too;
* the mark is done twice, the second time just before anything is removed, and only images
  unreachable both times go; an image's JSON goes first, so it disappears at once.

Object ages come from the filesystem (``mtime``) or S3 (``LastModified``); for a driver that
gives none, every object counts as young unless ``grace`` is 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from .storage import paths
from .storage.base import PathNotFound, StorageDriver, get_bytes
from .storage.filesystem import FilesystemDriver
from .storage.s3 import S3Driver
from .v2 import gc as v2gc

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

log = structlog.get_logger(__name__)

DEFAULT_GRACE = 3600.0
DEFAULT_UPLOAD_TTL = 86400.0
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
_UPLOADS = "_uploads"


class GcRefused(Exception):
    """The storage is not in a state where reachability can be trusted: nothing is removed."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    path: str
    """Relative to ``images/<id>/`` (``json``, ``_uploads/<u>``, ``.tmp-...``)."""
    size: int
    mtime: float | None
    """Seconds since the epoch; ``None`` when the driver cannot tell."""

    @property
    def hidden(self) -> bool:
        """A driver's own temp object (a write in progress), not addressable through the driver."""
        return any(part.startswith(".") for part in self.path.split("/"))


@dataclass(frozen=True, slots=True)
class Removal:
    image_id: str
    objects: tuple[StoredObject, ...]
    uploads_only: bool = False
    """Only upload leftovers of a (kept) complete image, not the image."""

    @property
    def size(self) -> int:
        return sum(o.size for o in self.objects)

    def line(self, dry_run: bool) -> str:
        verb = "would remove" if dry_run else "removed"
        what = f"{self.image_id} upload leftovers" if self.uploads_only else f"image {self.image_id}"
        return f"{verb} {what}: {len(self.objects)} objects, {self.size} bytes"


@dataclass(slots=True)
class GcReport:
    dry_run: bool
    removals: list[Removal] = field(default_factory=list)
    reachable: int = 0
    young: list[str] = field(default_factory=list)
    """Unreachable images kept: younger than the grace period, or ancestors of such an image."""
    blobs: list[v2gc.BlobRemoval] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    """Expired v2 upload sessions."""

    @property
    def reclaimed(self) -> int:
        return sum(r.size for r in self.removals) + sum(b.size for b in self.blobs)

    def lines(self) -> list[str]:
        images = sum(1 for r in self.removals if not r.uploads_only)
        uploads = sum(1 for r in self.removals if r.uploads_only)
        verb = "would be reclaimed" if self.dry_run else "reclaimed"
        total = (
            f"total: {images} images and {uploads} upload leftovers, {len(self.blobs)} blobs, "
            f"{len(self.uploads)} expired upload sessions, {self.reclaimed} bytes {verb}; "
            f"{self.reachable} reachable images kept, "
            f"{len(self.young)} unreachable images younger than grace kept"
        )
        action = "would remove" if self.dry_run else "removed"
        sessions = [f"{action} upload session {u}" for u in self.uploads]
        blobs = [b.line(self.dry_run) for b in self.blobs]
        return [*(r.line(self.dry_run) for r in self.removals), *blobs, *sessions, total]


# ---- what is stored ----------------------------------------------------------------------


async def scan_images(storage: StorageDriver) -> dict[str, list[StoredObject]]:
    """Every object under ``images/``, by image id, with sizes and ages."""
    match storage:
        case FilesystemDriver():
            return await asyncio.to_thread(_scan_filesystem, storage.root / paths.IMAGES)
        case S3Driver():
            return await asyncio.to_thread(_scan_s3, storage)
        case _:
            return await _scan_generic(storage)


def _scan_filesystem(images: Path) -> dict[str, list[StoredObject]]:
    found: dict[str, list[StoredObject]] = {}
    try:
        entries = sorted(os.scandir(images), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        objects = found.setdefault(entry.name, [])
        base = Path(entry.path)
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = Path(dirpath) / name
                try:
                    st = full.lstat()
                except FileNotFoundError:
                    continue  # removed meanwhile
                objects.append(StoredObject(str(full.relative_to(base)), st.st_size, st.st_mtime))
    return found


def _scan_s3(storage: S3Driver) -> dict[str, list[StoredObject]]:
    client: S3Client = storage.client
    prefix = storage.prefix + paths.IMAGES + "/"
    found: dict[str, list[StoredObject]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            image_id, _, rest = obj["Key"][len(prefix) :].partition("/")
            if not image_id or not rest:
                continue
            found.setdefault(image_id, []).append(
                StoredObject(rest, obj.get("Size", 0), obj["LastModified"].timestamp())
            )
    # a multipart upload in progress is no object yet: record it as a young hidden one
    uploads = client.get_paginator("list_multipart_uploads").paginate(Bucket=storage.bucket, Prefix=prefix)
    for listing in uploads:
        for upload in listing.get("Uploads", []):
            image_id, _, rest = upload.get("Key", "")[len(prefix) :].partition("/")
            if image_id and rest:
                found.setdefault(image_id, []).append(StoredObject(f".multipart/{rest}", 0, None))
    return found


async def _scan_generic(storage: StorageDriver) -> dict[str, list[StoredObject]]:
    found: dict[str, list[StoredObject]] = {}
    for image_id in await storage.list(paths.IMAGES):
        objects = found.setdefault(image_id, [])
        pending = [""]
        while pending:
            sub = pending.pop()
            base = paths.image_dir(image_id) + (f"/{sub}" if sub else "")
            for name in await storage.list(base):
                rel = f"{sub}/{name}" if sub else name
                try:
                    size = await storage.size(f"{base}/{name}")
                except PathNotFound:
                    pending.append(rel)  # a "directory"
                    continue
                objects.append(StoredObject(rel, size, None))
    return found


async def tagged_images(storage: StorageDriver) -> dict[str, list[str]]:
    """image id → the ``namespace/repo:tag`` names that point at it, over every repository."""
    tagged: dict[str, list[str]] = {}
    for namespace in await storage.list(paths.REPOSITORIES):
        for repo in await storage.list(f"{paths.REPOSITORIES}/{namespace}"):
            for entry in await storage.list(paths.repository(namespace, repo)):
                if not entry.startswith(paths.TAG_PREFIX):
                    continue
                tag = entry.removeprefix(paths.TAG_PREFIX)
                try:
                    raw = await get_bytes(storage, paths.tag(namespace, repo, tag))
                except PathNotFound:
                    continue  # deleted meanwhile
                image_id = raw.decode(errors="replace").strip()
                if not _IMAGE_ID.fullmatch(image_id):
                    continue  # an older layout's tag metadata ("tag_<x>_json" of tag "_<x>")
                tagged.setdefault(image_id, []).append(f"{namespace}/{repo}:{tag}")
    return tagged


# ---- mark ---------------------------------------------------------------------------------


async def _read_json(storage: StorageDriver, path: str) -> object:
    return json.loads(await get_bytes(storage, path))


async def lineage(storage: StorageDriver, image_id: str) -> list[str] | None:
    """``image_id`` and its ancestors, from its ancestry (or, failing that, JSON parents).

    ``None`` when the image has neither a readable ancestry nor a readable JSON.
    """
    result: list[str] = []
    current: str | None = image_id
    while current and current not in result:
        try:
            ancestry = await _read_json(storage, paths.image_ancestry(current))
            if isinstance(ancestry, list) and ancestry and all(isinstance(i, str) for i in ancestry):
                return result + [str(i) for i in ancestry]
        except (PathNotFound, ValueError, UnicodeDecodeError):
            pass
        try:
            data = await _read_json(storage, paths.image_json(current))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return result or None  # a missing ancestor: what was found is all there is
        result.append(current)
        parent = data.get("parent") if isinstance(data, dict) else None
        current = parent if isinstance(parent, str) else None
    return result


def _is_young(objects: Iterable[StoredObject], now: float, grace: float) -> bool:
    if grace <= 0:
        return any(o.path.startswith(".multipart/") for o in objects)
    return any(o.mtime is None or now - o.mtime < grace for o in objects)


async def plan(
    storage: StorageDriver, *, grace: float, now: float | None = None, upload_ttl: float = DEFAULT_UPLOAD_TTL
) -> GcReport:
    """What a collection would remove now (removes nothing)."""
    now = time.time() if now is None else now
    # manifests and tags first, blobs and images second: what is pushed in between is young
    marks = await v2gc.mark(storage)
    tagged = await tagged_images(storage)
    for image_id, labels in marks.v1_roots.items():
        tagged.setdefault(image_id, []).extend(labels)
    blobs = await v2gc.stored_blobs(storage)
    stored = await scan_images(storage)
    young = {image_id for image_id, objects in stored.items() if _is_young(objects, now, grace)}
    reachable: set[str] = set()  # what the tags reach
    protected: set[str] = set()  # what young images (pushes in flight) reach
    for root in sorted(tagged.keys() | young):
        line = await lineage(storage, root)
        if line is None:
            if root in tagged and root in stored and root not in young:
                names = ", ".join(tagged[root])
                raise GcRefused(f"cannot read the ancestry of image {root} (tagged {names}); nothing removed")
            if root in tagged and root not in stored:
                log.warning("gc.dangling_tag", image_id=root, tags=tagged[root])
            line = [root]
        (reachable if root in tagged else protected).update(line)
    report = GcReport(dry_run=True, reachable=len(reachable & stored.keys()))
    report.young = sorted((protected - reachable) & stored.keys())
    for image_id in sorted(stored):
        objects = stored[image_id]
        if image_id in reachable or image_id in protected:
            leftovers = _stale_uploads(objects, now, grace)
            if leftovers:
                report.removals.append(Removal(image_id, leftovers, uploads_only=True))
        else:
            report.removals.append(Removal(image_id, tuple(sorted(objects, key=lambda o: o.path))))
    removed = {r.image_id for r in report.removals if not r.uploads_only}
    keep = set(marks.blobs)
    for image_id in stored.keys() - removed:  # a kept v1 image's layer may be a blob
        if any(o.path == "_blob" for o in stored[image_id]):
            keep.update(await _blob_of(storage, image_id))
    report.blobs = v2gc.unreferenced_blobs(blobs, keep, grace=grace, now=now)
    report.uploads = await v2gc.expired_uploads(storage, upload_ttl, now)
    return report


async def _blob_of(storage: StorageDriver, image_id: str) -> list[str]:
    try:
        record = await _read_json(storage, paths.image_blob(image_id))
    except (PathNotFound, ValueError, UnicodeDecodeError):
        return []
    digest = record.get("digest") if isinstance(record, dict) else None
    return [digest[7:]] if isinstance(digest, str) and digest.startswith("sha256:") else []


def _stale_uploads(objects: list[StoredObject], now: float, grace: float) -> tuple[StoredObject, ...]:
    """Uploads of a complete image older than ``grace``: their checksum will never come."""
    names = {o.path for o in objects}
    if "json" not in names or "_inprogress" in names or "_checksum" not in names:
        return ()  # in progress: an upload may still be published
    stale = [
        o
        for o in objects
        if o.path.startswith(_UPLOADS + "/")
        and not o.hidden
        and o.mtime is not None
        and now - o.mtime >= grace
    ]
    return tuple(sorted(stale, key=lambda o: o.path))


# ---- sweep --------------------------------------------------------------------------------


async def _delete(storage: StorageDriver, path: str) -> None:
    try:
        await storage.delete(path)
    except PathNotFound:
        pass


async def _remove(storage: StorageDriver, removal: Removal) -> None:
    image_id = removal.image_id
    if removal.uploads_only:
        # the checksum record first: an upload without one is never picked
        for obj in sorted(removal.objects, key=lambda o: not o.path.endswith(paths.UPLOAD_SUM_SUFFIX)):
            await _delete(storage, f"{paths.image_dir(image_id)}/{obj.path}")
        return
    await _delete(storage, paths.image_json(image_id))  # gone for readers at once
    await _delete(storage, paths.image_dir(image_id))


async def collect(
    storage: StorageDriver,
    *,
    grace: float = DEFAULT_GRACE,
    dry_run: bool = False,
    now: float | None = None,
    upload_ttl: float = DEFAULT_UPLOAD_TTL,
) -> GcReport:
    """Plan, and unless ``dry_run`` plan again and remove what both plans agree on."""
    first = await plan(storage, grace=grace, now=now, upload_ttl=upload_ttl)
    if dry_run:
        return first
    second = await plan(storage, grace=grace, now=now, upload_ttl=upload_ttl)
    agreed = {(r.image_id, r.uploads_only, tuple(o.path for o in r.objects)) for r in first.removals}
    report = GcReport(dry_run=False, reachable=second.reachable, young=second.young)
    for removal in second.removals:
        key = (removal.image_id, removal.uploads_only, tuple(o.path for o in removal.objects))
        if removal.uploads_only and key not in agreed:
            continue
        if not removal.uploads_only and not any(k[0] == removal.image_id and not k[1] for k in agreed):
            continue
        await _remove(storage, removal)
        log.info(
            "gc.removed", image_id=removal.image_id, uploads_only=removal.uploads_only, size=removal.size
        )
        report.removals.append(removal)
    await _forget(storage, {r.image_id for r in report.removals if not r.uploads_only})
    for blob in set(first.blobs) & set(second.blobs):
        await v2gc.remove_blob(storage, blob)
        log.info("gc.blob_removed", digest=blob.digest, size=blob.size)
        report.blobs.append(blob)
    report.blobs.sort(key=lambda b: b.digest)
    for upload_id in set(first.uploads) & set(second.uploads):
        await _delete(storage, paths.upload_dir(upload_id))
        report.uploads.append(upload_id)
    report.uploads.sort()
    await recount(storage)
    return report


async def recount(storage: StorageDriver) -> dict[str, int]:
    """Each namespace's quota usage, counted again from its repositories' records of the layers
    they published (those still stored, each once); written to ``namespaces/<ns>/_usage``."""
    usage: dict[str, int] = {}
    for namespace in await storage.list(paths.REPOSITORIES):
        sizes: dict[str, int] = {}
        for repo in await storage.list(f"{paths.REPOSITORIES}/{namespace}"):
            for image_id in await storage.list(paths.repository_images(namespace, repo)):
                if image_id in sizes or not await storage.exists(paths.image_checksum(image_id)):
                    continue
                try:
                    record = await _read_json(storage, paths.repository_image(namespace, repo, image_id))
                except (PathNotFound, ValueError, UnicodeDecodeError):
                    continue
                size = record.get("size") if isinstance(record, dict) else None
                if isinstance(size, int):
                    sizes[image_id] = size
        if sizes or await storage.exists(paths.namespace_usage(namespace)):
            usage[namespace] = sum(sizes.values())
            data = json.dumps({"bytes": usage[namespace]}).encode()
            await storage.put(paths.namespace_usage(namespace), data)
    return usage


async def _forget(storage: StorageDriver, removed: set[str]) -> None:
    """Drop the repositories' records of pushes of removed images: an id pushed again later
    (perhaps by another repository, with other content) is not theirs."""
    if not removed:
        return
    for namespace in await storage.list(paths.REPOSITORIES):
        for repo in await storage.list(f"{paths.REPOSITORIES}/{namespace}"):
            for image_id in removed.intersection(
                await storage.list(paths.repository_images(namespace, repo))
            ):
                await _delete(storage, paths.repository_image(namespace, repo, image_id))


__all__ = [
    "DEFAULT_GRACE",
    "GcRefused",
    "GcReport",
    "Removal",
    "StoredObject",
    "collect",
    "lineage",
    "plan",
    "recount",
    "scan_images",
    "tagged_images",
]
