"""The v2 push against a registry faked with httpx.MockTransport, on real stores in a temporary root."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from pathlib import Path

import httpx
import pytest
from wharf_engine.daemon import push_v2
from wharf_engine.distribution import RegistryService
from wharf_engine.distribution.v2meta import BlobRecord

from .v2fakes import NAME, FakeDaemon, Registry, run_push, tar

LAYERS = [tar({f"f{i}": b"x" * 1000 * i}) for i in (1, 2, 3)]


def test_layers_upload_at_the_same_time_and_the_manifest_names_them(tmp_path: Path) -> None:
    registry = Registry(together=3)
    daemon = FakeDaemon(tmp_path, registry, LAYERS)
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
    daemon = FakeDaemon(tmp_path, registry, LAYERS)
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
    daemon = FakeDaemon(tmp_path, registry, LAYERS)
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
