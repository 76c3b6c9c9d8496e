"""The v2 push against a registry faked with httpx.MockTransport, on real stores in a temporary root."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from wharf_engine.daemon import push, push_v2
from wharf_engine.daemon.events import EventBus
from wharf_engine.distribution import AuthConfig, RegistryService
from wharf_engine.distribution.v2meta import BlobMetadataStore, BlobRecord
from wharf_engine.images.digests import RepoDigestStore
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.store import LayerStore

NAME = "127.0.0.1:5000/team/app"


def tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeDaemon:
    def __init__(self, root: Path, handler: Any) -> None:
        self.registries = RegistryService(
            "http://127.0.0.1:9", ["127.0.0.0/8"], transport=httpx.MockTransport(handler)
        )
        self.layers = LayerStore(root)
        self.images = ImageStore(root)
        self.references = ReferenceStore(root)
        self.repo_digests = RepoDigestStore(root)
        self.blob_metadata = BlobMetadataStore(root)
        self.events = EventBus()
        self.image_lock = asyncio.Lock()
        diff_ids = [
            self.layers.register(io.BytesIO(tar({f"f{i}": b"x" * 1000 * i}))).diff_id for i in (1, 2, 3)
        ]
        config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        self.image_id = self.images.create(config)
        self.references.add(f"{NAME}:latest", self.image_id)
        self.diff_ids = diff_ids


class Registry:
    """Blob PUTs wait until ``together`` of them are in flight: a one-at-a-time push would stall."""

    def __init__(self, together: int) -> None:
        self.together = together
        self.in_flight = 0
        self.most = 0
        self.blobs: dict[str, bytes] = {}
        self.manifest = b""
        self.requests: list[str] = []
        self.patched: dict[str, bytes] = {}  # upload path -> the bytes PATCHed into it

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.requests.append(f"{method} {path}")
        if path == "/v2/":
            return httpx.Response(200, json={})
        if method == "HEAD":
            found = self.blobs.get(path.rpartition("/")[2])
            return (
                httpx.Response(200, headers={"Content-Length": str(len(found))})
                if found
                else httpx.Response(404)
            )
        if method == "POST":
            return httpx.Response(
                202, headers={"Location": f"/v2/team/app/blobs/uploads/u{len(self.requests)}"}
            )
        if method == "PATCH" and "/blobs/uploads/" in path:
            self.patched[path] = self.patched.get(path, b"") + await request.aread()
            return httpx.Response(202, headers={"Location": path})
        if method == "PUT" and "/blobs/uploads/" in path:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            body = self.patched.pop(path, b"") + await request.aread()
            if len(self.blobs) < self.together:  # the layers: wait for the others
                for _ in range(500):
                    if self.most >= self.together:
                        break
                    await asyncio.sleep(0.01)
            self.in_flight -= 1
            digest = request.url.params["digest"]
            assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
            self.blobs[digest] = body
            return httpx.Response(201)
        if method == "PUT" and "/manifests/" in path:
            self.manifest = await request.aread()
            return httpx.Response(
                201, headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(self.manifest).hexdigest()}
            )
        return httpx.Response(404)


async def run_push(daemon: FakeDaemon, name: str = NAME) -> list[dict[str, Any]]:
    return [m async for m in push.image_push(cast(Any, daemon), name, "latest", AuthConfig())]


def test_layers_upload_at_the_same_time_and_the_manifest_names_them(tmp_path: Path) -> None:
    registry = Registry(together=3)
    daemon = FakeDaemon(tmp_path, registry)
    messages = asyncio.run(run_push(daemon))
    assert registry.most == 3, registry.requests  # all three layers were in flight together
    manifest = json.loads(registry.manifest)
    assert [layer["digest"] for layer in manifest["layers"]] == [
        record.digest for record in (daemon.blob_metadata.records(d)[0] for d in daemon.diff_ids)
    ]
    for layer in manifest["layers"]:  # gzip of exactly the layer's tar
        assert (
            "sha256:" + hashlib.sha256(gzip.decompress(registry.blobs[layer["digest"]])).hexdigest()
            in daemon.diff_ids
        )
    digest = "sha256:" + hashlib.sha256(registry.manifest).hexdigest()
    assert {"status": f"latest: digest: {digest} size: {len(registry.manifest)}"} in messages
    assert daemon.repo_digests.refs_for(daemon.image_id) == [f"{NAME}@{digest}"]


def test_a_big_layer_streams_through_a_patch_and_the_put_names_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push_v2, "WHOLE_UP_TO", 0)  # every layer is "big"
    registry = Registry(together=0)
    daemon = FakeDaemon(tmp_path, registry)
    messages = asyncio.run(run_push(daemon))
    patches = [r for r in registry.requests if r.startswith("PATCH")]
    assert len(patches) == 3, registry.requests
    heads = [r for r in registry.requests if r.startswith("HEAD")]
    assert len(heads) == 1, registry.requests  # the config's; a streamed layer's digest comes last
    manifest = json.loads(registry.manifest)
    for layer in manifest["layers"]:  # the PUT's digest is the PATCHed bytes' (the fake asserts it too)
        body = registry.blobs[layer["digest"]]
        assert layer["size"] == len(body)
        assert "sha256:" + hashlib.sha256(gzip.decompress(body)).hexdigest() in daemon.diff_ids
    assert [m["status"] for m in messages if m.get("status") == "Pushed"] == ["Pushed"] * 3


def test_a_known_blob_is_mounted_from_the_other_repository(tmp_path: Path) -> None:
    registry = Registry(together=0)
    daemon = FakeDaemon(tmp_path, registry)
    asyncio.run(run_push(daemon))
    for diff_id in daemon.diff_ids:  # as if they had been pushed to team/other
        record = daemon.blob_metadata.records(diff_id)[0]
        daemon.blob_metadata.add(diff_id, BlobRecord(record.digest, record.registry, "team/other"))
    registry.requests.clear()

    async def mounting(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.params.get("from") == "team/other":
            return httpx.Response(201)
        return await registry(request)

    daemon.registries = RegistryService(
        "http://127.0.0.1:9", ["127.0.0.0/8"], transport=httpx.MockTransport(mounting)
    )
    daemon.references.add("127.0.0.1:5000/team/copy:latest", daemon.image_id)
    messages = asyncio.run(run_push(daemon, "127.0.0.1:5000/team/copy"))
    assert [m["status"] for m in messages if m.get("status", "").startswith("Mounted")] == [
        "Mounted from team/other"
    ] * 3
