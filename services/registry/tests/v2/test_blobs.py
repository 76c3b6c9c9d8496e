"""Blobs and uploads over v2 (an ASGI client on a filesystem storage)."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest
from wharf_registry.settings import Settings
from wharf_registry.v2.testing import digest_of, error_code, push_blob

pytestmark = pytest.mark.anyio

NAME = "alice/web"


async def test_base_answers_with_api_version(client: httpx.AsyncClient) -> None:
    for path in ("/v2/", "/v2"):
        r = await client.get(path)
        assert r.status_code == 200
        assert r.headers["docker-distribution-api-version"] == "registry/2.0"


async def test_chunked_upload_then_get_and_range(client: httpx.AsyncClient, settings: Settings) -> None:
    data = os.urandom(300_000)
    digest = digest_of(data)
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    assert r.status_code == 202
    assert r.headers["range"] == "0-0"
    location, upload_id = r.headers["location"], r.headers["docker-upload-uuid"]
    assert location == f"/v2/{NAME}/blobs/uploads/{upload_id}"
    for start in range(0, len(data), 100_000):
        chunk = data[start : start + 100_000]
        r = await client.patch(
            location, content=chunk, headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"}
        )
        assert r.status_code == 202, r.text
        assert r.headers["range"] == f"0-{start + len(chunk) - 1}"
    r = await client.get(location)
    assert r.status_code == 204 and r.headers["range"] == f"0-{len(data) - 1}"
    r = await client.put(location, params={"digest": digest})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v2/{NAME}/blobs/{digest}"
    assert r.headers["docker-content-digest"] == digest

    r = await client.head(f"/v2/{NAME}/blobs/{digest}")
    assert r.status_code == 200 and r.headers["content-length"] == str(len(data))
    assert r.headers["docker-content-digest"] == digest
    r = await client.get(f"/v2/{NAME}/blobs/{digest}")
    assert r.content == data
    r = await client.get(f"/v2/{NAME}/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    r = await client.get(f"/v2/{NAME}/blobs/{digest}", headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416
    # stored once, by digest; the session is gone
    blob = settings.data_root / "blobs/sha256" / digest[7:9] / digest[7:] / "data"
    assert blob.read_bytes() == data
    assert not (settings.data_root / "uploads" / upload_id).exists()


async def test_monolithic_post_and_put(client: httpx.AsyncClient) -> None:
    data = b"monolithic"
    r = await client.post(f"/v2/{NAME}/blobs/uploads/", params={"digest": digest_of(data)}, content=data)
    assert r.status_code == 201, r.text
    other = b"one put"
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    r = await client.put(r.headers["location"], params={"digest": digest_of(other)}, content=other)
    assert r.status_code == 201
    assert (await client.get(f"/v2/{NAME}/blobs/{digest_of(other)}")).content == other


async def test_digest_mismatch_is_digest_invalid_and_stores_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    location = r.headers["location"]
    await client.patch(location, content=b"the real bytes")
    r = await client.put(location, params={"digest": wrong})
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert (await client.head(f"/v2/{NAME}/blobs/{wrong}")).status_code == 404
    assert (await client.head(f"/v2/{NAME}/blobs/{digest_of(b'the real bytes')}")).status_code == 404
    assert not [p for p in settings.data_root.rglob("*") if p.is_file() and "uploads" in p.parts]
    assert not [p for p in settings.data_root.rglob("*") if p.is_file() and "blobs" in p.parts]
    r = await client.post(f"/v2/{NAME}/blobs/uploads/", params={"digest": wrong}, content=b"x")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    r = await client.post(f"/v2/{NAME}/blobs/uploads/", params={"digest": "md5:abc"}, content=b"x")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


async def test_chunk_with_gap_or_overlap_is_416(client: httpx.AsyncClient) -> None:
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    location = r.headers["location"]
    r = await client.patch(location, content=b"0123456789", headers={"Content-Range": "0-9"})
    assert r.status_code == 202
    gap = await client.patch(location, content=b"abc", headers={"Content-Range": "20-22"})
    assert gap.status_code == 416 and error_code(gap) == "BLOB_UPLOAD_INVALID"
    assert gap.headers["range"] == "0-9"
    overlap = await client.patch(location, content=b"abc", headers={"Content-Range": "5-7"})
    assert overlap.status_code == 416
    short = await client.patch(location, content=b"abc", headers={"Content-Range": "10-19"})
    assert short.status_code == 416
    r = await client.put(location, params={"digest": digest_of(b"0123456789")})
    assert r.status_code == 201, r.text  # what was accepted is intact


async def test_upload_of_another_repository_is_unknown(client: httpx.AsyncClient) -> None:
    r = await client.post(f"/v2/{NAME}/blobs/uploads/")
    upload_id = r.headers["docker-upload-uuid"]
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        r = await client.request(
            method, f"/v2/bob/web/blobs/uploads/{upload_id}", params={"digest": digest_of(b"")}, content=b""
        )
        assert r.status_code == 404, method
        assert error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    r = await client.get(f"/v2/{NAME}/blobs/uploads/../../etc")
    assert r.status_code in (400, 404)
    assert (await client.get(f"/v2/{NAME}/blobs/uploads/{upload_id}")).status_code == 204


async def test_blob_of_another_repository_is_unknown_until_mounted(client: httpx.AsyncClient) -> None:
    data = b"shared layer"
    digest = await push_blob(client, NAME, data)
    r = await client.get(f"/v2/bob/app/blobs/{digest}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    r = await client.post("/v2/bob/app/blobs/uploads/", params={"mount": digest, "from": NAME})
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/bob/app/blobs/{digest}"
    assert (await client.get(f"/v2/bob/app/blobs/{digest}")).content == data
    # nothing to mount: a session instead
    r = await client.post("/v2/bob/app/blobs/uploads/", params={"mount": digest_of(b"no"), "from": NAME})
    assert r.status_code == 202 and "docker-upload-uuid" in r.headers
    # DELETE: the repository forgets it, the other keeps it
    assert (await client.delete(f"/v2/bob/app/blobs/{digest}")).status_code == 202
    assert (await client.head(f"/v2/bob/app/blobs/{digest}")).status_code == 404
    assert (await client.head(f"/v2/{NAME}/blobs/{digest}")).status_code == 200


async def test_names_with_path_tricks_are_name_invalid(client: httpx.AsyncClient) -> None:
    for name in ("..%2f..%2fetc", "alice/%2e%2e/bob", "Alice/web", "a/b/c", "-x/y", "alice/.web"):
        r = await client.post(f"/v2/{name}/blobs/uploads/")
        assert r.status_code in (400, 404), (name, r.status_code)
        if r.status_code == 400:
            assert error_code(r) == "NAME_INVALID"
    r = await client.get("/v2/alice/%2e%2e/bob/tags/list")
    assert r.status_code in (400, 404)


async def test_blob_over_the_limit_is_413(tmp_path: object, settings: Settings) -> None:
    from wharf_registry.app import create_app

    small = settings.model_copy(
        update={"uploads": settings.uploads.model_copy(update={"max_layer_size": 100})}
    )
    transport = httpx.ASGITransport(app=create_app(small))
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as c:
        r = await c.post(f"/v2/{NAME}/blobs/uploads/")
        r = await c.patch(r.headers["location"], content=b"x" * 101)
        assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"
