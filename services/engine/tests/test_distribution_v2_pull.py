"""The v2 pull against a registry faked with httpx.MockTransport, on real stores in a temporary root."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from wharf_common.errors import NotFound
from wharf_engine.daemon import pull
from wharf_engine.distribution import AuthConfig, LayerVerificationFailed, RegistryError, RegistryService
from wharf_engine.distribution.manifests import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    OCI_MANIFEST,
    UnsupportedManifest,
)

from .v2fakes import NAME, FakeDaemon, tar


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class V2Registry:
    """One image per architecture (amd64: a gzip layer and a plain tar layer), behind a manifest list."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        entries = []
        for arch in ("arm64", "amd64"):
            plain = tar({"arch": arch.encode()})
            layers = [
                (gzip.compress(tar({"bin/sh": b"#!sh\n"}), mtime=0), DOCKER_LAYER),
                (plain, "application/vnd.oci.image.layer.v1.tar"),
            ]
            diff_ids = [digest(gzip.decompress(layers[0][0])), digest(plain)]
            config = json.dumps(
                {
                    "architecture": arch,
                    "os": "linux",
                    "config": {"Cmd": ["sh"]},
                    "rootfs": {"type": "layers", "diff_ids": diff_ids},
                }
            ).encode()
            self.blobs[digest(config)] = config
            descriptors = []
            for body, kind in layers:
                self.blobs[digest(body)] = body
                descriptors.append({"mediaType": kind, "digest": digest(body), "size": len(body)})
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "layers": descriptors,
                    "config": {"mediaType": DOCKER_CONFIG, "digest": digest(config), "size": len(config)},
                }
            ).encode()
            self.manifests[digest(manifest)] = (OCI_MANIFEST, manifest)
            self.manifests[arch] = (OCI_MANIFEST, manifest)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest(manifest),
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        index = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": entries}).encode()
        self.manifests["latest"] = self.manifests[digest(index)] = (DOCKER_LIST, index)
        self.list_digest = digest(index)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path == "/v2/":
            return httpx.Response(200, json={})
        kind, _, reference = path.removeprefix("/v2/team/app/").partition("/")
        if kind == "manifests" and reference in self.manifests:
            media, body = self.manifests[reference]
            return httpx.Response(200, content=body, headers={"Content-Type": media})
        if kind == "blobs" and reference in self.blobs:
            return httpx.Response(200, content=self.blobs[reference])
        code = "MANIFEST_UNKNOWN" if kind == "manifests" else "BLOB_UNKNOWN"
        return httpx.Response(
            404, json={"errors": [{"code": code, "message": code.lower().replace("_", " ")}]}
        )


async def run_pull(daemon: FakeDaemon, tag: str | None = "latest", platform: str | None = None) -> list[Any]:
    return [m async for m in pull.image_pull(cast(Any, daemon), NAME, tag, AuthConfig(), platform)]


def test_a_manifest_list_pulls_the_amd64_image_and_records_the_list_digest(tmp_path: Path) -> None:
    registry = V2Registry()
    daemon = FakeDaemon(tmp_path, registry)
    messages = asyncio.run(run_pull(daemon))
    assert messages[0] == {"status": "Pulling from team/app", "id": "latest"}
    assert {"status": f"Digest: {registry.list_digest}"} in messages
    image_id = daemon.references.get(f"{NAME}:latest")
    assert image_id is not None and daemon.images.get(image_id)["architecture"] == "amd64"
    assert daemon.repo_digests.refs_for(image_id) == [f"{NAME}@{registry.list_digest}"]
    diff_ids = daemon.images.get(image_id)["rootfs"]["diff_ids"]
    assert all(daemon.layers.has(d) for d in diff_ids)  # gzip and plain tar layers alike
    assert daemon.blob_metadata.records(diff_ids[0])[0].repository == "team/app"

    by_digest = asyncio.run(run_pull(daemon, registry.list_digest))
    assert by_digest[-1] == {"status": f"Status: Image is up to date for {NAME}@{registry.list_digest}"}
    assert [m["status"] for m in by_digest if m.get("id") and m["id"] != registry.list_digest] == [
        "Already exists",
        "Already exists",
    ]

    arm = asyncio.run(run_pull(FakeDaemon(tmp_path / "arm", registry), platform="linux/arm64"))
    assert arm[-1]["status"].startswith("Status: Downloaded newer image")


