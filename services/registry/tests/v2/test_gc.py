"""``wharf-registry gc`` over both protocols: manifests keep their blobs, v1 and v2 keep each other's."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi import FastAPI
from wharf_registry.gc import collect
from wharf_registry.testing import make_layer
from wharf_registry.v2.testing import DOCKER_MANIFEST, digest_of, push_blob, push_image

from .test_synthesis import push_v1

pytestmark = pytest.mark.anyio

NAME = "alice/web"


async def test_gc_keeps_what_either_protocol_serves_and_removes_the_rest(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    storage = app.state.storage
    kept_layer, dropped_layer = make_layer({"a": b"kept"}), make_layer({"b": b"dropped"})
    kept, _ = await push_image(client, NAME, "kept", [kept_layer])
    dropped, dropped_manifest = await push_image(client, NAME, "dropped", [dropped_layer])
    dropped_config = json.loads(dropped_manifest)["config"]["digest"]
    orphan = await push_blob(client, NAME, b"never referenced")
    v1_pushed = await push_v1(client, "old", [make_layer({"c": b"v1"})])
    assert (await client.get(f"/v2/{NAME}/manifests/old")).status_code == 200  # synthesised
    v1_tags = (await client.get(f"/v1/repositories/{NAME}/tags")).json()  # v2 images as v1 ones
    session = (await client.post(f"/v2/{NAME}/blobs/uploads/")).headers["docker-upload-uuid"]
    assert (await client.delete(f"/v2/{NAME}/manifests/{dropped}")).status_code == 202

    later = time.time() + 7200
    dry = await collect(storage, grace=0, dry_run=True, now=later, upload_ttl=3600)
    assert {b.digest for b in dry.blobs} == {orphan, digest_of(dropped_layer), dropped, dropped_config}
    assert dry.uploads == [session]
    # the only v1 image to go is the one synthesised from the deleted manifest
    assert [r.image_id for r in dry.removals if not r.uploads_only] == [v1_tags["dropped"]]
    assert any(line.startswith(f"would remove blob {orphan}") for line in dry.lines())
    assert (await client.head(f"/v2/bob/x/blobs/{orphan}")).status_code == 404  # (other repo)
    assert storage.local_path(f"blobs/sha256/{orphan[7:9]}/{orphan[7:]}/data").exists()  # dry run

    report = await collect(storage, grace=0, now=later, upload_ttl=3600)
    assert {b.digest for b in report.blobs} == {b.digest for b in dry.blobs}
    assert report.uploads == [session]
    assert (await client.head(f"/v2/{NAME}/blobs/{orphan}")).status_code == 404
    assert (await client.get(f"/v2/{NAME}/blobs/uploads/{session}")).status_code == 404
    # everything still tagged pulls, over both protocols
    for tag in ("kept", "old"):
        r = await client.get(f"/v2/{NAME}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST})
        assert r.status_code == 200
        for layer in r.json()["layers"]:
            assert (await client.get(f"/v2/{NAME}/blobs/{layer['digest']}")).status_code == 200
    assert (await client.get(f"/v2/{NAME}/blobs/{digest_of(kept_layer)}")).content == kept_layer
    for tag in ("kept", "old"):
        image_id = (await client.get(f"/v1/repositories/{NAME}/tags")).json()[tag]
        assert (await client.get(f"/v1/images/{image_id}/layer")).status_code == 200
    assert v1_tags["old"] == v1_pushed[-1][0]
    assert kept != dropped
