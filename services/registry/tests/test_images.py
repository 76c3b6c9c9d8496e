"""Router tests for /v1/images: the push sequence, visibility, checksums, bad input."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from wharf_registry.app import create_app
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver
from wharf_registry.storage.base import CHUNK_SIZE
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio


async def push(client: httpx.AsyncClient, image_id: str, layer: bytes, parent: str | None = None) -> bytes:
    raw = image_json(image_id, parent)
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    r = await client.put(
        f"/v1/images/{image_id}/checksum",
        headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)},
    )
    assert r.status_code == 200, r.text
    return raw


def stored_files(settings: Settings) -> list[str]:
    root = settings.data_root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_push_then_pull_round_trips(client: httpx.AsyncClient) -> None:
    base, child = random_image_id(), random_image_id()
    base_layer, child_layer = make_layer({"bin/sh": b"#!"}), make_layer({"etc/motd": b"hi"})
    raw = await push(client, base, base_layer)
    await push(client, child, child_layer, parent=base)

    r = await client.get(f"/v1/images/{child}/ancestry")
    assert r.json() == [child, base]
    r = await client.get(f"/v1/images/{base}/json")
    assert r.content == raw
    assert r.headers["x-docker-size"] == str(len(base_layer))
    assert r.headers["x-docker-checksum-payload"] == payload_checksum(raw, base_layer)
    assert r.headers["cache-control"].startswith("public")
    r = await client.get(f"/v1/images/{base}/layer")
    assert r.status_code == 200
    assert r.content == base_layer
    assert r.headers["accept-ranges"] == "bytes"


async def test_layer_invisible_until_checksum_verified(client: httpx.AsyncClient) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    await client.put(f"/v1/images/{image_id}/json", content=raw)
    await client.put(f"/v1/images/{image_id}/layer", content=layer)
    assert (await client.get(f"/v1/images/{image_id}/layer")).status_code == 400
    r = await client.get(f"/v1/images/{image_id}/json")
    assert r.status_code == 400
    assert r.json() == {"error": "Image is being uploaded, retry later"}
    checksum = payload_checksum(raw, layer)
    r = await client.put(f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": checksum})
    assert r.status_code == 200
    assert (await client.get(f"/v1/images/{image_id}/layer")).content == layer


async def test_checksum_mismatch_stores_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    await client.put(f"/v1/images/{image_id}/json", content=image_json(image_id))
    await client.put(f"/v1/images/{image_id}/layer", content=layer)
    r = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": "sha256:" + "0" * 64}
    )
    assert r.status_code == 400
    assert r.json() == {"error": "Checksum mismatch"}
    files = stored_files(settings)
    assert not any("layer" in f or "_uploads" in f for f in files), files
    assert (await client.get(f"/v1/images/{image_id}/layer")).status_code == 400


async def test_checksum_without_headers_is_412(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    await client.put(f"/v1/images/{image_id}/json", content=image_json(image_id))
    r = await client.put(f"/v1/images/{image_id}/checksum")
    assert r.status_code == 412


async def test_legacy_tarsum_only_checksum_accepted(client: httpx.AsyncClient) -> None:
    from wharf_registry.checksums import tarsums

    image_id, layer = random_image_id(), make_layer({"usr/bin/x": b"x" * 1000})
    raw = image_json(image_id)
    await client.put(f"/v1/images/{image_id}/json", content=raw)
    await client.put(f"/v1/images/{image_id}/layer", content=layer)
    import gzip
    import io

    sums = tarsums(io.BytesIO(gzip.decompress(layer)), raw)
    v0 = next(s for s in sums if s.startswith("tarsum+"))
    bad = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum": "tarsum+sha256:00"}
    )
    assert bad.status_code == 400
    await client.put(f"/v1/images/{image_id}/layer", content=layer)
    r = await client.put(f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum": v0})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/images/{image_id}/layer")).content == layer


async def test_put_json_twice_after_completion_conflicts(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    await push(client, image_id, make_layer({"a": b"1"}))
    r = await client.put(f"/v1/images/{image_id}/json", content=image_json(image_id))
    assert r.status_code == 409
    assert r.json() == {"error": "Image already exists"}


async def test_identical_layer_reupload_after_completion_succeeds(client: httpx.AsyncClient) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = await push(client, image_id, layer)
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    r = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    )
    assert r.status_code == 200
    r = await client.put(f"/v1/images/{image_id}/layer", content=make_layer({"other": b"2"}))
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Invalid JSON"),
        (b"[1, 2]", "Invalid JSON"),
        (b'{"parent": "x"}', "Missing key `id' in JSON"),
        (json.dumps({"id": "f" * 64}).encode(), "JSON data contains invalid id"),
    ],
)
async def test_malformed_image_json_rejected(client: httpx.AsyncClient, body: bytes, message: str) -> None:
    image_id = random_image_id()
    r = await client.put(f"/v1/images/{image_id}/json", content=body)
    assert r.status_code == 400
    assert r.json() == {"error": message}
    assert (await client.get(f"/v1/images/{image_id}/json")).status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "..%2F" + "0" * 60])
async def test_image_id_must_be_64_hex(client: httpx.AsyncClient, bad_id: str) -> None:
    r = await client.put(f"/v1/images/{bad_id}/json", content=image_json(bad_id))
    assert r.status_code in (400, 404)
    assert "error" in r.json()
    if "%2F" not in bad_id:
        assert r.status_code == 400
        assert r.json()["error"].startswith("Invalid image ID")


async def test_layer_before_json_is_404(client: httpx.AsyncClient, settings: Settings) -> None:
    image_id = random_image_id()
    r = await client.put(f"/v1/images/{image_id}/layer", content=b"data")
    assert r.status_code == 404
    assert r.json() == {"error": "Image not found"}
    assert stored_files(settings) == []


async def test_missing_parent_rejected(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    raw = image_json(image_id, parent=random_image_id())
    r = await client.put(f"/v1/images/{image_id}/json", content=raw)
    assert r.status_code == 400
    assert r.json() == {"error": "Image depends on a non existing parent"}


async def test_range_get_returns_206(client: httpx.AsyncClient) -> None:
    image_id, layer = random_image_id(), make_layer({"big": bytes(range(256)) * 40})
    await push(client, image_id, layer)
    r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206
    assert r.content == layer[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(layer)}"
    r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=100-"})
    assert r.content == layer[100:]
    r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": "bytes=-5"})
    assert r.content == layer[-5:]
    r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": f"bytes={len(layer)}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(layer)}"
    assert r.json() == {"error": "Requested range not satisfiable"}  # the v1 error shape, as every 4xx


async def test_if_modified_since_is_304(client: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    await push(client, image_id, make_layer({"a": b"1"}))
    r = await client.get(f"/v1/images/{image_id}/json", headers={"If-Modified-Since": "Thu, 01 Jan 1970"})
    assert r.status_code == 304


async def test_layer_stored_once_for_many_repositories(client: httpx.AsyncClient, settings: Settings) -> None:
    image_id = random_image_id()
    await push(client, image_id, make_layer({"a": b"1"}))
    for repo in ("alice/web", "bobby/web", "ubuntu"):
        r = await client.put(f"/v1/repositories/{repo}/tags/latest", content=json.dumps(image_id))
        assert r.status_code == 200
    layers = [f for f in stored_files(settings) if f.endswith("/layer")]
    assert layers == [f"images/{image_id}/layer"]


async def test_uploads_dir_empty_after_publish(client: httpx.AsyncClient, settings: Settings) -> None:
    image_id = random_image_id()
    await push(client, image_id, make_layer({"a": b"1"}))
    names = [f.removeprefix(f"images/{image_id}/") for f in stored_files(settings)]
    assert names == ["_checksum", "ancestry", "json", "layer"]


class StreamedStorage(FilesystemDriver):
    """Storage without local files (as S3): layers go out through ``read``."""

    def local_path(self, path: str) -> Path | None:
        return None


@pytest.mark.parametrize("local", [True, False], ids=["local-file", "streamed"])
async def test_layer_get_and_ranges_with_and_without_local_files(tmp_path: Path, local: bool) -> None:
    storage = FilesystemDriver(tmp_path / "data") if local else StreamedStorage(tmp_path / "data")
    app = create_app(Settings(data_root=tmp_path / "data"), storage=storage)
    layer = os.urandom(3 * CHUNK_SIZE + 123)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r.test") as client:
        image_id = random_image_id()
        await push(client, image_id, layer)
        r = await client.get(f"/v1/images/{image_id}/layer")
        assert (r.status_code, r.headers["content-length"]) == (200, str(len(layer)))
        assert r.content == layer
        r = await client.get(f"/v1/images/{image_id}/layer", headers={"Range": f"bytes={CHUNK_SIZE - 1}-"})
        assert r.status_code == 206
        assert r.content == layer[CHUNK_SIZE - 1 :]
        (tmp_path / "data" / "images" / image_id / "layer").unlink()
        r = await client.get(f"/v1/images/{image_id}/layer")
        assert (r.status_code, r.json()) == (404, {"error": "Image not found"})


class RecordingStorage(FilesystemDriver):
    """Notes which objects are stored durably, synced and deleted, in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.events: list[tuple[str, str]] = []

    async def put(self, path: str, data: bytes, *, durable: bool = True) -> None:
        await super().put(path, data, durable=durable)
        self.events.append(("durable" if durable else "written", path.rsplit("/", 1)[-1]))

    async def sync(self, paths: Sequence[str]) -> None:
        await super().sync(paths)
        self.events += [("synced", p.rsplit("/", 1)[-1]) for p in paths]

    async def delete(self, path: str) -> None:
        await super().delete(path)
        self.events.append(("deleted", path.rsplit("/", 1)[-1]))


