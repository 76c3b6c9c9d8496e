"""Fakes for the v2 push and pull tests: an engine's stores in a temporary root behind a registry
faked with httpx.MockTransport, and a registry that takes pushes."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any, cast

import httpx
from wharf_engine.daemon import push
from wharf_engine.daemon.events import EventBus
from wharf_engine.distribution import AuthConfig, RegistryService
from wharf_engine.distribution.v2meta import BlobMetadataStore
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
    """The stores push and pull use; with ``layers``, an image of them tagged ``NAME:latest``."""

    def __init__(self, root: Path, handler: Any, layers: list[bytes] | None = None) -> None:
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
        if layers is None:
            return
        self.diff_ids = [self.layers.register(io.BytesIO(raw)).diff_id for raw in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
        }
        self.image_id = self.images.create(config)
        self.references.add(f"{NAME}:latest", self.image_id)


class Registry:
    """Blob PUTs wait until ``together`` of them are in flight: a one-at-a-time push would stall."""

    def __init__(self, together: int = 0) -> None:
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


__all__ = ["NAME", "FakeDaemon", "Registry", "run_push", "tar"]
