"""ReachableImages: the per-repository cache of image ids a repository's tags reach."""

from __future__ import annotations

import asyncio

import pytest
from wharf_registry.errors import ImageInProgress, ImageNotFound, RepositoryNotFound
from wharf_registry.names import RepositoryName
from wharf_registry.reachable import ReachableImages

pytestmark = pytest.mark.anyio

WEB = RepositoryName("alice", "web")
APP = RepositoryName("bobby", "app")


class FakeRegistry:
    """Tags and ancestries in memory; counts reads and can hold them until released."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, str]] = {}
        self.ancestries: dict[str, list[str]] = {}
        self.tag_reads = 0
        self.ancestry_reads = 0
        self.gate: asyncio.Event | None = None

    async def tags(self, repo: RepositoryName) -> dict[str, str]:
        self.tag_reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if str(repo) not in self.repos:
            raise RepositoryNotFound()
        return dict(self.repos[str(repo)])

    async def ancestry(self, image_id: str) -> list[str]:
        self.ancestry_reads += 1
        if image_id == "in-progress":
            raise ImageInProgress()
        if image_id not in self.ancestries:
            raise ImageNotFound()
        return self.ancestries[image_id]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeRegistry:
    f = FakeRegistry()
    f.ancestries = {"top": ["top", "mid", "base"], "mid": ["mid", "base"], "other": ["other"]}
    f.repos = {"alice/web": {"latest": "top", "v1": "mid"}, "bobby/app": {"latest": "other"}}
    return f


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(fake: FakeRegistry, clock: Clock) -> ReachableImages:
    return ReachableImages(fake, fake, ttl=5, recheck_after=1, clock=clock)


async def test_images_are_the_ancestries_of_every_tag(cache: ReachableImages, fake: FakeRegistry) -> None:
    assert await cache.images(WEB) == {"top", "mid", "base"}
    assert fake.ancestry_reads == 1  # "mid" is in top's ancestry already: not read again
    assert await cache.images(APP) == {"other"}
    assert not await cache.contains(WEB, "other")


async def test_hits_are_served_from_cache_until_ttl(
    cache: ReachableImages, fake: FakeRegistry, clock: Clock
) -> None:
    assert await cache.contains(WEB, "base")
    clock.now += 4.9
    assert await cache.contains(WEB, "top")
    assert fake.tag_reads == 1
    fake.repos["alice/web"] = {"latest": "other"}  # changed behind this process's back
    clock.now += 0.2
    assert not await cache.contains(WEB, "top")
    assert fake.tag_reads == 2


async def test_miss_rereads_at_most_once_per_interval(
    cache: ReachableImages, fake: FakeRegistry, clock: Clock
) -> None:
    assert not await cache.contains(WEB, "other")
    for _ in range(10):
        assert not await cache.contains(WEB, "other")
    assert fake.tag_reads == 1
    fake.repos["alice/web"]["new"] = "other"  # tagged by another process
    clock.now += 1.0
    assert await cache.contains(WEB, "other")
    assert fake.tag_reads == 2


async def test_invalidate_drops_the_entry(cache: ReachableImages, fake: FakeRegistry) -> None:
    assert await cache.contains(WEB, "base")
    del fake.repos["alice/web"]["latest"]
    del fake.repos["alice/web"]["v1"]
    cache.invalidate(WEB)
    assert not await cache.contains(WEB, "base")
    assert await cache.contains(APP, "other")
    assert fake.tag_reads == 3  # web twice, app once


async def test_missing_repository_reaches_nothing(cache: ReachableImages) -> None:
    assert await cache.images(RepositoryName("nobody", "here")) == frozenset()


async def test_unreadable_tags_are_skipped(cache: ReachableImages, fake: FakeRegistry) -> None:
    fake.repos["alice/web"] = {"gone": "collected", "busy": "in-progress", "ok": "other"}
    assert await cache.images(WEB) == {"other"}


async def test_concurrent_loads_share_one_read(cache: ReachableImages, fake: FakeRegistry) -> None:
    fake.gate = asyncio.Event()
    waiting = [asyncio.create_task(cache.contains(WEB, "base")) for _ in range(5)]
    await asyncio.sleep(0)
    fake.gate.set()
    assert await asyncio.gather(*waiting) == [True] * 5
    assert fake.tag_reads == 1


async def test_read_overlapping_an_invalidation_is_not_kept(
    cache: ReachableImages, fake: FakeRegistry
) -> None:
    fake.gate = asyncio.Event()
    loading = asyncio.create_task(cache.contains(WEB, "base"))
    await asyncio.sleep(0)
    cache.invalidate(WEB)  # a tag changed while the tags were being read
    fake.gate.set()
    assert await loading
    fake.gate = None
    assert await cache.contains(WEB, "base")
    assert fake.tag_reads == 2  # read again: the overlapping result was not cached


async def test_least_recently_used_repositories_are_evicted(fake: FakeRegistry, clock: Clock) -> None:
    cache = ReachableImages(fake, fake, max_repositories=1, clock=clock)
    await cache.images(WEB)
    await cache.images(APP)
    await cache.images(APP)
    assert fake.tag_reads == 2
    await cache.images(WEB)
    assert fake.tag_reads == 3
