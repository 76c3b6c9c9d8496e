"""Test helpers: pushing over v2 through an httpx client, as a client would (used by the tests only)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def push_blob(client: httpx.AsyncClient, name: str, data: bytes) -> str:
    digest = digest_of(data)
    r = await client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    r = await client.patch(r.headers["location"], content=data)
    assert r.status_code == 202, r.text
    r = await client.put(r.headers["location"], params={"digest": digest})
    assert r.status_code == 201, r.text
    return digest


def image_manifest(
    config: bytes, layers: list[bytes], media_type: str = DOCKER_MANIFEST, **extra: Any
) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": DOCKER_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": DOCKER_LAYER, "digest": digest_of(x), "size": len(x)} for x in layers],
            **extra,
        }
    ).encode()


def config_for(layers: list[bytes]) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(x) for x in layers]},
            "history": [{"created_by": "test"} for _ in layers],
        }
    ).encode()


async def push_image(
    client: httpx.AsyncClient, name: str, tag: str, layers: list[bytes], media_type: str = DOCKER_MANIFEST
) -> tuple[str, bytes]:
    config = config_for(layers)
    for blob in [config, *layers]:
        await push_blob(client, name, blob)
    manifest = image_manifest(config, layers, media_type)
    r = await client.put(
        f"/v2/{name}/manifests/{tag}", content=manifest, headers={"Content-Type": media_type}
    )
    assert r.status_code == 201, r.text
    return r.headers["docker-content-digest"], manifest


def error_code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0]["code"])
