"""The v2 API on the S3 driver (a real ``moto_server``): uploads, manifests, both protocols."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from wharf_registry.app import create_app
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id
from wharf_registry.v2.testing import OCI_MANIFEST, digest_of, error_code, push_image

from .test_driver_conformance import s3_endpoint, s3_settings

pytestmark = pytest.mark.anyio
__all__ = ["s3_endpoint"]  # (the fixture, used by name)

NAME = "alice/web"


@pytest.fixture
async def s3_client(s3_endpoint: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_root=tmp_path, storage=s3_settings(s3_endpoint, prefix="v2/"))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as c:
        yield c


async def test_push_and_pull_over_both_protocols_on_s3(s3_client: httpx.AsyncClient) -> None:
    client = s3_client
    layers = [make_layer({"etc/a": b"a" * 3000}), make_layer({"etc/b": b"b\n"})]
    digest, raw = await push_image(client, NAME, "1", layers, OCI_MANIFEST)
    r = await client.get(f"/v2/{NAME}/manifests/1")
    assert r.status_code == 200 and r.content == raw and r.headers["docker-content-digest"] == digest
    for layer in layers:
        blob = await client.get(f"/v2/{NAME}/blobs/{digest_of(layer)}")
        assert blob.content == layer
    part = await client.get(f"/v2/{NAME}/blobs/{digest_of(layers[0])}", headers={"Range": "bytes=1-4"})
    assert part.status_code == 206 and part.content == layers[0][1:5]
    # chunked: several chunks are concatenated on S3
    data = b"x" * 5000 + b"y" * 5000
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    location = r.headers["location"]
    await client.patch(location, content=data[:5000], headers={"Content-Range": "0-4999"})
    await client.patch(location, content=data[5000:], headers={"Content-Range": "5000-9999"})
    r = await client.put(location, params={"digest": digest_of(data)})
    assert r.status_code == 201
    assert (await client.get(f"/v2/{NAME}/blobs/{digest_of(data)}")).content == data
    # a wrong digest stores nothing
    r = await client.post(f"/v2/{NAME}/blobs/uploads/", params={"digest": digest_of(b"z")}, content=b"not z")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert (await client.head(f"/v2/{NAME}/blobs/{digest_of(b'not z')}")).status_code == 404
    # v2 → v1
    image_id = (await client.get(f"/v1/repositories/{NAME}/tags")).json()["1"]
    ancestry = (await client.get(f"/v1/images/{image_id}/ancestry")).json()
    got = [(await client.get(f"/v1/images/{i}/layer")).content for i in reversed(ancestry)]
    assert got == layers
    config = json.loads(raw)["config"]["digest"]
    v1_json = (await client.get(f"/v1/images/{image_id}/json")).json()
    assert v1_json["config"] == json.loads((await client.get(f"/v2/{NAME}/blobs/{config}")).content)["config"]


async def test_v1_push_pulls_over_v2_on_s3(s3_client: httpx.AsyncClient) -> None:
    client = s3_client
    image_id, layer = random_image_id(), make_layer({"etc/v1": b"v1\n"})
    raw = image_json(image_id, config={"Cmd": ["sh"]})
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer)).status_code == 200
    checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    assert (await client.put(f"/v1/images/{image_id}/checksum", headers=checksum)).status_code == 200
    assert (await client.put(f"/v1/repositories/{NAME}/tags/old", json=image_id)).status_code == 200
    manifest = (await client.get(f"/v2/{NAME}/manifests/old")).json()
    assert [x["digest"] for x in manifest["layers"]] == [digest_of(layer)]
    assert (await client.get(f"/v2/{NAME}/blobs/{digest_of(layer)}")).content == layer
