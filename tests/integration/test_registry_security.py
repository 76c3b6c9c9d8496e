"""Attacks on a real ``wharf-registry`` in index mode, and that they now fail.

The test plays the hub (it signs ``X-Docker-Token`` values with its own Ed25519 key and hands the
registry the public half), so each user is a token for their own repository, as the hub would
issue it. Image ids are no secret (``parent`` fields, history, the tags API, webhooks), so every
attack here starts from knowing one. Every process started here is stopped by pid and every
temporary directory removed.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.tokens import Access, TokenSigner, public_key_pem
from wharf_registry.testing import RegistryProcess, image_json, make_layer, payload_checksum, random_image_id

NOT_THIS_IMAGE = {"error": "Token does not grant read access to this image"}
DIFFERS = {"error": "Image already exists with different content"}
BUSY = {"error": "Image is being uploaded to another repository, retry later"}
LAYER_LIMIT = 256 << 10
QUOTA = 700 << 10


@pytest.fixture(scope="module")
def hub() -> TokenSigner:
    return TokenSigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def public_key(hub: TokenSigner) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wharf-hub-keys-") as root:
        path = Path(root) / "token-signing.pub.pem"
        path.write_bytes(public_key_pem(hub.public_key))
        yield path


@pytest.fixture(scope="module")
def registry(public_key: Path) -> Iterator[RegistryProcess]:
    reg = RegistryProcess(index_public_key=public_key)
    try:
        reg.start(
            env={
                "WHARF_REGISTRY_UPLOADS__MAX_LAYER_SIZE": str(LAYER_LIMIT),
                "WHARF_REGISTRY_UPLOADS__MAX_IMAGE_JSON_SIZE": "8192",
                "WHARF_REGISTRY_UPLOADS__NAMESPACE_QUOTA": str(QUOTA),
            }
        )
        yield reg
        assert reg.stop() == 0, reg.log.read_text()[-2000:]
    finally:
        reg.cleanup()


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def token(signer: TokenSigner, repository: str, access: Access = "write") -> dict[str, str]:
    return {"Authorization": "Token " + signer.issue(repository, access, repository.split("/")[0], 300)}


def chunked(data: bytes, size: int = 32 << 10) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def push(
    http: httpx.Client, auth: dict[str, str], image_id: str, raw: bytes, layer: bytes
) -> list[httpx.Response]:
    """The v1 push of one image (``PUT json``, ``layer`` chunked, ``checksum``), to the first refusal."""
    answers = [http.put(f"/v1/images/{image_id}/json", content=raw, headers=auth)]
    if answers[-1].status_code == 200:
        answers.append(http.put(f"/v1/images/{image_id}/layer", content=chunked(layer), headers=auth))
    if answers[-1].status_code == 200:
        checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        answers.append(http.put(f"/v1/images/{image_id}/checksum", headers={**auth, **checksum}))
    return answers


def statuses(answers: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in answers]


def pushed_secret(http: httpx.Client, hub: TokenSigner, repository: str) -> tuple[str, bytes]:
    image_id, layer = random_image_id(), make_layer({"secret.txt": b"only for " + repository.encode()})
    auth = token(hub, repository)
    assert statuses(push(http, auth, image_id, image_json(image_id), layer)) == [200] * 3
    r = http.put(f"/v1/repositories/{repository}/tags/latest", content=json.dumps(image_id), headers=auth)
    assert r.status_code == 200, r.text
    return image_id, layer


# ---- 2: a private layer is readable only through its own repository -----------------------


def test_tag_of_a_known_image_id_opens_no_private_layer(http: httpx.Client, hub: TokenSigner) -> None:
    secret, _ = pushed_secret(http, hub, "bobby/vault")
    mallory = token(hub, "mallory/loot")
    r = http.put("/v1/repositories/mallory/loot/tags/stolen", content=json.dumps(secret), headers=mallory)
    assert r.status_code == 403, r.text
    for auth in (mallory, token(hub, "mallory/loot", "read")):
        for part in ("json", "layer", "ancestry"):
            r = http.get(f"/v1/images/{secret}/{part}", headers=auth)
            assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)
            assert b"only for" not in r.content
            assert "x-docker-checksum-payload" not in r.headers
    assert (
        http.get(f"/v1/images/{secret}/layer", headers=token(hub, "bobby/vault", "read")).status_code == 200
    )


def test_child_of_a_private_image_does_not_reach_it(http: httpx.Client, hub: TokenSigner) -> None:
    secret, _ = pushed_secret(http, hub, "bobby/vault2")
    mallory, child = token(hub, "mallory/loot2"), random_image_id()
    assert (
        statuses(push(http, mallory, child, image_json(child, secret), make_layer({"x": b"1"}))) == [200] * 3
    )
    r = http.put("/v1/repositories/mallory/loot2/tags/x", content=json.dumps(child), headers=mallory)
    assert r.status_code == 403
    assert secret in r.json()["error"]
    r = http.get(f"/v1/images/{secret}/layer", headers=token(hub, "mallory/loot2", "read"))
    assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


# ---- 5: the image id space is per repository ----------------------------------------------


def test_upload_in_progress_is_not_overwritten_from_another_repository(
    http: httpx.Client, hub: TokenSigner
) -> None:
    image_id, layer = random_image_id(), make_layer({"app": b"alice's"})
    raw = image_json(image_id)
    alice, mallory = token(hub, "alice/app"), token(hub, "mallory/app")
    assert http.put(f"/v1/images/{image_id}/json", content=raw, headers=alice).status_code == 200
    evil_raw, evil = image_json(image_id, comment="evil"), make_layer({"app": b"mallory's"})
    answers = push(http, mallory, image_id, evil_raw, evil)
    assert [(r.status_code, r.json()) for r in answers] == [(409, BUSY)]
    r = http.put(f"/v1/images/{image_id}/layer", content=chunked(evil), headers=mallory)
    assert (r.status_code, r.json()) == (409, BUSY)
    assert statuses(push(http, alice, image_id, raw, layer)) == [200] * 3
    r = http.put("/v1/repositories/alice/app/tags/latest", content=json.dumps(image_id), headers=alice)
    assert r.status_code == 200
    r = http.get(f"/v1/images/{image_id}/layer", headers=token(hub, "alice/app", "read"))
    assert (r.status_code, r.content) == (200, layer)


def test_id_pushed_first_by_another_is_neither_skipped_nor_taken(
    http: httpx.Client, hub: TokenSigner
) -> None:
    """Mallory pushes her content under the id Bob is about to push: Bob is never told it exists."""
    image_id = random_image_id()
    raw, bobs = image_json(image_id), make_layer({"app": b"bob's"})
    mallory = token(hub, "mallory/trap")
    assert statuses(push(http, mallory, image_id, raw, make_layer({"app": b"mallory's"}))) == [200] * 3
    bob = token(hub, "bobby/app")
    assert http.get(f"/v1/images/{image_id}/json", headers=bob).status_code == 403  # not "already pushed"
    answers = push(http, bob, image_id, raw, bobs)
    assert [(r.status_code, r.json()) for r in answers] == [(200, True), (409, DIFFERS)]
    r = http.put("/v1/repositories/bobby/app/tags/latest", content=json.dumps(image_id), headers=bob)
    assert r.status_code == 403


def test_same_content_in_a_second_repository_is_proven_and_stored_once(
    registry: RegistryProcess, http: httpx.Client, hub: TokenSigner
) -> None:
    image_id, layer = random_image_id(), make_layer({"bin/sh": b"#!/bin/sh\n"})
    raw = image_json(image_id)
    assert statuses(push(http, token(hub, "alice/base"), image_id, raw, layer)) == [200] * 3
    bob = token(hub, "bobby/base")
    assert statuses(push(http, bob, image_id, raw, layer)) == [200] * 3
    r = http.put("/v1/repositories/bobby/base/tags/latest", content=json.dumps(image_id), headers=bob)
    assert r.status_code == 200
    assert http.get(f"/v1/images/{image_id}/layer", headers=token(hub, "bobby/base", "read")).content == layer
    assert registry.files(f"images/{image_id}") == [
        f"images/{image_id}/{n}" for n in ("_checksum", "ancestry", "json", "layer")
    ]


# ---- 10: upload limits -------------------------------------------------------------------


def test_layer_over_the_limit_is_413_and_leaves_nothing(
    registry: RegistryProcess, http: httpx.Client, hub: TokenSigner
) -> None:
    image_id, auth = random_image_id(), token(hub, "alice/big")
    assert (
        http.put(f"/v1/images/{image_id}/json", content=image_json(image_id), headers=auth).status_code == 200
    )
    big = bytes(range(256)) * ((LAYER_LIMIT + (64 << 10)) // 256)
    for body in (chunked(big), big):  # streamed without a length, and with Content-Length
        r = http.put(f"/v1/images/{image_id}/layer", content=body, headers=auth)
        assert (r.status_code, r.json()) == (
            413,
            {"error": f"Layer exceeds the limit of {LAYER_LIMIT} bytes"},
        )
    assert registry.files(f"images/{image_id}") == [
        f"images/{image_id}/{n}" for n in ("_inprogress", "ancestry", "json")
    ]
    r = http.put(
        f"/v1/images/{image_id}/json", content=image_json(image_id, comment="x" * 9000), headers=auth
    )
    assert (r.status_code, r.json()) == (413, {"error": "Image JSON exceeds the limit of 8192 bytes"})


def test_namespace_quota_is_413_and_leaves_nothing(
    registry: RegistryProcess, http: httpx.Client, hub: TokenSigner
) -> None:
    blob = bytes(range(256)) * (200 << 2)  # 200 KiB
    for n in range(3):
        image_id = random_image_id()
        auth = token(hub, f"carol/r{n}")
        assert statuses(push(http, auth, image_id, image_json(image_id), blob + bytes([n]))) == [200] * 3
    image_id, auth = random_image_id(), token(hub, "carol/r3")
    answers = push(http, auth, image_id, image_json(image_id), blob + b"3")
    assert (answers[-1].status_code, answers[-1].json()) == (
        413,
        {"error": f"Upload exceeds the quota of namespace carol ({QUOTA} bytes)"},
    )
    assert [f for f in registry.files(f"images/{image_id}") if "_uploads" in f or ".tmp" in f] == []
    other = random_image_id()
    assert statuses(push(http, token(hub, "dave/r0"), other, image_json(other), blob)) == [200] * 3


# ---- 12: every tag name has its own files --------------------------------------------------


def test_tag_v1_and_tag_v1_json_do_not_collide(http: httpx.Client, hub: TokenSigner) -> None:
    auth = token(hub, "alice/tags")
    first, second = random_image_id(), random_image_id()
    for image_id in (first, second):
        assert (
            statuses(push(http, auth, image_id, image_json(image_id), make_layer({"f": image_id.encode()})))
            == [200] * 3
        )
    for tag, image_id in (("_v1", first), ("v1_json", second)):
        r = http.put(f"/v1/repositories/alice/tags/tags/{tag}", content=json.dumps(image_id), headers=auth)
        assert r.status_code == 200
    read = token(hub, "alice/tags", "read")
    assert http.get("/v1/repositories/alice/tags/tags", headers=read).json() == {
        "_v1": first,
        "v1_json": second,
    }
    assert http.get("/v1/repositories/alice/tags/tags/_v1/json", headers=read).json()["last_update"]


def test_tags_of_the_older_layout_are_read_after_an_upgrade(public_key: Path, hub: TokenSigner) -> None:
    reg = RegistryProcess(index_public_key=public_key)
    try:
        image_id, layer = random_image_id(), make_layer({"f": b"old"})
        raw = image_json(image_id)
        old = reg.data / "images" / image_id
        old.mkdir(parents=True)
        (old / "json").write_bytes(raw)
        (old / "ancestry").write_text(json.dumps([image_id]))
        (old / "layer").write_bytes(layer)
        (old / "_checksum").write_text(json.dumps([payload_checksum(raw, layer)]))
        repo = reg.data / "repositories" / "alice" / "old"
        repo.mkdir(parents=True)
        (repo / "tag__v1").write_text(image_id)  # tag "_v1" and its metadata, as older registries kept them
        (repo / "tag_v1_json").write_text(json.dumps({"last_update": 1400000000}))
        reg.start()
        read = token(hub, "alice/old", "read")
        with httpx.Client(base_url=reg.url, timeout=30) as http:
            assert http.get("/v1/repositories/alice/old/tags", headers=read).json() == {"_v1": image_id}
            assert (
                http.get("/v1/repositories/alice/old/tags/_v1/json", headers=read).json()["last_update"]
                == 1400000000
            )
            assert (
                http.get(f"/v1/images/{image_id}/layer", headers=read).content == layer
            )  # reached by its tag
    finally:
        reg.cleanup()
