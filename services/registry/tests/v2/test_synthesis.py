"""One storage, both protocols: v1 push → v2 pull and v2 push → v1 pull, byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import json

import httpx
import pytest
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id
from wharf_registry.v2.testing import DOCKER_MANIFEST, OCI_MANIFEST, digest_of, push_image

pytestmark = pytest.mark.anyio

NAME = "alice/web"


async def push_v1(client: httpx.AsyncClient, tag: str, layers: list[bytes]) -> list[tuple[str, bytes]]:
    """v1 push of a chain of images (base first); [(image id, image JSON)]."""
    pushed: list[tuple[str, bytes]] = []
    parent = None
    for i, layer in enumerate(layers):
        image_id = random_image_id()
        raw = image_json(
            image_id,
            parent,
            created=f"2024-01-0{i + 1}T00:00:00Z",
            container_config={"Cmd": ["/bin/sh", "-c", f"step {i}"]},
            config={"Cmd": ["sh"], "Env": ["A=1"]},
            architecture="amd64",
            os="linux",
        )
        base = f"/v1/images/{image_id}"
        assert (await client.put(f"{base}/json", content=raw)).status_code == 200
        assert (await client.put(f"{base}/layer", content=layer)).status_code == 200
        r = await client.put(
            f"{base}/checksum", headers={"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        )
        assert r.status_code == 200, r.text
        pushed.append((image_id, raw))
        parent = image_id
    r = await client.put(f"/v1/repositories/{NAME}/tags/{tag}", json=parent)
    assert r.status_code == 200
    return pushed


async def test_v1_push_then_v2_pull(client: httpx.AsyncClient) -> None:
    layers = [make_layer({"etc/a": b"a\n"}), make_layer({"etc/b": b"b\n"}, compress=False)]
    pushed = await push_v1(client, "v1", layers)
    r = await client.get(f"/v2/{NAME}/manifests/v1")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == DOCKER_MANIFEST
    manifest = r.json()
    digest = r.headers["docker-content-digest"]
    assert digest == digest_of(r.content)
    # stable: the same bytes every time, by tag and by digest
    assert (await client.get(f"/v2/{NAME}/manifests/v1")).content == r.content
    assert (await client.get(f"/v2/{NAME}/manifests/{digest}")).content == r.content
    assert [x["digest"] for x in manifest["layers"]] == [digest_of(x) for x in layers]
    assert [x["mediaType"] for x in manifest["layers"]] == [
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
    ]
    for layer in layers:
        assert (await client.get(f"/v2/{NAME}/blobs/{digest_of(layer)}")).content == layer
    config = json.loads((await client.get(f"/v2/{NAME}/blobs/{manifest['config']['digest']}")).content)
    top = json.loads(pushed[-1][1])
    assert config["config"] == top["config"]
    assert config["rootfs"]["diff_ids"] == [digest_of(gzip.decompress(layers[0])), digest_of(layers[1])]
    assert [h["created_by"] for h in config["history"]] == ["/bin/sh -c step 0", "/bin/sh -c step 1"]
    assert (await client.get(f"/v2/{NAME}/tags/list")).json()["tags"] == ["v1"]
    # v2 → v1 of what v1 pushed gives the same images back
    assert (await client.get(f"/v1/repositories/{NAME}/tags")).json() == {"v1": pushed[-1][0]}


async def test_v2_push_then_v1_pull(client: httpx.AsyncClient) -> None:
    layers = [make_layer({"etc/one": b"1\n"}), make_layer({"etc/two": b"2\n"})]
    digest, raw = await push_image(client, NAME, "v2", layers, OCI_MANIFEST)
    config = json.loads((await client.get(f"/v2/{NAME}/blobs/{json.loads(raw)['config']['digest']}")).content)
    tags = (await client.get(f"/v1/repositories/{NAME}/tags")).json()
    top = tags["v2"]
    assert (await client.get(f"/v1/repositories/{NAME}/tags/v2")).json() == top
    ancestry = (await client.get(f"/v1/images/{top}/ancestry")).json()
    assert len(ancestry) == 2
    for image_id, layer in zip(reversed(ancestry), layers, strict=True):
        r = await client.get(f"/v1/images/{image_id}/layer")
        assert r.status_code == 200 and r.content == layer
        assert (await client.get(f"/v1/images/{image_id}/json")).headers["x-docker-size"] == str(len(layer))
    v1_json = (await client.get(f"/v1/images/{top}/json")).json()
    assert v1_json["config"] == config["config"] and v1_json["parent"] == ancestry[1]
    # stable ids: derived from the digests, the same after the v1 records are read again
    assert (await client.get(f"/v1/repositories/{NAME}/tags")).json()["v2"] == top
    expected = hashlib.sha256(
        f"{ancestry[1]}\n{digest_of(layers[1])}\n{json.loads(raw)['config']['digest']}".encode()
    )
    assert top == expected.hexdigest()
    # the same tag over v2 is still the pushed manifest
    assert (await client.get(f"/v2/{NAME}/manifests/v2")).headers["docker-content-digest"] == digest


async def test_artifacts_and_missing_images_are_not_pullable_over_v1(client: httpx.AsyncClient) -> None:
    await push_image(client, NAME, "plain", [b"x"])
    empty = b"{}"
    from wharf_registry.v2.testing import push_blob

    await push_blob(client, NAME, empty)
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.example+json", "digest": digest_of(empty), "size": 2},
            "layers": [],
        }
    ).encode()
    r = await client.put(
        f"/v2/{NAME}/manifests/art", content=artifact, headers={"Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 201
    tags = (await client.get(f"/v1/repositories/{NAME}/tags")).json()
    assert "art" not in tags and "plain" in tags
    assert (await client.get(f"/v1/repositories/{NAME}/tags/art")).status_code == 404
