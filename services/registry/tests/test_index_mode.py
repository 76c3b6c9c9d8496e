"""Index mode: the hub's signed tokens are the only credential (router level, over ASGI)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.tokens import Access, TokenSigner, public_key_pem
from wharf_registry.access import AuthSettings, add_user
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, make_layer, payload_checksum, random_image_id

pytestmark = pytest.mark.anyio

NOT_THIS_IMAGE = {"error": "Token does not grant read access to this image"}


@pytest.fixture
def hub() -> TokenSigner:
    return TokenSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def public_key_file(tmp_path: Path, hub: TokenSigner) -> Path:
    path = tmp_path / "hub" / "token-signing.pub.pem"
    path.parent.mkdir()
    path.write_bytes(public_key_pem(hub.public_key))
    return path


@pytest.fixture
def settings(tmp_path: Path, public_key_file: Path) -> Settings:
    return Settings(data_root=tmp_path / "data", index=IndexSettings(public_key=public_key_file))


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
        yield c


def token(signer: TokenSigner, repository: str, access: Access, ttl: int = 300) -> dict[str, str]:
    """What an engine sends after the hub answered ``X-Docker-Token``."""
    return {"Authorization": "Token " + signer.issue(repository, access, "alice", ttl)}


async def push_image(
    client: httpx.AsyncClient, auth: dict[str, str], image_id: str, layer: bytes, parent: str | None = None
) -> None:
    raw = image_json(image_id, parent)
    assert (await client.get(f"/v1/images/{image_id}/json", headers=auth)).status_code == 403  # the probe
    assert (await client.put(f"/v1/images/{image_id}/json", content=raw, headers=auth)).status_code == 200
    assert (await client.put(f"/v1/images/{image_id}/layer", content=layer, headers=auth)).status_code == 200
    headers = {**auth, "X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    r = await client.put(f"/v1/images/{image_id}/checksum", headers=headers)
    assert r.status_code == 200, r.text


async def pushed(client: httpx.AsyncClient, hub: TokenSigner, repository: str, tag: str = "latest") -> str:
    """Push one image and tag it in ``repository`` (namespace/name); its id."""
    image_id = random_image_id()
    auth = token(hub, repository, "write")
    await push_image(client, auth, image_id, make_layer({f"{repository}/file": b"data"}))
    r = await client.put(
        f"/v1/repositories/{repository}/tags/{tag}", content=json.dumps(image_id), headers=auth
    )
    assert r.status_code == 200, r.text
    return image_id


# ---- the happy path ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_ping", "/v1/_ping"])
async def test_ping_says_not_standalone(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert (r.status_code, r.json()) == (200, {})
    assert r.headers["x-docker-registry-standalone"] == "false"


async def test_push_then_pull_with_hub_tokens(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    base, top = random_image_id(), random_image_id()
    layers = {base: make_layer({"bin/sh": b"#!"}), top: make_layer({"etc/motd": b"hi"})}
    write = token(hub, "alice/web", "write")
    await push_image(client, write, base, layers[base])
    await push_image(client, write, top, layers[top], parent=base)
    r = await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(top), headers=write)
    assert (r.status_code, r.json()) == (200, True)

    read = token(hub, "alice/web", "read")
    assert (await client.get("/v1/repositories/alice/web/tags", headers=read)).json() == {"v1": top}
    assert (await client.get("/v1/repositories/alice/web/tags/v1", headers=read)).json() == top
    ancestry = (await client.get(f"/v1/images/{top}/ancestry", headers=read)).json()
    assert ancestry == [top, base]
    for image_id in reversed(ancestry):
        r = await client.get(f"/v1/images/{image_id}/json", headers=read)
        assert json.loads(r.content)["id"] == image_id
        r = await client.get(f"/v1/images/{image_id}/layer", headers=read)
        assert (r.status_code, r.content) == (200, layers[image_id])
    r = await client.get(f"/v1/images/{base}/layer", headers=write)  # write covers read
    assert r.status_code == 200


async def test_same_token_accepted_repeatedly(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id = await pushed(client, hub, "alice/web")
    read = token(hub, "alice/web", "read")
    for _ in range(5):
        assert (await client.get(f"/v1/images/{image_id}/ancestry", headers=read)).status_code == 200
        assert (await client.get("/v1/repositories/alice/web/tags", headers=read)).status_code == 200


async def test_official_names_map_to_library(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id = await pushed(client, hub, "library/busybox")
    read = token(hub, "library/busybox", "read")
    r = await client.get("/v1/repositories/busybox/tags", headers=read)
    assert r.json() == {"latest": image_id}
    r = await client.get("/v1/repositories/busybox/tags", headers=token(hub, "busybox", "read"))
    assert r.status_code == 403  # tokens name the full repository, as the hub issues them


async def test_write_token_reads_no_image_of_another_repository(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    """Image ids are no secret: a write token for one's own repository opened any image's JSON."""
    secret = await pushed(client, hub, "bobby/secret")
    write = token(hub, "alice/web", "write")
    for part in ("json", "layer", "ancestry"):
        r = await client.get(f"/v1/images/{secret}/{part}", headers=write)
        assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)
        assert "x-docker-checksum-payload" not in r.headers


async def test_tag_cannot_name_an_image_of_another_repository(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    """The attack: tag someone else's image id in one's own repository, then read its layer."""
    secret = await pushed(client, hub, "bobby/secret")
    write = token(hub, "alice/web", "write")
    r = await client.put("/v1/repositories/alice/web/tags/stolen", content=json.dumps(secret), headers=write)
    assert r.status_code == 403
    assert r.json()["error"].startswith(f"Image {secret} is not in this repository")
    r = await client.get(f"/v1/images/{secret}/layer", headers=token(hub, "alice/web", "read"))
    assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)
    assert (await client.get("/v1/repositories/alice/web/tags", headers=write)).status_code == 404


async def test_parent_of_another_repository_is_not_reachable_through_a_child(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    """A child pushed with a parent the repository does not hold cannot be tagged there."""
    secret = await pushed(client, hub, "bobby/secret")
    child = random_image_id()
    write = token(hub, "alice/web", "write")
    raw = image_json(child, secret)
    layer = make_layer({"x": b"1"})
    assert (await client.put(f"/v1/images/{child}/json", content=raw, headers=write)).status_code == 200
    assert (await client.put(f"/v1/images/{child}/layer", content=layer, headers=write)).status_code == 200
    headers = {**write, "X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
    assert (await client.put(f"/v1/images/{child}/checksum", headers=headers)).status_code == 200
    r = await client.put("/v1/repositories/alice/web/tags/x", content=json.dumps(child), headers=write)
    assert r.status_code == 403
    assert secret in r.json()["error"]
    for auth in (write, token(hub, "alice/web", "read")):
        r = await client.get(f"/v1/images/{secret}/layer", headers=auth)
        assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


async def test_pushed_image_readable_in_its_repository_only(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    image_id = random_image_id()
    write = token(hub, "alice/web", "write")
    await push_image(client, write, image_id, make_layer({"a": b"1"}))
    assert (await client.get(f"/v1/images/{image_id}/json", headers=write)).status_code == 200  # "pushed?"
    read = token(hub, "alice/web", "read")
    assert (await client.get(f"/v1/images/{image_id}/layer", headers=read)).status_code == 200
    await client.put("/v1/repositories/alice/web/tags/v1", content=json.dumps(image_id), headers=write)
    r = await client.get(f"/v1/images/{image_id}/layer", headers=token(hub, "bobby/web", "read"))
    assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


async def test_delete_repository_with_delete_token(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id = await pushed(client, hub, "alice/web")
    for access in ("read", "write"):
        r = await client.delete("/v1/repositories/alice/web/", headers=token(hub, "alice/web", access))
        assert r.status_code == 403
    r = await client.delete("/v1/repositories/alice/web/", headers=token(hub, "bobby/web", "delete"))
    assert r.status_code == 403
    r = await client.delete("/v1/repositories/alice/web/", headers=token(hub, "alice/web", "delete"))
    assert (r.status_code, r.json()) == (200, True)
    read = token(hub, "alice/web", "read")
    assert (await client.get("/v1/repositories/alice/web/tags", headers=read)).status_code == 404
    r = await client.get(f"/v1/images/{image_id}/layer", headers=read)
    assert r.status_code == 403  # no tag reaches it, and the record of its push went with the repository


# ---- refused credentials ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/repositories/alice/web/tags"),
        ("PUT", "/v1/repositories/alice/web/tags/latest"),
        ("GET", f"/v1/images/{'a' * 64}/json"),
        ("PUT", f"/v1/images/{'a' * 64}/json"),
        ("GET", f"/v1/images/{'a' * 64}/layer"),
    ],
)
async def test_no_token_is_401_with_token_challenge(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await client.request(method, path)
    assert (r.status_code, r.json()) == (401, {"error": "Requires authorization"})
    assert r.headers["www-authenticate"] == "Token"


async def test_basic_credentials_are_refused(tmp_path: Path, public_key_file: Path) -> None:
    users = tmp_path / "users"
    add_user(users, "alice", "s3cret-pw")  # a users file does not count in index mode
    settings = Settings(
        data_root=tmp_path / "d",
        auth=AuthSettings(users_file=users),
        index=IndexSettings(public_key=public_key_file),
    )
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://r"
    ) as c:
        r = await c.get("/v1/repositories/alice/web/tags", headers=basic)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Token"
    assert r.json()["error"].startswith("Requires authorization")


async def test_forged_signature_is_401(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    value = hub.issue("alice/web", "write", "alice", 300)
    payload, _, rest = value.partition(".")
    signature, _, outer = rest.partition(",")
    forged = {"Authorization": f"Token {payload}.{signature[::-1]},{outer}"}
    r = await client.get("/v1/repositories/alice/web/tags", headers=forged)
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "Token")
    assert r.json() == {"error": "Invalid token"}


async def test_token_of_another_key_is_401(client: httpx.AsyncClient) -> None:
    stranger = TokenSigner(Ed25519PrivateKey.generate())
    r = await client.get("/v1/repositories/alice/web/tags", headers=token(stranger, "alice/web", "read"))
    assert r.status_code == 401


async def test_expired_token_is_401(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    r = await client.get("/v1/repositories/alice/web/tags", headers=token(hub, "alice/web", "read", ttl=-1))
    assert (r.status_code, r.json()) == (401, {"error": "Token expired"})


async def test_tampered_outer_repository_is_401(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    auth = token(hub, "alice/web", "write")
    tampered = {"Authorization": auth["Authorization"].replace('"alice/web"', '"bobby/web"')}
    r = await client.get("/v1/repositories/bobby/web/tags", headers=tampered)
    assert r.status_code == 401


@pytest.mark.parametrize("value", ["Token", "Token ", "Token signature=", "Token garbage", "Bearer abc"])
async def test_malformed_authorization_is_401(client: httpx.AsyncClient, value: str) -> None:
    r = await client.get("/v1/repositories/alice/web/tags", headers={"Authorization": value})
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "Token")


# ---- genuine tokens that do not cover the request ------------------------------------------


async def test_token_for_another_repository_is_403_on_tags(
    client: httpx.AsyncClient, hub: TokenSigner
) -> None:
    image_id = await pushed(client, hub, "bobby/web")
    r = await client.get("/v1/repositories/bobby/web/tags", headers=token(hub, "alice/web", "write"))
    assert (r.status_code, r.json()) == (403, {"error": "Token does not grant read access to bobby/web"})
    r = await client.put(
        "/v1/repositories/bobby/web/tags/evil",
        content=json.dumps(image_id),
        headers=token(hub, "alice/web", "write"),
    )
    assert r.status_code == 403
    r = await client.delete(
        "/v1/repositories/bobby/web/tags/latest", headers=token(hub, "alice/web", "delete")
    )
    assert r.status_code == 403


@pytest.mark.parametrize("part", ["json", "layer", "ancestry"])
async def test_private_image_unreadable_with_token_for_another_repository(
    client: httpx.AsyncClient, hub: TokenSigner, part: str
) -> None:
    await pushed(client, hub, "alice/web")  # alice/web exists and reaches its own image only
    secret = await pushed(client, hub, "bobby/secret")
    r = await client.get(f"/v1/images/{secret}/{part}", headers=token(hub, "alice/web", "read"))
    assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


async def test_unknown_image_is_403_for_a_reader(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    r = await client.get(f"/v1/images/{'b' * 64}/layer", headers=token(hub, "nobody/here", "read"))
    assert (r.status_code, r.json()) == (403, NOT_THIS_IMAGE)


async def test_read_token_cannot_write(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id = await pushed(client, hub, "alice/web")
    read = token(hub, "alice/web", "read")
    other = random_image_id()
    r = await client.put(f"/v1/images/{other}/json", content=image_json(other), headers=read)
    assert (r.status_code, r.json()) == (403, {"error": "Token does not grant write access to images"})
    r = await client.put("/v1/repositories/alice/web/tags/v2", content=json.dumps(image_id), headers=read)
    assert r.status_code == 403
    r = await client.put(f"/v1/images/{other}/layer", content=b"x", headers=read)
    assert r.status_code == 403


async def test_delete_needs_delete_token(client: httpx.AsyncClient, hub: TokenSigner) -> None:
    image_id = await pushed(client, hub, "alice/web")
    for access in ("read", "write"):
        r = await client.delete(
            "/v1/repositories/alice/web/tags/latest", headers=token(hub, "alice/web", access)
        )
        assert r.status_code == 403
    delete = token(hub, "alice/web", "delete")
    assert (await client.get("/v1/repositories/alice/web/tags", headers=delete)).status_code == 403
    assert (await client.get(f"/v1/images/{image_id}/json", headers=delete)).status_code == 403
    assert (await client.delete("/v1/repositories/alice/web/tags/latest", headers=delete)).status_code == 200


# ---- what index mode does not serve --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/users"),
        ("GET", "/v1/users/"),
        ("POST", "/v1/users/"),
        ("PUT", "/v1/users/alice/"),
        ("PUT", "/v1/repositories/alice/web/"),
        ("PUT", "/v1/repositories/busybox/"),
        ("PUT", "/v1/repositories/alice/web/images"),
        ("GET", "/v1/repositories/alice/web/images"),
        ("PUT", "/v1/repositories/alice/web/auth"),
        ("GET", "/v1/search"),
    ],
)
async def test_standalone_index_routes_are_not_served(
    client: httpx.AsyncClient, hub: TokenSigner, method: str, path: str
) -> None:
    r = await client.request(method, path, headers=token(hub, "alice/web", "write"), content=b"[]")
    assert r.status_code == 404
    assert "index mode" in r.json()["error"]
    assert "x-docker-token" not in r.headers
