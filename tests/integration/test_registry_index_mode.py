"""A real ``wharf-registry`` in index mode: only tokens signed by the hub's key open it.

The test plays the hub: it signs ``X-Docker-Token`` values with its own Ed25519 key
(``TokenSigner``), gives the registry the public half (``--index-public-key``), and drives
the v1 push and pull (protocols.md A.7, A.8) over loopback HTTP with those tokens. Every
process started here is stopped by pid and every temporary directory removed.
"""

from __future__ import annotations

import base64
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


@pytest.fixture(scope="module")
def keys() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wharf-hub-keys-") as root:
        yield Path(root)


@pytest.fixture(scope="module")
def hub() -> TokenSigner:
    return TokenSigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def public_key(keys: Path, hub: TokenSigner) -> Path:
    path = keys / "token-signing.pub.pem"
    path.write_bytes(public_key_pem(hub.public_key))
    return path


@pytest.fixture(scope="module")
def registry(public_key: Path) -> Iterator[RegistryProcess]:
    reg = RegistryProcess(index_public_key=public_key)
    try:
        reg.start()
        yield reg
        assert reg.stop() == 0, reg.log.read_text()[-2000:]  # clean SIGTERM shutdown
    finally:
        reg.cleanup()


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


def token(signer: TokenSigner, repository: str, access: Access, ttl: int = 300) -> dict[str, str]:
    return {"Authorization": "Token " + signer.issue(repository, access, "alice", ttl)}


