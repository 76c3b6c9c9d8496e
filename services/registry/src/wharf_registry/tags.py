"""Repositories: tags and the standalone index's image list (DR ``tags.py``, ``index.py``).

A repository exists once it holds a tag or an image list; deleting it removes its tags,
its list and its record of the images pushed to it, but never images, which other
repositories may share. Listeners
(:meth:`TagService.add_listener`) hear of every tag this service changes.

In index mode a tag may only point at an image the repository holds, whole: every image of
its ancestry pushed to the repository (or proven there), or reachable from its tags already
(:class:`ImageScope`); image ids are no secret, so naming one proves nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument

from . import names
from .errors import ImageNotFound, ImageNotInRepository, InvalidData, RepositoryNotFound, TagNotFound
from .layers import LayerService
from .names import RepositoryName
from .storage import paths
from .storage.base import PathNotFound, StorageDriver, get_bytes, put_bytes

log = structlog.get_logger(__name__)

_USER_AGENT_RE = re.compile(r"([^\s/]+)/([^\s/]+)")
_TARGET_RE = re.compile(r"[a-f0-9]{64}|sha256:[a-f0-9]{64}", re.ASCII)


class ImageScope(Protocol):
    """Index mode: whether ``repo`` holds ``image_id`` (``reachable.RepositoryImages``)."""

    async def contains(self, repo: RepositoryName, image_id: str) -> bool: ...


class TagService:
    def __init__(self, storage: StorageDriver, layers: LayerService) -> None:
        self.storage = storage
        self.layers = layers
        self.scope: ImageScope | None = None  # index mode: set by the composition root
        self.manifest_image: Callable[[RepositoryName, str], Awaitable[str | None]] | None = None
        """v2: the v1 image id of a tag that names a manifest digest (None: not pullable over v1)."""
        self._listeners: list[Callable[[RepositoryName], None]] = []

    def add_listener(self, listener: Callable[[RepositoryName], None]) -> None:
        """Call ``listener(repo)`` after each change to ``repo``'s tags (put, delete, delete all)."""
        self._listeners.append(listener)

    def _changed(self, repo: RepositoryName) -> None:
        for listener in self._listeners:
            listener(repo)

    async def _entries(self, repo: RepositoryName) -> list[str]:
        """The tag files and the image list (not the record of pushed images)."""
        entries = await self.storage.list(paths.repository(repo.namespace, repo.repo))
        return [e for e in entries if e.startswith(paths.TAG_PREFIX) or e == paths.INDEX_IMAGES]

    async def _exists(self, repo: RepositoryName) -> bool:
        return bool(await self._entries(repo))

    async def tags(self, repo: RepositoryName) -> dict[str, str]:
        entries = await self._entries(repo)
        if not entries:
            raise RepositoryNotFound()
        result: dict[str, str] = {}
        for entry in entries:
            if entry.startswith(paths.TAG_PREFIX):
                tag = entry.removeprefix(paths.TAG_PREFIX)
                try:
                    result[tag] = await self._read_tag(repo, tag)
                except TagNotFound:
                    continue  # deleted meanwhile, or an older registry's tag metadata
        return result

    async def tag_target(self, repo: RepositoryName, tag: str) -> str:
        """What the tag names: a v1 image id, or a v2 manifest digest (``sha256:<hex>``)."""
        try:
            raw = await get_bytes(self.storage, paths.tag(repo.namespace, repo.repo, tag))
        except PathNotFound:
            raise TagNotFound(tag) from None
        value = raw.decode(errors="replace")
        if _TARGET_RE.fullmatch(value):
            return value
        raise TagNotFound(tag)  # an older layout's metadata of tag "_<x>" named like tag "<x>_json"

    async def tag_names(self, repo: RepositoryName) -> list[str]:
        """Every tag of ``repo``, v1 and v2 (one namespace), sorted; [] when it has none."""
        found = []
        for entry in await self.storage.list(paths.repository(repo.namespace, repo.repo)):
            if entry.startswith(paths.TAG_PREFIX):
                tag = entry.removeprefix(paths.TAG_PREFIX)
                try:
                    await self.tag_target(repo, tag)
                except TagNotFound:
                    continue
                found.append(tag)
        return found

    async def put_manifest_tag(
        self, repo: RepositoryName, tag: str, digest: str, user_agent: str = ""
    ) -> None:
        """Point ``tag`` at a v2 manifest (``sha256:<hex>``), replacing whatever it named."""
        names.check_tag(tag)
        await put_bytes(self.storage, paths.tag(repo.namespace, repo.repo, tag), digest.encode())
        self._changed(repo)
        meta = json.dumps(_tag_metadata(user_agent)).encode()
        await put_bytes(self.storage, paths.tag_json(repo.namespace, repo.repo, tag), meta)
        await self._drop_legacy_tag_json(repo, tag)
        log.info("tag.stored", repository=str(repo), tag=tag, manifest=digest)

    async def _read_tag(self, repo: RepositoryName, tag: str) -> str:
        try:
            raw = await get_bytes(self.storage, paths.tag(repo.namespace, repo.repo, tag))
        except PathNotFound:
            raise TagNotFound() from None
        if raw.startswith(b"sha256:") and self.manifest_image is not None:
            image_id = await self.manifest_image(repo, raw.decode(errors="replace"))
            if image_id is None:
                raise TagNotFound()  # an index, or an artifact: nothing a v1 client can pull
            return image_id
        try:
            return names.check_image_id(raw.decode(errors="replace"))
        except InvalidArgument:  # an older layout's metadata of tag "_<x>" named like tag "<x>_json"
            raise TagNotFound() from None

    async def tag(self, repo: RepositoryName, tag: str) -> str:
        return await self._read_tag(repo, names.check_tag(tag))

    async def tag_json(self, repo: RepositoryName, tag: str) -> dict[str, Any]:
        names.check_tag(tag)
        try:
            data = json.loads(await get_bytes(self.storage, paths.tag_json(repo.namespace, repo.repo, tag)))
        except PathNotFound:
            data = await self._legacy_tag_json(repo, tag) or {}
        defaults = {
            "last_update": None,
            "docker_version": None,
            "docker_go_version": None,
            "arch": "amd64",
            "os": "linux",
            "kernel": None,
        }
        return {**defaults, **data}

    async def _legacy_tag_json(self, repo: RepositoryName, tag: str) -> dict[str, Any] | None:
        """An older layout's ``tag<tag>_json``, if it holds metadata (it may be another tag)."""
        try:
            data = json.loads(
                await get_bytes(self.storage, paths.legacy_tag_json(repo.namespace, repo.repo, tag))
            )
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    async def _drop_legacy_tag_json(self, repo: RepositoryName, tag: str) -> None:
        if await self._legacy_tag_json(repo, tag) is not None:
            try:
                await self.storage.delete(paths.legacy_tag_json(repo.namespace, repo.repo, tag))
            except PathNotFound:
                pass

    async def put_tag(self, repo: RepositoryName, tag: str, body: bytes, user_agent: str = "") -> None:
        names.check_tag(tag)
        try:
            image_id = jsonsafe.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidData() from None
        if not image_id or not isinstance(image_id, str):
            raise InvalidData()
        names.check_image_id(image_id)
        if not await self.layers.is_complete(image_id):
            raise ImageNotFound()
        if self.scope is not None:
            await self._check_held(repo, image_id)
        await put_bytes(self.storage, paths.tag(repo.namespace, repo.repo, tag), image_id.encode())
        self._changed(repo)
        meta = json.dumps(_tag_metadata(user_agent)).encode()
        await put_bytes(self.storage, paths.tag_json(repo.namespace, repo.repo, tag), meta)
        await self._drop_legacy_tag_json(repo, tag)
        log.info("tag.stored", repository=str(repo), tag=tag, image_id=image_id)

    async def _check_held(self, repo: RepositoryName, image_id: str) -> None:
        """Every image of ``image_id``'s ancestry is in ``repo`` (:class:`ImageScope`)."""
        assert self.scope is not None
        for ancestor in await self.layers.ancestry(image_id):
            if not await self.scope.contains(repo, ancestor):
                log.warning("tag.image_refused", repository=str(repo), image_id=image_id, missing=ancestor)
                raise ImageNotInRepository(ancestor)

    async def delete_tag(self, repo: RepositoryName, tag: str) -> None:
        names.check_tag(tag)
        try:
            await self.storage.delete(paths.tag(repo.namespace, repo.repo, tag))
        except PathNotFound:
            raise TagNotFound(tag) from None
        self._changed(repo)
        try:
            await self.storage.delete(paths.tag_json(repo.namespace, repo.repo, tag))
        except PathNotFound:
            pass
        await self._drop_legacy_tag_json(repo, tag)
        log.info("tag.deleted", repository=str(repo), tag=tag)

    async def delete_repository(self, repo: RepositoryName) -> None:
        existed = await self._exists(repo)
        try:
            await self.storage.delete(paths.repository(repo.namespace, repo.repo))
        except PathNotFound:
            raise RepositoryNotFound() from None
        finally:
            self._changed(repo)  # a partial delete changes tags too
        if not existed:  # only the record of pushed images was left (now gone too)
            raise RepositoryNotFound()
        log.info("repository.deleted", repository=str(repo))

    # ---- standalone index: the repository's image list ---------------------------------

    async def repository_images(self, repo: RepositoryName) -> list[dict[str, str]]:
        try:
            data = json.loads(await get_bytes(self.storage, paths.index_images(repo.namespace, repo.repo)))
        except PathNotFound:
            if await self._exists(repo):
                return []
            raise RepositoryNotFound() from None
        return [dict(i) for i in data]

    async def add_repository_images(self, repo: RepositoryName, body: bytes) -> None:
        """Merge ``[{"id", "checksum"?}, ...]`` into the list: images are added, never removed."""
        incoming = _parse_image_list(body)
        try:
            current = await self.repository_images(repo)
        except RepositoryNotFound:
            current = []
        merged: dict[str, dict[str, str]] = {}
        for item in [*incoming, *current]:
            if item["id"] in merged and "checksum" in merged[item["id"]]:
                continue
            merged[item["id"]] = item
        data = json.dumps(list(merged.values())).encode()
        await put_bytes(self.storage, paths.index_images(repo.namespace, repo.repo), data)


def _parse_image_list(body: bytes) -> list[dict[str, str]]:
    try:
        data = jsonsafe.loads(body) if body.strip() else []
    except (ValueError, UnicodeDecodeError):
        raise InvalidData() from None
    if not isinstance(data, list):
        raise InvalidData()
    items: list[dict[str, str]] = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise InvalidData()
        item = {"id": names.check_image_id(entry["id"])}
        if isinstance(entry.get("checksum"), str) and entry["checksum"]:
            item["checksum"] = entry["checksum"]
        items.append(item)
    return items


def _tag_metadata(user_agent: str) -> dict[str, Any]:
    """DR ``create_tag_json``: when, and which docker pushed it (from the User-Agent)."""
    meta: dict[str, Any] = {"last_update": int(time.time())}
    agent = dict(_USER_AGENT_RE.findall(user_agent))
    if "docker" in agent:
        meta["docker_version"] = agent["docker"]
    if "go" in agent:
        meta["docker_go_version"] = agent["go"]
    for key in ("arch", "kernel", "os"):
        if key in agent:
            meta[key] = agent[key].lower()
    return meta