async def test_everything_is_on_disk_before_the_checksum_publishes_it(tmp_path: Path) -> None:
    storage = RecordingStorage(tmp_path / "data")
    app = create_app(Settings(data_root=tmp_path / "data"), storage=storage)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r.test") as client:
        await push(client, random_image_id(), make_layer({"a": b"1"}))
    events = storage.events
    mark = events.index(("written", "_inprogress"))
    assert mark < events.index(("written", "json")) and mark < events.index(("written", "ancestry"))
    published = events.index(("durable", "_checksum"))
    for name in ("json", "ancestry", "layer"):
        assert events.index(("synced", name)) < published
    assert published < events.index(("deleted", "_inprogress"))


async def test_an_image_whose_mark_a_crash_lost_is_still_in_progress(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The mark is written without fsync: the missing checksum keeps the image unpublished."""
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    (settings.data_root / "images" / image_id / "_inprogress").unlink()  # as a crash may leave it
    r = await client.get(f"/v1/images/{image_id}/json")
    assert r.status_code == 400 and "being uploaded" in r.text
    assert (await client.get(f"/v1/images/{image_id}/layer")).status_code != 200
    # the client pushes again, from the JSON on, and the image is published
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    r = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/images/{image_id}/layer")).content == layer


async def test_a_checksum_record_cut_short_by_a_crash_is_skipped(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    raw = image_json(image_id)
    await client.put(f"/v1/images/{image_id}/json", content=raw)
    for _ in range(2):
        assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    records = sorted((settings.data_root / "images" / image_id / "_uploads").glob("*.sum"))
    assert len(records) == 2
    records[0].write_bytes(b"")  # as a record written without fsync may come back after a crash
    r = await client.put(
        f"/v1/images/{image_id}/checksum", headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/images/{image_id}/layer")).content == layer