def push_image(
    http: httpx.Client, auth: dict[str, str], image_id: str, layer: bytes, parent: str | None = None
) -> None:
    """Steps 4-5.3 of the v1 push as the engine does them, with the hub's write token."""
    assert http.get(f"/v1/images/{image_id}/json", headers=auth).status_code == 403  # "already pushed?": no
    raw = image_json(image_id, parent)
    r = http.put(
        f"/v1/images/{image_id}/json", content=raw, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text

    def chunked() -> Iterator[bytes]:
        for i in range(0, len(layer), 32 << 10):
            yield layer[i : i + (32 << 10)]

    r = http.put(
        f"/v1/images/{image_id}/layer",
        content=chunked(),
        headers={**auth, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    r = http.put(
        f"/v1/images/{image_id}/checksum",
        headers={
            **auth,
            "X-Docker-Checksum-Payload": payload_checksum(raw, layer),
            "X-Docker-Checksum": "tarsum+sha256:" + "0" * 64,
        },
    )
    assert r.status_code == 200, r.text


def pushed(http: httpx.Client, hub: TokenSigner, repository: str, tag: str = "latest") -> str:
    image_id = random_image_id()
    auth = token(hub, repository, "write")
    push_image(http, auth, image_id, make_layer({f"{repository}/secret": b"only for " + repository.encode()}))
    r = http.put(f"/v1/repositories/{repository}/tags/{tag}", content=json.dumps(image_id), headers=auth)
    assert r.status_code == 200, r.text
    return image_id


# ---- the happy path ---------------------------------------------------------------------


def test_ping_says_not_standalone(http: httpx.Client) -> None:
    for path in ("/v1/_ping", "/_ping"):
        r = http.get(path)
        assert r.status_code == 200
        assert r.headers["x-docker-registry-standalone"] == "false"


def test_push_then_pull_with_hub_tokens(
    registry: RegistryProcess, http: httpx.Client, hub: TokenSigner
) -> None:
    base, top = random_image_id(), random_image_id()
    layers = {base: make_layer({"bin/sh": b"#!/bin/sh\n"}), top: make_layer({"etc/motd": b"hello\n"})}
    write = token(hub, "alice/web", "write")
    push_image(http, write, base, layers[base])
    push_image(http, write, top, layers[top], parent=base)
    r = http.put(
        "/v1/repositories/alice/web/tags/v1",
        content=json.dumps(top),
        headers={**write, "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()) == (200, True)
    assert "repositories/alice/web/tag_v1" in registry.files("repositories")

    read = token(hub, "alice/web", "read")  # a pull's token, from the hub's GET .../images
    assert http.get("/v1/repositories/alice/web/tags", headers=read).json() == {"v1": top}
    ancestry = http.get(f"/v1/images/{top}/ancestry", headers=read).json()
    assert ancestry == [top, base]
    for image_id in reversed(ancestry):
        r = http.get(f"/v1/images/{image_id}/json", headers=read)
        assert json.loads(r.content)["id"] == image_id
        assert int(r.headers["x-docker-size"]) == len(layers[image_id])
        r = http.get(f"/v1/images/{image_id}/layer", headers=read)
        assert (r.status_code, r.content) == (200, layers[image_id])
    r = http.get(f"/v1/images/{base}/layer", headers={**read, "Range": "bytes=0-9"})
    assert (r.status_code, r.content) == (206, layers[base][:10])


def test_same_token_accepted_repeatedly(http: httpx.Client, hub: TokenSigner) -> None:
    image_id = pushed(http, hub, "alice/again")
    read = token(hub, "alice/again", "read")
    for _ in range(5):
        assert http.get("/v1/repositories/alice/again/tags", headers=read).status_code == 200
        assert http.get(f"/v1/images/{image_id}/layer", headers=read).status_code == 200


def test_delete_needs_delete_token(http: httpx.Client, hub: TokenSigner) -> None:
    pushed(http, hub, "alice/gone", tag="old")
    for access in ("read", "write"):
        assert (
            http.delete(
                "/v1/repositories/alice/gone/tags/old", headers=token(hub, "alice/gone", access)
            ).status_code
            == 403
        )
        assert (
            http.delete("/v1/repositories/alice/gone/", headers=token(hub, "alice/gone", access)).status_code
            == 403
        )
    delete = token(hub, "alice/gone", "delete")
    assert http.delete("/v1/repositories/alice/gone/tags/old", headers=delete).status_code == 200
    assert http.delete("/v1/repositories/alice/gone/", headers=delete).status_code == 404  # no tags left
    pushed(http, hub, "alice/gone", tag="new")
    assert http.delete("/v1/repositories/alice/gone/", headers=delete).status_code == 200
    r = http.get("/v1/repositories/alice/gone/tags", headers=token(hub, "alice/gone", "read"))
    assert r.status_code == 404


# ---- refused -------------------------------------------------------------------------------


def test_no_token_is_401_with_token_challenge(http: httpx.Client) -> None:
    for method, path in (("GET", "/v1/repositories/alice/web/tags"), ("PUT", f"/v1/images/{'c' * 64}/json")):
        r = http.request(method, path, content=b"{}")
        assert (r.status_code, r.json()) == (401, {"error": "Requires authorization"})
        assert r.headers["www-authenticate"] == "Token"


def test_basic_is_401(http: httpx.Client) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
    r = http.get("/v1/repositories/alice/web/tags", headers=basic)
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "Token")


def test_forged_signature_is_401(http: httpx.Client, hub: TokenSigner) -> None:
    value = hub.issue("alice/web", "read", "alice", 300)
    payload, _, rest = value.partition(".")
    signature, _, outer = rest.partition(",")
    r = http.get(
        "/v1/repositories/alice/web/tags",
        headers={"Authorization": f"Token {payload}.{signature[::-1]},{outer}"},
    )
    assert (r.status_code, r.json()) == (401, {"error": "Invalid token"})


def test_token_of_another_key_is_401(http: httpx.Client) -> None:
    stranger = TokenSigner(Ed25519PrivateKey.generate())
    assert (
        http.get("/v1/repositories/alice/web/tags", headers=token(stranger, "alice/web", "write")).status_code
        == 401
    )


def test_expired_token_is_401(http: httpx.Client, hub: TokenSigner) -> None:
    r = http.get("/v1/repositories/alice/web/tags", headers=token(hub, "alice/web", "read", ttl=-1))
    assert (r.status_code, r.json()) == (401, {"error": "Token expired"})


def test_tampered_outer_repository_is_401(http: httpx.Client, hub: TokenSigner) -> None:
    auth = token(hub, "alice/web", "write")["Authorization"].replace('"alice/web"', '"bobby/private"')
    assert http.get("/v1/repositories/bobby/private/tags", headers={"Authorization": auth}).status_code == 401


def test_token_for_another_repository_is_403(http: httpx.Client, hub: TokenSigner) -> None:
    secret = pushed(http, hub, "bobby/private")
    other = token(hub, "alice/web", "write")
    assert http.get("/v1/repositories/bobby/private/tags", headers=other).status_code == 403
    r = http.put("/v1/repositories/bobby/private/tags/evil", content=json.dumps(secret), headers=other)
    assert r.status_code == 403
    for part in ("layer", "ancestry"):
        r = http.get(f"/v1/images/{secret}/{part}", headers=other)
        assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


def test_private_layer_unreadable_with_token_for_a_public_repository(
    http: httpx.Client, hub: TokenSigner
) -> None:
    pushed(http, hub, "alice/public")
    secret = pushed(http, hub, "bobby/vault")
    read = token(hub, "alice/public", "read")  # what the hub gives anyone for a public repository
    for part in ("json", "layer", "ancestry"):
        r = http.get(f"/v1/images/{secret}/{part}", headers=read)
        assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)
        assert b"only for" not in r.content
    assert (
        http.get(f"/v1/images/{secret}/layer", headers=token(hub, "bobby/vault", "read")).status_code == 200
    )


def test_read_token_cannot_write(registry: RegistryProcess, http: httpx.Client, hub: TokenSigner) -> None:
    image_id = random_image_id()
    read = token(hub, "alice/web", "read")
    r = http.put(f"/v1/images/{image_id}/json", content=image_json(image_id), headers=read)
    assert (r.status_code, r.json()) == (403, {"error": "Token does not grant write access to images"})
    assert http.put(f"/v1/images/{image_id}/layer", content=b"layer", headers=read).status_code == 403
    assert registry.files(f"images/{image_id}") == []


def test_standalone_index_routes_are_not_served(http: httpx.Client, hub: TokenSigner) -> None:
    auth = token(hub, "alice/web", "write")
    routes = [
        ("GET", "/v1/users/"),
        ("POST", "/v1/users/"),
        ("PUT", "/v1/repositories/alice/web/"),
        ("PUT", "/v1/repositories/alice/web/images"),
        ("GET", "/v1/search?q=web"),
    ]
    for method, path in routes:
        r = http.request(method, path, headers={**auth, "X-Docker-Token": "true"}, content=b"[]")
        assert r.status_code == 404, (method, path)
        assert "index mode" in r.json()["error"]
        assert "x-docker-token" not in r.headers


# ---- start-up -----------------------------------------------------------------------------


def test_public_key_from_environment(public_key: Path) -> None:
    reg = RegistryProcess()
    try:
        reg.start(env={"WHARF_REGISTRY_INDEX__PUBLIC_KEY": str(public_key)})
        r = httpx.get(reg.url + "/v1/_ping", timeout=10)
        assert r.headers["x-docker-registry-standalone"] == "false"
        assert httpx.get(reg.url + "/v1/repositories/alice/web/tags", timeout=10).status_code == 401
    finally:
        reg.cleanup()


@pytest.mark.parametrize("content", [None, b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"])
def test_unusable_public_key_stops_start_up(keys: Path, content: bytes | None) -> None:
    path = keys / f"bad-{content is None}.pem"
    if content is not None:
        path.write_bytes(content)
    reg = RegistryProcess(index_public_key=path)
    try:
        with pytest.raises(RuntimeError, match="registry exited"):
            reg.start()
        assert reg.stop() == 1
        assert f"index public key {path}" in reg.log.read_text()
    finally:
        reg.cleanup()
