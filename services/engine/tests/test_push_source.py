"""A layer the engine keeps gzipped as it came (pulled, or loaded from a compressed archive) is pushed
as those very bytes, not compressed again; a layer kept as a plain tar is compressed. Real stores in
a temporary root; the registry is faked with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from wharf_engine.daemon import push, push_v2
from wharf_engine.daemon.events import EventBus
from wharf_engine.distribution import AuthConfig, RegistryService
from wharf_engine.distribution.v2meta import BlobMetadataStore
from wharf_engine.images.digests import RepoDigestStore
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.store import LayerStore

NAME = "127.0.0.1:5000/team/app"


def tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Registry:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.manifest = b""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
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
                202, headers={"Location": f"/v2/team/app/blobs/uploads/u{len(self.uploads)}"}
            )
        if method == "PATCH":
            self.uploads[path] = self.uploads.get(path, b"") + await request.aread()
            return httpx.Response(202, headers={"Location": path})
        if method == "PUT" and "/blobs/uploads/" in path:
            body = self.uploads.pop(path, b"") + await request.aread()
            digest = request.url.params["digest"]
            assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
            self.blobs[digest] = body
            return httpx.Response(201)
        if method == "PUT" and "/manifests/" in path:
            self.manifest = await request.aread()
            return httpx.Response(201)
        return httpx.Response(404)


class FakeDaemon:
    def __init__(self, root: Path, registry: Registry, layers: list[bytes]) -> None:
        self.registries = RegistryService(
            "http://127.0.0.1:9", ["127.0.0.0/8"], transport=httpx.MockTransport(registry)
        )
        self.layers = LayerStore(root)
        self.images = ImageStore(root)
        self.references = ReferenceStore(root)
        self.repo_digests = RepoDigestStore(root)
        self.blob_metadata = BlobMetadataStore(root)
        self.events = EventBus()
        self.image_lock = asyncio.Lock()
        self.diff_ids = [self.layers.register(io.BytesIO(raw)).diff_id for raw in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
        }
        self.image_id = self.images.create(config)
        self.references.add(f"{NAME}:latest", self.image_id)


@pytest.mark.parametrize("big", [False, True])
def test_a_gzipped_layer_goes_out_as_it_came_a_plain_one_is_compressed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, big: bool
) -> None:
    if big:
        monkeypatch.setattr(push_v2, "WHOLE_UP_TO", 0)  # the streamed PATCH, not the held PUT
    kept = gzip.compress(tar("pulled.bin", os.urandom(3 << 20)), compresslevel=1, mtime=0)
    plain = tar("built.bin", b"text " * 200_000)
    registry = Registry()
    daemon = FakeDaemon(tmp_path, registry, [kept, plain])
    assert daemon.layers.gzip_source(daemon.diff_ids[0]) is not None
    assert daemon.layers.gzip_source(daemon.diff_ids[1]) is None
    messages = asyncio.run(_run(daemon))
    layers = json.loads(registry.manifest)["layers"]
    assert layers[0]["digest"] == "sha256:" + hashlib.sha256(kept).hexdigest()  # the very bytes
    assert registry.blobs[layers[0]["digest"]] == kept and layers[0]["size"] == len(kept)
    sent_plain = registry.blobs[layers[1]["digest"]]
    assert sent_plain != plain and gzip.decompress(sent_plain) == plain  # compressed here
    assert [m["status"] for m in messages if m.get("status") == "Pushed"] == ["Pushed"] * 2


async def _run(daemon: FakeDaemon) -> list[dict[str, Any]]:
    return [m async for m in push.image_push(cast(Any, daemon), NAME, "latest", AuthConfig())]