def test_a_layer_that_does_not_match_its_digest_leaves_no_image(tmp_path: Path) -> None:
    registry = V2Registry()
    _, amd64 = registry.manifests["amd64"]
    top = json.loads(amd64)["layers"][1]["digest"]
    registry.blobs[top] = tar({"arch": b"evil!"})  # same size, other bytes
    daemon = FakeDaemon(tmp_path, registry)
    with pytest.raises(LayerVerificationFailed, match="does not match its digest"):
        asyncio.run(run_pull(daemon))
    assert daemon.references.items() == [] and daemon.images.ids() == []
    assert list(daemon.layers.tmp.iterdir()) == []


def test_zstd_is_refused_before_any_download(tmp_path: Path) -> None:
    registry = V2Registry()
    _, amd64 = registry.manifests["amd64"]
    manifest = json.loads(amd64)
    manifest["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
    registry.manifests["zstd"] = (OCI_MANIFEST, json.dumps(manifest).encode())
    daemon = FakeDaemon(tmp_path, registry)
    with pytest.raises(UnsupportedManifest, match="zstd"):
        asyncio.run(anext(pull.image_pull(cast(Any, daemon), NAME, "zstd", AuthConfig())))
    assert not [r for r in registry.requests if "/blobs/" in r]


def test_unknown_tag_and_wrong_platform_are_not_found(tmp_path: Path) -> None:
    registry = V2Registry()
    daemon = FakeDaemon(tmp_path, registry)
    with pytest.raises(NotFound, match=f"manifest for {NAME}:nope not found: manifest unknown"):
        asyncio.run(run_pull(daemon, "nope"))
    registry.manifests["single"] = registry.manifests["amd64"]
    with pytest.raises(NotFound, match="does not match the specified platform: wanted linux/arm64"):
        asyncio.run(run_pull(daemon, "single", platform="linux/arm64"))
    with pytest.raises(NotFound, match="no matching manifest for linux/ppc64le"):
        asyncio.run(run_pull(daemon, platform="linux/ppc64le"))


def test_a_manifest_by_digest_must_hash_to_that_digest(tmp_path: Path) -> None:
    registry = V2Registry()
    wrong = "sha256:" + "f" * 64
    registry.manifests[wrong] = registry.manifests["amd64"]
    daemon = FakeDaemon(tmp_path, registry)
    with pytest.raises(RegistryError, match=f"is not {wrong}"):
        asyncio.run(run_pull(daemon, wrong))
    assert daemon.images.ids() == []


class GuardedRegistry(V2Registry):
    """``/v2/`` is open; the repository answers a Bearer challenge; the token server is elsewhere."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            self.requests.append(f"TOKEN {request.url.params['scope']}")
            return httpx.Response(200, json={"token": "tok", "expires_in": 300})
        if request.url.path != "/v2/" and request.headers.get("authorization") != "Bearer tok":
            self.requests.append(f"401 {request.url.path}")
            challenge = 'Bearer realm="http://auth.test/token",service="reg"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge}, json={"errors": []})
        return super().__call__(request)


def test_a_challenge_on_the_repository_is_answered_even_when_v2_was_open(tmp_path: Path) -> None:
    registry = GuardedRegistry()
    messages = asyncio.run(run_pull(FakeDaemon(tmp_path, registry)))
    assert messages[-1]["status"].startswith("Status: Downloaded newer image")
    assert registry.requests[1:3] == ["401 /v2/team/app/manifests/latest", "TOKEN repository:team/app:pull"]
    assert len([r for r in registry.requests if r.startswith("TOKEN")]) == 1  # kept for the other requests


def test_layers_download_at_the_same_time(tmp_path: Path) -> None:
    """Each blob answer waits until both layers were asked for: a one-at-a-time pull would stall."""
    registry = V2Registry()
    _, amd64 = registry.manifests["amd64"]
    wanted = {layer["digest"] for layer in json.loads(amd64)["layers"]}
    asked: set[str] = set()

    async def handler(request: httpx.Request) -> httpx.Response:
        digest_asked = request.url.path.rpartition("/")[2]
        if digest_asked in wanted:
            asked.add(digest_asked)
            for _ in range(500):
                if asked == wanted:
                    break
                await asyncio.sleep(0.01)
            assert asked == wanted, "the second layer was not asked for while the first was downloading"
        return registry(request)

    daemon = FakeDaemon(tmp_path, registry)
    daemon.registries = RegistryService(
        "http://127.0.0.1:9", ["127.0.0.0/8"], transport=httpx.MockTransport(handler)
    )
    messages = asyncio.run(run_pull(daemon))
    assert messages[-1]["status"].startswith("Status: Downloaded newer image")
