"""Index mode: image ids are scoped to the repositories they were pushed to (router level, over ASGI).

An image in progress belongs to its pusher's repository; a complete image is "already there" only
for a repository that holds it, and another repository gets it only by sending its very JSON and
layer; uploads have size limits and namespaces an optional quota.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.tokens import Access, TokenSigner, public_key_pem
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings
from wharf_registry.quotas import UploadLimits
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio

DIFFERS = {"error": "Image already exists with different content"}
BUSY = {"error": "Image is being uploaded to another repository, retry later"}


@pytest.fixture
def hub() -> TokenSigner:
    return TokenSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def limits() -> UploadLimits:
    return UploadLimits()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def client(
    tmp_path: Path, data: Path, hub: TokenSigner, limits: UploadLimits
) -> AsyncIterator[httpx.AsyncClient]:
    key = tmp_path / "token-signing.pub.pem"
    key.write_bytes(public_key_pem(hub.public_key))
    settings = Settings(data_root=data, index=IndexSettings(public_key=key), uploads=limits)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
        yield c


def token(signer: TokenSigner, repository: str, access: Access = "write") -> dict[str, str]:
    return {"Authorization": "Token " + signer.issue(repository, access, "someone", 300)}


async def put(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    image_id: str,
    part: str,
    *,
    content: bytes | AsyncIterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.put(
        f"/v1/images/{image_id}/{part}", headers={**auth, **(headers or {})}, content=content
    )


async def push(
    client: httpx.AsyncClient, auth: dict[str, str], image_id: str, raw: bytes, layer: bytes
) -> list[httpx.Response]:
    """``PUT json``, ``layer``, ``checksum``: the three answers, stopping at the first refusal."""
    answers = [await put(client, auth, image_id, "json", content=raw)]
    if answers[-1].status_code == 200:
        answers.append(await put(client, auth, image_id, "layer", content=layer))
    if answers[-1].status_code == 200:
        checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        answers.append(await put(client, auth, image_id, "checksum", headers=checksum))
    return answers


def files(root: Path, under: str) -> list[str]:
    base = root / under
    return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()) if base.exists() else []


# ---- "already exists" is per repository ----------------------------------------------------


async def test_same_image_pushed_to_a_second_repository_is_proven_not_skipped(
    client: httpx.AsyncClient, hub: TokenSigner, data: Path
) -> None:
    image_id, layer = random_image_id(), make_layer({"bin/sh": b"#!"})
    raw = image_json(image_id)
    assert [r.status_code for r in await push(client, token(hub, "alice/base"), image_id, raw, layer)] == [
        200
    ] * 3
    bob = token(hub, "bobby/app")
    assert (await client.get(f"/v1/images/{image_id}/json", headers=bob)).status_code == 403  # not "exists"
    assert [r.status_code for r in await push(client, bob, image_id, raw, layer)] == [200] * 3
    r = await client.put("/v1/repositories/bobby/app/tags/latest", content=json.dumps(image_id), headers=bob)
    assert r.status_code == 200, r.text
    r = await client.get(f"/v1/images/{image_id}/layer", headers=token(hub, "bobby/app", "read"))
    assert (r.status_code, r.content) == (200, layer)
    assert files(data, f"images/{image_id}") == [
        f"images/{image_id}/{name}" for name in ("_checksum", "ancestry", "json", "layer")
    ]  # stored once; no upload, claim or mark left
    assert (await put(client, bob, image_id, "json", content=raw)).status_code == 409  # now it is there


async def test_other_content_under_an_existing_id_is_refused(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    """The attack: an id pushed first by another made the second pusher skip and tag the wrong content."""
    image_id, layer = random_image_id(), make_layer({"etc/motd": b"mallory's"})
    raw = image_json(image_id)
    await push(client, token(hub, "mallory/trap"), image_id, raw, layer)
    bob = token(hub, "bobby/app")
    r = await put(client, bob, image_id, "json", content=image_json(image_id, comment="bob's"))
    assert (r.status_code, r.json()) == (409, DIFFERS)
    assert (await put(client, bob, image_id, "json", content=raw)).status_code == 200  # same JSON: a claim
    r = await put(client, bob, image_id, "layer", content=make_layer({"etc/motd": b"bob's"}))
    assert (r.status_code, r.json()) == (409, DIFFERS)
    checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}  # public: no proof
    r = await put(client, bob, image_id, "checksum", headers=checksum)
    assert r.status_code == 403
    r = await client.put("/v1/repositories/bobby/app/tags/latest", content=json.dumps(image_id), headers=bob)
    assert r.status_code == 403
    r = await client.get(f"/v1/images/{image_id}/layer", headers=bob)
    assert r.status_code == 403


async def test_layer_without_the_json_proves_nothing(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"1"})
    await push(client, token(hub, "alice/base"), image_id, image_json(image_id), layer)
    r = await put(client, token(hub, "bobby/app"), image_id, "layer", content=layer)
    assert r.status_code == 403
    assert (
        await client.get(f"/v1/images/{image_id}/json", headers=token(hub, "bobby/app"))
    ).status_code == 403


# ---- uploads in progress belong to their repository ----------------------------------------


async def test_image_in_progress_cannot_be_overwritten_from_another_repository(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    image_id, layer = random_image_id(), make_layer({"a": b"alice"})
    raw = image_json(image_id)
    alice, mallory = token(hub, "alice/web"), token(hub, "mallory/x")
    assert (await put(client, alice, image_id, "json", content=raw)).status_code == 200
    evil_raw, evil_layer = image_json(image_id, comment="evil"), make_layer({"a": b"evil"})
    r = await put(client, mallory, image_id, "json", content=evil_raw)
    assert (r.status_code, r.json()) == (409, BUSY)
    r = await put(client, mallory, image_id, "layer", content=evil_layer)
    assert (r.status_code, r.json()) == (409, BUSY)
    assert (await put(client, alice, image_id, "layer", content=layer)).status_code == 200
    checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    r = await put(client, mallory, image_id, "checksum", headers=checksum)
    assert (r.status_code, r.json()) == (409, BUSY)
    assert (await put(client, alice, image_id, "checksum", headers=checksum)).status_code == 200
    r = await client.get(f"/v1/images/{image_id}/layer", headers=alice)
    assert (r.status_code, r.content) == (200, layer)


@pytest.mark.parametrize("limits", [UploadLimits(takeover_after=0.001)])
async def test_abandoned_upload_is_taken_over_after_a_while(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    image_id = random_image_id()
    assert (
        await put(client, token(hub, "alice/web"), image_id, "json", content=image_json(image_id))
    ).status_code == 200
    layer = make_layer({"a": b"b"})
    answers = await push(client, token(hub, "bobby/web"), image_id, image_json(image_id, comment="b"), layer)
    assert [r.status_code for r in answers] == [200] * 3


# ---- limits ----------------------------------------------------------------------------------


def chunked(data: bytes, size: int = 16 << 10) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def achunked(data: bytes) -> AsyncIterator[bytes]:
    for chunk in chunked(data):
        yield chunk


@pytest.mark.parametrize("limits", [UploadLimits(max_layer_size=64 << 10, max_image_json_size=2048)])
async def test_oversized_layer_is_413_and_leaves_nothing(
    client: httpx.AsyncClient, hub: TokenSigner, data: Path
) -> None:
    image_id = random_image_id()
    auth = token(hub, "alice/web")
    assert (await put(client, auth, image_id, "json", content=image_json(image_id))).status_code == 200
    big = bytes(range(256)) * 300  # 75 KiB
    r = await put(client, auth, image_id, "layer", content=achunked(big))  # chunked: no length given
    assert r.status_code == 413
    assert r.json() == {"error": "Layer exceeds the limit of 65536 bytes"}
    r = await put(client, auth, image_id, "layer", content=big)  # Content-Length: refused before reading
    assert r.status_code == 413
    assert [p for p in files(data, f"images/{image_id}") if "_uploads" in p or ".tmp" in p] == []
    r = await put(client, auth, image_id, "json", content=image_json(image_id, comment="x" * 4096))
    assert (r.status_code, r.json()) == (413, {"error": "Image JSON exceeds the limit of 2048 bytes"})
    small = make_layer({"a": b"1"})
    answers = await push(client, auth, image_id, image_json(image_id), small)
    assert [r.status_code for r in answers] == [200] * 3


@pytest.mark.parametrize("limits", [UploadLimits(namespace_quota=100 << 10)])
async def test_namespace_quota_is_413_and_leaves_nothing(
    client: httpx.AsyncClient, hub: TokenSigner, data: Path
) -> None:
    blob = bytes(range(256)) * 240  # 60 KiB each
    first, second = random_image_id(), random_image_id()
    alice = token(hub, "alice/one")
    assert [r.status_code for r in await push(client, alice, first, image_json(first), blob)] == [200] * 3
    two = token(hub, "alice/two")
    assert (await put(client, two, second, "json", content=image_json(second))).status_code == 200
    r = await put(client, two, second, "layer", content=achunked(blob + b"2"))
    assert (r.status_code, r.json()) == (
        413,
        {"error": "Upload exceeds the quota of namespace alice (102400 bytes)"},
    )
    assert [p for p in files(data, f"images/{second}") if "_uploads" in p or ".tmp" in p] == []
    other, third = token(hub, "bobby/one"), random_image_id()  # another namespace has its own quota
    assert [r.status_code for r in await push(client, other, third, image_json(third), blob)] == [200] * 3
