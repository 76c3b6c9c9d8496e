"""Which images a repository's tags reach: the image ids in the ancestry of any of its tags.

Index mode grants image reads per repository (a token for ``alice/web`` may read the layers
``alice/web`` is made of, not those of a private ``bob/secret``), so every image read asks
:meth:`ReachableImages.contains`. The answer comes from a small per-repository cache:

* an entry is the set of reachable ids, read from the tags and the ancestries they name;
* this process drops a repository's entry whenever it changes one of its tags
  (:meth:`ReachableImages.invalidate`, a :class:`~wharf_registry.tags.TagService` listener);
* entries expire after ``ttl`` seconds, since ``wharf-registry gc`` or another registry
  process on the same storage changes things this one does not hear about;
* a miss re-reads an entry older than ``recheck_after`` seconds, so an image tagged by
  another process a moment ago is found without waiting for the TTL, while repeated misses
  (a client probing images it may not read) cost one re-read per repository and interval.

Concurrent loads of one repository share one read.

:class:`RepositoryImages` is what index mode asks: the images a repository holds are those
pushed to it (or proven there, recorded by :class:`~wharf_registry.layers.LayerService`) and,
for data stored before those records were kept, those its tags reach.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from weakref import WeakValueDictionary

import structlog
from wharf_common.errors import InvalidArgument, NotFound

from .names import RepositoryName, check_image_id

log = structlog.get_logger(__name__)

DEFAULT_TTL = 5.0
DEFAULT_RECHECK_AFTER = 1.0
DEFAULT_MAX_REPOSITORIES = 1024


class TagReader(Protocol):
    async def tags(self, repo: RepositoryName) -> dict[str, str]: ...


class AncestryReader(Protocol):
    async def ancestry(self, image_id: str) -> list[str]: ...


class PushRecords(Protocol):
    async def holds(self, repo: RepositoryName, image_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    images: frozenset[str]
    loaded: float  # clock() when the read started


class ReachableImages:
    def __init__(
        self,
        tags: TagReader,
        layers: AncestryReader,
        *,
        ttl: float = DEFAULT_TTL,
        recheck_after: float = DEFAULT_RECHECK_AFTER,
        max_repositories: int = DEFAULT_MAX_REPOSITORIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tags = tags
        self._layers = layers
        self._ttl = ttl
        self._recheck_after = recheck_after
        self._max = max_repositories
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._epoch = 0  # bumped by every invalidation: a read that overlaps one is not kept

    def invalidate(self, repo: RepositoryName) -> None:
        self._entries.pop(str(repo), None)
        self._epoch += 1

    async def contains(self, repo: RepositoryName, image_id: str) -> bool:
        entry = self._fresh(str(repo))
        if entry is not None:
            if image_id in entry.images:
                return True
            if self._clock() - entry.loaded < self._recheck_after:
                return False
        return image_id in (await self._load(repo, newer_than=entry)).images

    async def images(self, repo: RepositoryName) -> frozenset[str]:
        entry = self._fresh(str(repo))
        return entry.images if entry is not None else (await self._load(repo, newer_than=None)).images

    def _fresh(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry.loaded >= self._ttl:
            return None
        self._entries.move_to_end(key)
        return entry

    async def _load(self, repo: RepositoryName, *, newer_than: _Entry | None) -> _Entry:
        key = str(repo)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            current = self._fresh(key)
            if current is not None and current is not newer_than:
                return current  # another request loaded it while this one waited
            epoch, started = self._epoch, self._clock()
            entry = _Entry(await self._read(repo), started)
            if epoch == self._epoch:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            return entry

    async def _read(self, repo: RepositoryName) -> frozenset[str]:
        try:
            tags = await self._tags.tags(repo)
        except NotFound:
            return frozenset()
        reachable: set[str] = set()
        for image_id in tags.values():
            if image_id in reachable:
                continue  # shared with a tag already walked, and so is its ancestry
            try:
                reachable.update(await self._layers.ancestry(image_id))
            except (NotFound, InvalidArgument):  # removed by gc, in progress, or a damaged tag
                log.warning("reachable.unreadable_tag", repository=str(repo), image_id=image_id[:80])
        return frozenset(reachable)


class RepositoryImages:
    """Whether a repository holds an image: pushed or proven there, or reached by its tags."""

    def __init__(self, pushes: PushRecords, reachable: ReachableImages) -> None:
        self._pushes = pushes
        self._reachable = reachable

    async def contains(self, repo: RepositoryName, image_id: str) -> bool:
        try:
            check_image_id(image_id)
        except InvalidArgument:
            return False
        return await self._pushes.holds(repo, image_id) or await self._reachable.contains(repo, image_id)
