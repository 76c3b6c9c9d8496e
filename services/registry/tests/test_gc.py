"""``wharf-registry gc``: unreachable images go, reachable ones (and young ones) stay.

Runs against the filesystem driver, and S3 through the conformance suite's moto server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest
from wharf_registry.gc import GcRefused, collect, plan, recount, tagged_images
from wharf_registry.layers import LayerService
from wharf_registry.main import main
from wharf_registry.names import parse_repository
from wharf_registry.quotas import UploadLimits
from wharf_registry.storage import FilesystemDriver, S3Driver, StorageDriver, paths
from wharf_registry.storage.base import get_bytes, put_bytes
from wharf_registry.tags import TagService
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio

LATER = 7200.0
"""Seconds to look ahead with ``now=``: every object is then older than the default grace."""


def _load_conformance() -> ModuleType:
    path = Path(__file__).parent / "storage" / "test_driver_conformance.py"
    spec = importlib.util.spec_from_file_location("_wharf_registry_gc_conformance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_conformance = _load_conformance()
s3_endpoint = _conformance.s3_endpoint  # the moto_server fixture (skips when moto is missing)


@pytest.fixture(params=["filesystem", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    if request.param == "filesystem":
        return FilesystemDriver(tmp_path / "store")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return S3Driver(_conformance.s3_settings(endpoint, prefix="reg/"))


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemDriver:
    return FilesystemDriver(tmp_path / "store")


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def push(storage: StorageDriver, image_id: str, parent: str | None = None) -> None:
    layers = LayerService(storage)
    raw = image_json(image_id, parent)
    layer = make_layer({f"f-{image_id[:8]}": image_id.encode() * 100})
    await layers.put_image_json(image_id, raw)
    await layers.put_layer(image_id, _body(layer))
    await layers.put_checksum(image_id, payload=payload_checksum(raw, layer), tarsum=None)


async def tag(storage: StorageDriver, repo: str, name: str, image_id: str) -> None:
    tags = TagService(storage, LayerService(storage))
    await tags.put_tag(parse_repository(repo), name, f'"{image_id}"'.encode())


async def untag(storage: StorageDriver, repo: str, name: str) -> None:
    await TagService(storage, LayerService(storage)).delete_tag(parse_repository(repo), name)


async def image_paths(storage: StorageDriver, image_id: str) -> list[str]:
    return await storage.list(paths.image_dir(image_id))


def age(root: Path, seconds: float) -> None:
    """Make every file under ``root`` ``seconds`` old (filesystem only)."""
    when = time.time() - seconds
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.utime(Path(dirpath) / name, (when, when))


async def test_only_what_no_tag_reaches_is_removed(storage: StorageDriver) -> None:
    base, top, other, orphan_parent, orphan = (random_image_id() for _ in range(5))
    await push(storage, base)
    await push(storage, top, base)
    await push(storage, other, base)
    await push(storage, orphan_parent)
    await push(storage, orphan, orphan_parent)
    await tag(storage, "alice/web", "v1", top)
    await tag(storage, "bob/db", "latest", other)
    await tag(storage, "alice/web", "old", orphan)
    await untag(storage, "alice/web", "old")
    now = time.time() + LATER

    dry = await collect(storage, dry_run=True, now=now)
    assert sorted(r.image_id for r in dry.removals) == sorted([orphan, orphan_parent])
    assert all(not r.uploads_only and r.size > 0 for r in dry.removals)
    assert dry.reachable == 3
    assert await image_paths(storage, orphan)  # nothing removed
    lines = dry.lines()
    assert len(lines) == 3 and all(line.startswith("would remove image ") for line in lines[:2])
    assert lines[-1].startswith(
        "total: 2 images and 0 upload leftovers, 0 blobs, 0 expired upload sessions, "
        f"{dry.reclaimed} bytes would be"
    )

    done = await collect(storage, now=now)
    assert sorted(r.image_id for r in done.removals) == sorted([orphan, orphan_parent])
    assert done.reclaimed == dry.reclaimed
    assert await image_paths(storage, orphan) == [] and await image_paths(storage, orphan_parent) == []
    layers = LayerService(storage)
    for image_id in (base, top, other):
        assert await layers.is_complete(image_id)
        assert await layers.ancestry(image_id)
    assert (await collect(storage, now=now)).removals == []  # idempotent


async def test_grace_keeps_young_images(storage: StorageDriver) -> None:
    orphan = random_image_id()
    await push(storage, orphan)
    report = await collect(storage)  # default grace: an hour
    assert report.removals == [] and report.young == [orphan]
    assert await image_paths(storage, orphan)
    assert [r.image_id for r in (await collect(storage, grace=0)).removals] == [orphan]
    assert await image_paths(storage, orphan) == []


async def test_in_progress_push_left_behind_is_removed(storage: StorageDriver) -> None:
    stale = random_image_id()
    await LayerService(storage).put_image_json(stale, image_json(stale))  # never finished
    assert (await collect(storage)).removals == []
    report = await collect(storage, now=time.time() + LATER)
    assert [r.image_id for r in report.removals] == [stale]
    assert await image_paths(storage, stale) == []


async def test_young_push_protects_its_untagged_parent(fs: FilesystemDriver) -> None:
    parent, child = random_image_id(), random_image_id()
    await push(fs, parent)
    age(fs.root, LATER)
    await LayerService(fs).put_image_json(child, image_json(child, parent))  # a push in flight
    report = await plan(fs, grace=3600)
    assert report.removals == [] and sorted(report.young) == sorted([parent, child])
    age(fs.root, LATER)  # the push was abandoned long ago: both go
    assert sorted(r.image_id for r in (await collect(fs, grace=3600)).removals) == sorted([parent, child])


async def test_write_in_progress_keeps_the_image(fs: FilesystemDriver) -> None:
    orphan = random_image_id()
    await push(fs, orphan)
    age(fs.root, LATER)
    (fs.root / paths.image_dir(orphan) / ".tmp-streaming").write_bytes(b"partial")
    assert (await collect(fs)).young == [orphan]
    assert await image_paths(fs, orphan)


async def test_stale_uploads_of_a_tagged_image(fs: FilesystemDriver) -> None:
    image = random_image_id()
    await push(fs, image)
    await tag(fs, "alice/web", "v1", image)
    await put_bytes(fs, paths.image_upload(image, "abandoned"), b"x" * 1000)
    await put_bytes(fs, paths.image_upload_sum(image, "abandoned"), b'{"checksum": "sha256:0"}')
    assert (await collect(fs)).removals == []  # young
    age(fs.root / paths.image_uploads(image), LATER)
    report = await collect(fs)
    assert [(r.image_id, r.uploads_only) for r in report.removals] == [(image, True)]
    assert report.lines()[0].startswith(f"removed {image} upload leftovers: 2 objects,")
    assert await fs.list(paths.image_uploads(image)) == []
    assert await LayerService(fs).is_complete(image)


async def test_unreadable_tagged_image_refuses(fs: FilesystemDriver) -> None:
    image, orphan = random_image_id(), random_image_id()
    await push(fs, image)
    await push(fs, orphan)
    await tag(fs, "alice/web", "v1", image)
    await put_bytes(fs, paths.image_ancestry(image), b"not json")
    await put_bytes(fs, paths.image_json(image), b"not json either")
    with pytest.raises(GcRefused, match="alice/web:v1"):
        await collect(fs, grace=0)
    assert await image_paths(fs, orphan)


async def test_ancestry_falls_back_to_json_parents(fs: FilesystemDriver) -> None:
    base, top = random_image_id(), random_image_id()
    await push(fs, base)
    await push(fs, top, base)
    await tag(fs, "alice/web", "v1", top)
    await fs.delete(paths.image_ancestry(top))
    assert (await collect(fs, grace=0)).removals == []
    assert await get_bytes(fs, paths.image_json(base))


async def test_dangling_tag_is_harmless(fs: FilesystemDriver) -> None:
    orphan = random_image_id()
    await push(fs, orphan)
    await put_bytes(fs, paths.tag("alice", "web", "gone"), random_image_id().encode())
    assert [r.image_id for r in (await collect(fs, grace=0)).removals] == [orphan]


def test_cli_dry_run_then_collect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # configuring logging would bind structlog to this test's captured stderr, for later tests too
    monkeypatch.setattr("wharf_registry.main.configure_logging", lambda *a, **k: None)
    root = tmp_path / "data"
    keep, orphan = random_image_id(), random_image_id()

    async def setup() -> None:
        store = FilesystemDriver(root)
        await push(store, keep)
        await push(store, orphan)
        await tag(store, "library/app", "latest", keep)

    def printed() -> list[str]:  # the report, not the log lines of an unconfigured structlog
        lines = capsys.readouterr().out.splitlines()
        return [line for line in lines if line.startswith(("removed ", "would remove ", "total: "))]

    asyncio.run(setup())
    main(["gc", "--dry-run", "--grace", "0", "--data-root", str(root)])
    out = printed()
    assert len(out) == 2 and out[0].startswith(f"would remove image {orphan}: ")
    assert out[1].startswith("total: 1 images and 0 upload leftovers,") and "would be reclaimed" in out[1]
    assert (root / "images" / orphan / "layer").exists()
    main(["gc", "--data-root", str(root)])  # default grace: too young
    assert printed()[0].startswith("total: 0 images")
    main(["gc", "--grace", "0", "--data-root", str(root)])
    out = printed()
    assert out[0].startswith(f"removed image {orphan}: ") and "bytes reclaimed" in out[1]
    assert not (root / "images" / orphan).exists() and (root / "images" / keep / "layer").exists()


async def test_uploads_of_an_image_without_its_checksum_are_not_stale(fs: FilesystemDriver) -> None:
    """No checksum: the push is still in progress (its mark, written without fsync, may be lost)."""
    image = random_image_id()
    layers = LayerService(fs)
    await layers.put_image_json(image, image_json(image))
    await put_bytes(fs, paths.image_upload(image, "pending"), b"x" * 1000)
    await fs.delete(paths.image_mark(image))
    age(fs.root / paths.image_uploads(image), LATER)
    assert not await layers.is_complete(image)
    report = await plan(fs, grace=3600)
    assert all(r.uploads_only is False for r in report.removals)  # never its uploads alone


async def test_records_of_pushes_of_removed_images_go_too(fs: FilesystemDriver) -> None:
    """An id collected and pushed again later (by anyone) is not held by its first repository."""
    layers, repo = LayerService(fs), parse_repository("alice/web")
    kept, gone = random_image_id(), random_image_id()
    for image_id in (kept, gone):
        raw, layer = image_json(image_id), make_layer({"f": image_id.encode()})
        await layers.put_image_json(image_id, raw, repo)
        await layers.put_layer(image_id, _body(layer), repo)
        await layers.put_checksum(image_id, payload=payload_checksum(raw, layer), tarsum=None, repo=repo)
    await tag(fs, "alice/web", "v1", kept)
    assert await layers.holds(repo, gone)
    await collect(fs, now=time.time() + LATER)
    assert await layers.holds(repo, kept)
    assert not await layers.holds(repo, gone)
    assert await fs.list(paths.repository_images("alice", "web")) == [kept]


async def test_older_layout_tag_metadata_is_no_dangling_tag(fs: FilesystemDriver) -> None:
    image_id = random_image_id()
    await push(fs, image_id)
    await tag(fs, "alice/web", "_v1", image_id)
    await put_bytes(fs, paths.legacy_tag_json("alice", "web", "_v1"), b'{"last_update": 1}')
    assert await tagged_images(fs) == {image_id: ["alice/web:_v1"]}


async def test_quota_usage_is_counted_again_from_what_is_still_stored(fs: FilesystemDriver) -> None:
    layers = LayerService(fs, UploadLimits(namespace_quota=1 << 30))
    sizes = {}
    for name, repo in (("kept", "alice/web"), ("gone", "alice/web"), ("shared", "alice/api")):
        image_id, repository = random_image_id(), parse_repository(repo)
        raw, layer = image_json(image_id), make_layer({name: os.urandom(4096)})
        await layers.put_image_json(image_id, raw, repository)
        await layers.put_layer(image_id, _body(layer), repository)
        await layers.put_checksum(
            image_id, payload=payload_checksum(raw, layer), tarsum=None, repo=repository
        )
        sizes[name] = (image_id, len(layer))
    await tag(fs, "alice/web", "v1", sizes["kept"][0])
    await tag(fs, "alice/api", "v1", sizes["shared"][0])
    assert await layers.usage.used("alice") == sum(size for _, size in sizes.values())
    await collect(fs, now=time.time() + LATER)  # "gone" is collected
    assert await layers.usage.used("alice") == sizes["kept"][1] + sizes["shared"][1]
    await TagService(fs, layers).delete_repository(parse_repository("alice/api"))
    assert await recount(fs) == {"alice": sizes["kept"][1]}
    assert await layers.usage.used("alice") == sizes["kept"][1]
