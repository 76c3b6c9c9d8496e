"""Manifests, tags, the catalog and referrers over v2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from wharf_registry.settings import Settings
from wharf_registry.v2.testing import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    config_for,
    digest_of,
    error_code,
    image_manifest,
    push_blob,
    push_image,
)

pytestmark = pytest.mark.anyio

NAME = "alice/web"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


async def test_manifest_by_tag_and_digest(client: httpx.AsyncClient) -> None:
    digest, manifest = await push_image(client, NAME, "1.0", [b"layer one", b"layer two"])
    assert digest == digest_of(manifest)
    for ref in ("1.0", digest):
        r = await client.get(f"/v2/{NAME}/manifests/{ref}", headers={"Accept": DOCKER_MANIFEST})
        assert r.status_code == 200
        assert r.content == manifest
        assert r.headers["content-type"] == DOCKER_MANIFEST
        assert r.headers["docker-content-digest"] == digest
        head = await client.head(f"/v2/{NAME}/manifests/{ref}")
        assert head.status_code == 200 and head.headers["content-length"] == str(len(manifest))
    r = await client.get(f"/v2/{NAME}/manifests/nope")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    # the same manifest by digest in a repository that does not hold it
    r = await client.get(f"/v2/bob/web/manifests/{digest}")
    assert r.status_code == 404


async def test_oci_manifest_and_both_kinds_of_index(client: httpx.AsyncClient) -> None:
    amd, _ = await push_image(client, NAME, "amd", [b"amd layer"], OCI_MANIFEST)
    arm, _ = await push_image(client, NAME, "arm", [b"arm layer"], OCI_MANIFEST)
    for media_type in (OCI_INDEX, DOCKER_LIST):
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media_type,
                "manifests": [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": d,
                        "size": 1,
                        "platform": {"architecture": a, "os": "linux"},
                    }
                    for d, a in ((amd, "amd64"), (arm, "arm64"))
                ],
            }
        ).encode()
        r = await client.put(
            f"/v2/{NAME}/manifests/multi", content=index, headers={"Content-Type": media_type}
        )
        assert r.status_code == 201, r.text
        r = await client.get(f"/v2/{NAME}/manifests/multi")
        assert r.headers["content-type"] == media_type and r.content == index


async def test_manifest_referencing_unknown_blob(client: httpx.AsyncClient) -> None:
    config = config_for([b"never pushed"])
    await push_blob(client, NAME, config)
    manifest = image_manifest(config, [b"never pushed"])
    r = await client.put(
        f"/v2/{NAME}/manifests/x", content=manifest, headers={"Content-Type": DOCKER_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert r.json()["errors"][0]["detail"]["digest"] == digest_of(b"never pushed")
    # a blob of another repository is unknown to this one too
    await push_blob(client, "bob/other", b"never pushed")
    r = await client.put(
        f"/v2/{NAME}/manifests/x", content=manifest, headers={"Content-Type": DOCKER_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert (await client.get(f"/v2/{NAME}/manifests/x")).status_code == 404
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest_of(b"nothing"), "size": 7}],
        }
    ).encode()
    r = await client.put(f"/v2/{NAME}/manifests/i", content=index, headers={"Content-Type": OCI_INDEX})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"


async def test_invalid_manifests(client: httpx.AsyncClient) -> None:
    cases = [
        (b"{not json", DOCKER_MANIFEST),
        (b"[]", DOCKER_MANIFEST),
        (json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST}).encode(), DOCKER_MANIFEST),
        (json.dumps({"schemaVersion": 3, "config": {}, "layers": []}).encode(), OCI_MANIFEST),
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), "text/plain"),
    ]
    for body, content_type in cases:
        r = await client.put(
            f"/v2/{NAME}/manifests/bad", content=body, headers={"Content-Type": content_type}
        )
        assert r.status_code == 400, body
        assert error_code(r) == "MANIFEST_INVALID"
    schema1 = json.dumps({"schemaVersion": 1, "name": NAME, "tag": "x", "fsLayers": []}).encode()
    r = await client.put(
        f"/v2/{NAME}/manifests/old",
        content=schema1,
        headers={"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    assert "schema 1 is not supported" in r.json()["errors"][0]["message"]
    # the digest in the URL must be the manifest's
    config = config_for([])
    await push_blob(client, NAME, config)
    manifest = image_manifest(config, [])
    r = await client.put(
        f"/v2/{NAME}/manifests/{digest_of(b'other')}",
        content=manifest,
        headers={"Content-Type": DOCKER_MANIFEST},
    )
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    r = await client.put(f"/v2/{NAME}/manifests/bad%20tag", content=manifest)
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"


async def test_manifest_over_the_size_limit_is_413(settings: Settings) -> None:
    from wharf_registry.app import create_app

    small = settings.model_copy(update={"v2": settings.v2.model_copy(update={"max_manifest_size": 1000})})
    transport = httpx.ASGITransport(app=create_app(small))
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as c:
        body = json.dumps({"schemaVersion": 2, "annotations": {"x": "y" * 2000}}).encode()
        r = await c.put(f"/v2/{NAME}/manifests/big", content=body, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"

        async def chunked() -> AsyncIterator[bytes]:
            yield body

        r = await c.put(
            f"/v2/{NAME}/manifests/big", content=chunked(), headers={"Content-Type": OCI_MANIFEST}
        )
        assert r.status_code == 413


async def test_tags_list_paginates_and_shares_v1_tags(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/v2/{NAME}/tags/list")
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"
    _digest, _ = await push_image(client, NAME, "a", [b"l"])
    for tag in ("c", "b", "d"):
        manifest = (await client.get(f"/v2/{NAME}/manifests/a")).content
        r = await client.put(
            f"/v2/{NAME}/manifests/{tag}", content=manifest, headers={"Content-Type": DOCKER_MANIFEST}
        )
        assert r.status_code == 201
    r = await client.get(f"/v2/{NAME}/tags/list")
    assert r.json() == {"name": NAME, "tags": ["a", "b", "c", "d"]}
    r = await client.get(f"/v2/{NAME}/tags/list", params={"n": 2})
    assert r.json()["tags"] == ["a", "b"]
    assert r.headers["link"] == f'</v2/{NAME}/tags/list?last=b&n=2>; rel="next"'
    r = await client.get(f"/v2/{NAME}/tags/list", params={"n": 2, "last": "b"})
    assert r.json()["tags"] == ["c", "d"] and "link" not in r.headers
    assert (await client.get(f"/v2/{NAME}/tags/list", params={"n": -1})).status_code == 400
    # v1 sees the same tags (one namespace); a v1 tag write replaces a v2 one
    v1 = await client.get(f"/v1/repositories/{NAME}/tags")
    assert v1.status_code == 200


async def test_catalog(client: httpx.AsyncClient) -> None:
    await push_image(client, "alice/web", "1", [b"x"])
    await push_image(client, "busybox", "1", [b"x"])
    await push_blob(client, "carol/empty", b"blob only")
    r = await client.get("/v2/_catalog")
    assert r.json() == {"repositories": ["alice/web", "library/busybox"]}
    r = await client.get("/v2/_catalog", params={"n": 1})
    assert r.json() == {"repositories": ["alice/web"]}
    assert r.headers["link"] == '</v2/_catalog?last=alice/web&n=1>; rel="next"'


async def test_delete_manifest_and_tag(client: httpx.AsyncClient) -> None:
    digest, _ = await push_image(client, NAME, "1", [b"x"])
    manifest = (await client.get(f"/v2/{NAME}/manifests/1")).content
    await client.put(f"/v2/{NAME}/manifests/2", content=manifest, headers={"Content-Type": DOCKER_MANIFEST})
    assert (await client.delete(f"/v2/{NAME}/manifests/2")).status_code == 202
    assert (await client.get(f"/v2/{NAME}/manifests/2")).status_code == 404
    assert (await client.get(f"/v2/{NAME}/manifests/1")).status_code == 200
    assert (await client.delete(f"/v2/{NAME}/manifests/{digest}")).status_code == 202
    for ref in ("1", digest):
        assert (await client.get(f"/v2/{NAME}/manifests/{ref}")).status_code == 404
    r = await client.delete(f"/v2/{NAME}/manifests/{digest}")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"


async def test_referrers(client: httpx.AsyncClient) -> None:
    subject, manifest = await push_image(client, NAME, "1", [b"x"], OCI_MANIFEST)
    empty = b"{}"
    await push_blob(client, NAME, empty)
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest_of(empty),
                "size": 2,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest_of(empty), "size": 2}
            ],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(manifest)},
            "annotations": {"org.example": "sbom"},
        }
    ).encode()
    artifact_digest = digest_of(artifact)
    r = await client.put(
        f"/v2/{NAME}/manifests/{artifact_digest}", content=artifact, headers={"Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    assert r.headers["oci-subject"] == subject
    r = await client.get(f"/v2/{NAME}/referrers/{subject}")
    assert r.status_code == 200 and r.headers["content-type"] == OCI_INDEX
    assert r.json()["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": artifact_digest,
            "size": len(artifact),
            "artifactType": "application/vnd.example.sbom",
            "annotations": {"org.example": "sbom"},
        }
    ]
    r = await client.get(f"/v2/{NAME}/referrers/{subject}", params={"artifactType": "other"})
    assert r.json()["manifests"] == [] and r.headers["oci-filters-applied"] == "artifactType"
    await client.delete(f"/v2/{NAME}/manifests/{artifact_digest}")
    assert (await client.get(f"/v2/{NAME}/referrers/{subject}")).json()["manifests"] == []
