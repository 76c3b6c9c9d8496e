"""The pull against a registry faked with httpx.MockTransport, on real stores in a temporary root."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from wharf_common.errors import WharfError
from wharf_engine.daemon import pull
from wharf_engine.daemon.events import EventBus
from wharf_engine.distribution import (
    AuthConfig,
    LayerVerificationFailed,
    PullAccessDenied,
    RegistryService,
    TagNotFound,
    V1IdStore,
)
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.store import LayerStore
from wharf_engine.settings import Settings

BASE, TOP = "1" * 64, "2" * 64
Handler = Callable[[httpx.Request], httpx.Response]


def layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


class FakeDaemon:
    def __init__(self, root: Path, registry: Handler | None = None) -> None:
        self.settings = Settings(data_root=root)
        transport = httpx.MockTransport(registry) if registry else None
        self.registries = RegistryService("http://127.0.0.1:9", ["127.0.0.0/8"], transport=transport)
        self.layers = LayerStore(root)
        self.images = ImageStore(root)
        self.references = ReferenceStore(root)
        self.v1ids = V1IdStore(root)
        self.events = EventBus()
        self.image_lock = asyncio.Lock()
        self.layer_register_lock = asyncio.Lock()


class FakeRegistry:
    def __init__(self) -> None:
        self.layers = {BASE: layer({"bin/sh": b"#!sh\n"}), TOP: layer({"greeting": b"hello\n"})}
        self.jsons = {
            BASE: json.dumps(
                {
                    "id": BASE,
                    "created": "2024-01-01T00:00:00Z",
                    "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD x"]},
                }
            ).encode(),
            TOP: json.dumps(
                {
                    "id": TOP,
                    "parent": BASE,
                    "created": "2024-01-02T00:00:00Z",
                    "config": {"Cmd": ["cat", "/greeting"]},
                    "os": "linux",
                }
            ).encode(),
        }
        self.checksums = {
            i: "sha256:" + hashlib.sha256(self.jsons[i] + b"\n" + self.layers[i]).hexdigest()
            for i in self.layers
        }
        self.requests: list[str] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/":  # a v1-only registry: the engine falls back to v1
            return httpx.Response(404)
        self.requests.append(f"{request.method} {path}")
        if path == "/v1/_ping":  # no X-Docker-Registry-Standalone: a standalone registry
            return httpx.Response(200, json={})
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "nope"})
        if path == "/v1/repositories/user/web/images":
            return httpx.Response(200, json=[])
        if path == "/v1/repositories/user/web/tags/v1":
            return httpx.Response(200, json=TOP)
        if path.startswith("/v1/repositories/"):
            return httpx.Response(404, json={"error": "Tag not found"})
        image_id, what = path.split("/")[3:5]
        if what == "ancestry":
            return httpx.Response(200, json=[TOP, BASE])
        if what == "json":
            headers = {
                "X-Docker-Size": str(len(self.layers[image_id])),
                "X-Docker-Checksum-Payload": self.checksums[image_id],
            }
            return httpx.Response(200, content=self.jsons[image_id], headers=headers)
        return httpx.Response(200, content=self.layers[image_id])


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


async def run_pull(daemon: FakeDaemon, tag: str = "v1") -> list[dict[str, Any]]:
    return [m async for m in pull.image_pull(cast(Any, daemon), "127.0.0.1:5000/user/web", tag, AuthConfig())]


def test_pull_registers_layers_then_tags_a_stable_image(tmp_path: Path, registry: FakeRegistry) -> None:
    daemon = FakeDaemon(tmp_path, registry)
    messages = asyncio.run(run_pull(daemon))
    assert messages[0] == {"status": "Pulling from user/web", "id": "v1"}
    assert messages[-1] == {"status": "Status: Downloaded newer image for 127.0.0.1:5000/user/web:v1"}
    image_id = daemon.references.get("127.0.0.1:5000/user/web:v1")
    assert image_id is not None
    config = daemon.images.get(image_id)
    assert config["config"] == {"Cmd": ["cat", "/greeting"]}
    assert [h["created_by"] for h in config["history"]] == ["/bin/sh -c #(nop) ADD x", ""]
    assert all(daemon.layers.has(d) for d in config["rootfs"]["diff_ids"])
    assert V1IdStore(tmp_path).image_id(image_id, BASE) == TOP
    assert list(daemon.layers.tmp.iterdir()) == []

    registry.requests.clear()
    again = asyncio.run(run_pull(daemon))
    assert [m["status"] for m in again[1:]] == [
        "Already exists",
        "Already exists",
        "Status: Image is up to date for 127.0.0.1:5000/user/web:v1",
    ]
    assert not [r for r in registry.requests if r.endswith("/layer")]


def test_pull_with_a_bad_checksum_leaves_no_image(tmp_path: Path, registry: FakeRegistry) -> None:
    registry.layers[TOP] = layer({"greeting": b"tampered\n"})
    daemon = FakeDaemon(tmp_path, registry)
    with pytest.raises(LayerVerificationFailed, match="checksum"):
        asyncio.run(run_pull(daemon))
    assert daemon.references.items() == [] and daemon.images.ids() == []
    assert list(daemon.layers.tmp.iterdir()) == []


def test_pull_refuses_a_json_that_lies_about_its_parent(tmp_path: Path, registry: FakeRegistry) -> None:
    registry.jsons[TOP] = json.dumps({"id": TOP, "parent": "3" * 64}).encode()
    with pytest.raises(LayerVerificationFailed, match="parent"):
        asyncio.run(run_pull(FakeDaemon(tmp_path, registry)))


def test_pull_unknown_tag_fails_before_any_message(tmp_path: Path, registry: FakeRegistry) -> None:
    stream = pull.image_pull(
        cast(Any, FakeDaemon(tmp_path, registry)), "127.0.0.1:5000/user/web", "nope", AuthConfig()
    )
    with pytest.raises(
        TagNotFound, match=re.escape("Tag nope not found in repository 127.0.0.1:5000/user/web")
    ):
        asyncio.run(anext(stream))


def test_pull_denied_is_not_found_so_clients_do_not_prompt(tmp_path: Path, registry: FakeRegistry) -> None:
    registry.status = 401
    with pytest.raises(PullAccessDenied, match="authentication required"):
        asyncio.run(run_pull(FakeDaemon(tmp_path, registry)))


@pytest.mark.parametrize(
    ("name", "message"),
    [("127.0.0.1:5000/Web", "must be lowercase"), ("127.0.0.1:5000/web@sha256:" + "a" * 64, "by digest")],
)
def test_pull_refuses_names_it_cannot_serve(tmp_path: Path, name: str, message: str) -> None:
    stream = pull.image_pull(cast(Any, FakeDaemon(tmp_path)), name, None, AuthConfig())
    with pytest.raises(WharfError, match=message):
        asyncio.run(anext(stream))
