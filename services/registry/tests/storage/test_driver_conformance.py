"""Every StorageDriver keeps the rules of ``storage/base.py``: filesystem and S3 alike.

The S3 side runs against a real ``moto_server`` on 127.0.0.1 (a free port), started here and
stopped by pid at the end of the session.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from wharf_registry.storage import FilesystemDriver, S3Driver, S3StorageSettings, StorageDriver
from wharf_registry.storage.base import InvalidPath, PathNotFound, get_bytes, put_bytes

pytestmark = pytest.mark.anyio

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
PART = 5 << 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MOTO_SERVER.exists() and shutil.which("moto_server") is None:
        pytest.skip("moto_server is not installed (dev dependency moto[server])")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MOTO_SERVER if MOTO_SERVER.exists() else "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start within 30 s") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def s3_settings(endpoint: str, **extra: object) -> S3StorageSettings:
    return S3StorageSettings.model_validate(
        {
            "driver": "s3",
            "bucket": f"wharf-{uuid.uuid4().hex[:12]}",
            "endpoint_url": endpoint,
            "region": "us-east-1",
            "access_key": "test",
            "secret_key": "test",
            "part_size": PART,
            "create_bucket": True,
            **extra,
        }
    )


@pytest.fixture(params=["filesystem", "s3"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    if request.param == "filesystem":
        return FilesystemDriver(tmp_path / "store")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return S3Driver(s3_settings(endpoint, prefix="reg/"))


async def chunks_of(data: bytes, size: int = 64 << 10) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)


async def failing_after(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in chunks_of(data):
        yield chunk
    raise ConnectionResetError("client went away")


async def read_all(driver: StorageDriver, path: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([c async for c in driver.read(path, start=start, end=end)])


async def test_write_then_read_round_trips(driver: StorageDriver) -> None:
    data = os.urandom(300_000)
    assert await driver.write("images/a/layer", chunks_of(data)) == len(data)
    assert await read_all(driver, "images/a/layer") == data
    assert await driver.size("images/a/layer") == len(data)
    assert await driver.exists("images/a/layer")


async def test_large_streaming_write_uses_parts(driver: StorageDriver) -> None:
    data = os.urandom(2 * PART + 12345)
    assert await driver.write("big", chunks_of(data)) == len(data)
    got = hashlib.sha256()
    async for chunk in driver.read("big"):
        got.update(chunk)
    assert got.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_empty_object(driver: StorageDriver) -> None:
    await put_bytes(driver, "empty", b"")
    assert await driver.exists("empty")
    assert await driver.size("empty") == 0
    assert await get_bytes(driver, "empty") == b""


async def test_small_objects_put_and_get_whole(driver: StorageDriver) -> None:
    data = os.urandom(5000)
    await driver.put("images/a/json", data)
    assert await driver.get("images/a/json") == data
    assert await read_all(driver, "images/a/json") == data  # the same object as write/read see
    await driver.put("images/a/json", b"{}")
    assert await driver.get("images/a/json") == b"{}"
    with pytest.raises(PathNotFound):
        await driver.get("images/a/nope")
    with pytest.raises(PathNotFound):
        await driver.get("images/a")  # a prefix, not an object
    await asyncio.gather(*(driver.put("same", bytes([i]) * 100_000) for i in range(5)))
    assert await driver.get("same") in [bytes([i]) * 100_000 for i in range(5)]
    assert await driver.list("images/a") == ["json"]


async def test_objects_put_without_fsync_are_whole_and_synced_later(driver: StorageDriver) -> None:
    await driver.put("images/a/json", b'{"id": "a"}', durable=False)
    await driver.put("images/a/ancestry", b'["a"]', durable=False)
    assert await driver.get("images/a/json") == b'{"id": "a"}'
    await driver.sync(["images/a/json", "images/a/ancestry"])
    assert await driver.get("images/a/ancestry") == b'["a"]'
    if isinstance(driver, FilesystemDriver):  # S3 keeps what it acknowledged: nothing to look up
        with pytest.raises(PathNotFound):
            await driver.sync(["images/a/nope"])


async def test_a_streamed_write_and_a_move_without_fsync_then_one_sync(driver: StorageDriver) -> None:
    data = os.urandom(300_000)
    assert await driver.write("images/b/_uploads/u1", chunks_of(data), durable=False) == len(data)
    await driver.move("images/b/_uploads/u1", "images/b/layer", durable=False)
    assert not await driver.exists("images/b/_uploads/u1")
    await driver.sync(["images/b/layer"])
    assert await read_all(driver, "images/b/layer") == data
    if isinstance(driver, FilesystemDriver):
        with pytest.raises(PathNotFound):
            await driver.move("images/b/_uploads/u1", "images/b/other", durable=False)


async def test_ranges_are_half_open(driver: StorageDriver) -> None:
    data = bytes(range(256)) * 10
    await put_bytes(driver, "r", data)
    assert await read_all(driver, "r", 10, 20) == data[10:20]
    assert await read_all(driver, "r", 100) == data[100:]
    assert await read_all(driver, "r", 0, 10_000) == data
    assert await read_all(driver, "r", 5, 5) == b""


async def test_missing_paths_raise(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await read_all(driver, "nope")
    with pytest.raises(PathNotFound):
        await driver.size("nope")
    assert not await driver.exists("nope")
    with pytest.raises(PathNotFound):
        await driver.delete("nope")
    with pytest.raises(PathNotFound):
        await driver.move("nope", "other")


@pytest.mark.parametrize("size", [0, 1000, 2 * PART + 12345])
async def test_write_taps_every_byte_in_order(driver: StorageDriver, size: int) -> None:
    """``tap`` (the v2 upload's running digest) sees exactly the bytes stored, in order, by the
    time ``write`` returns; the pieces it gets are the ones written (odd sizes, many batches)."""
    data = os.urandom(size)
    tapped = hashlib.sha256()
    seen = 0

    def tap(piece: bytes) -> None:
        nonlocal seen
        seen += len(piece)
        tapped.update(piece)

    assert await driver.write("images/t/layer", chunks_of(data, 100_003), tap=tap) == size
    assert seen == size
    assert tapped.hexdigest() == hashlib.sha256(data).hexdigest()
    assert await read_all(driver, "images/t/layer") == data


async def test_failed_tapped_write_leaves_nothing(driver: StorageDriver) -> None:
    with pytest.raises(ConnectionResetError):
        await driver.write("images/x/layer", failing_after(os.urandom(2 * PART + 1)), tap=lambda _: None)
    assert not await driver.exists("images/x/layer")
    assert await driver.list("images/x") == []


@pytest.mark.parametrize("size", [1000, 2 * PART + 1])
async def test_failed_write_leaves_nothing(driver: StorageDriver, size: int) -> None:
    with pytest.raises(ConnectionResetError):
        await driver.write("images/x/layer", failing_after(os.urandom(size)))
    assert not await driver.exists("images/x/layer")
    assert await driver.list("images/x") == []


async def test_failed_overwrite_keeps_old_object(driver: StorageDriver) -> None:
    await put_bytes(driver, "obj", b"old")
    with pytest.raises(ConnectionResetError):
        await driver.write("obj", failing_after(b"new" * 1000))
    assert await get_bytes(driver, "obj") == b"old"


async def test_overwrite_replaces(driver: StorageDriver) -> None:
    await put_bytes(driver, "obj", b"one")
    await put_bytes(driver, "obj", b"two!")
    assert await get_bytes(driver, "obj") == b"two!"


async def test_concurrent_writes_leave_one_whole_version(driver: StorageDriver) -> None:
    versions = [bytes([i]) * 200_000 for i in range(5)]
    await asyncio.gather(*(driver.write("same", chunks_of(v, 10_000)) for v in versions))
    assert await get_bytes(driver, "same") in versions


async def test_list_names_children(driver: StorageDriver) -> None:
    for path in (
        "repositories/library/ubuntu/tag_latest",
        "repositories/library/busybox/tag_1",
        "repositories/alice/web/tag_v1",
        "repositories/top",
    ):
        await put_bytes(driver, path, b"x")
    assert await driver.list("repositories") == ["alice", "library", "top"]
    assert await driver.list("repositories/library") == ["busybox", "ubuntu"]
    assert await driver.list("repositories/library/ubuntu") == ["tag_latest"]
    assert await driver.list("nothing/here") == []


async def test_delete_object_and_prefix(driver: StorageDriver) -> None:
    for path in ("a/b/1", "a/b/2", "a/b/c/3", "a/keep"):
        await put_bytes(driver, path, b"x")
    await driver.delete("a/b/1")
    assert not await driver.exists("a/b/1")
    await driver.delete("a/b")
    assert await driver.list("a") == ["keep"]
    assert not await driver.exists("a/b/c/3")


async def test_move_replaces_destination(driver: StorageDriver) -> None:
    await put_bytes(driver, "up/1", b"new")
    await put_bytes(driver, "final", b"old")
    await driver.move("up/1", "final")
    assert await get_bytes(driver, "final") == b"new"
    assert not await driver.exists("up/1")
    assert await driver.list("up") == []


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "a/./b", "a/../b", ".tmp-x", "a/.hidden", ""])
async def test_unsafe_paths_rejected(driver: StorageDriver, path: str) -> None:
    with pytest.raises(InvalidPath):
        await put_bytes(driver, path, b"x")
    with pytest.raises(InvalidPath):
        await driver.exists(path)
    with pytest.raises(InvalidPath):
        driver.local_path(path)


async def test_local_path_holds_the_bytes_or_is_none(driver: StorageDriver) -> None:
    data = os.urandom(100_000)
    await put_bytes(driver, "images/a/layer", data)
    local = driver.local_path("images/a/layer")
    if isinstance(driver, S3Driver):
        assert local is None
        return
    assert local is not None
    assert local.read_bytes() == data
    await driver.delete("images/a/layer")
    assert not local.exists()


def test_redirect_url_only_when_asked(driver: StorageDriver, request: pytest.FixtureRequest) -> None:
    assert driver.redirect_url("x") is None
    if isinstance(driver, S3Driver):
        endpoint: str = request.getfixturevalue("s3_endpoint")
        url = S3Driver(s3_settings(endpoint, redirect=True)).redirect_url("images/a/layer")
        assert url is not None
        assert url.startswith(endpoint)
        assert "Signature" in url or "X-Amz-Signature" in url
