"""v2 building blocks: challenges, bearer tokens (cached per scope), manifests and platforms."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.distribution import AuthConfig, Endpoint, RegistryService, RegistryUnauthorized
from wharf_engine.distribution.manifests import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    InvalidManifest,
    NoMatchingPlatform,
    UnsupportedManifest,
    check_layers,
    media_type,
    parse_index,
    parse_manifest,
    parse_platform,
    refuse_schema1,
    schema2_manifest,
    select_platform,
    sha256_digest,
)
from wharf_engine.distribution.v2auth import TokenSource, parse_challenges, pull_scope, push_scope

ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REALM = "http://hub.test/v2/token"
ENDPOINT = Endpoint("127.0.0.1:5000", "http://127.0.0.1:5000")


def test_challenges_are_parsed_with_quotes_and_several_schemes() -> None:
    found = parse_challenges(
        [
            f'Bearer realm="{REALM}",service="registry.test",scope="repository:a/b:pull repository:c:push"',
            'Basic realm="x, y"',
        ]
    )
    assert [c.scheme for c in found] == ["bearer", "basic"]
    assert found[0].realm == REALM and found[0].params["service"] == "registry.test"
    assert found[0].params["scope"] == "repository:a/b:pull repository:c:push"
    assert found[1].realm == "x, y"


class TokenServer:
    def __init__(self, expires_in: int = 300) -> None:
        self.requests: list[httpx.Request] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        auth = request.headers.get("authorization", "")
        if auth and base64.b64decode(auth.removeprefix("Basic ")).decode() != "alice:pw":
            return httpx.Response(401, json={"details": "incorrect username or password"})
        token = f"t{len(self.requests)}"
        return httpx.Response(
            200, json={"access_token": token, "token": "ignored", "expires_in": self.expires_in}
        )


def source(server: TokenServer, auth: AuthConfig, clock: list[float]) -> TokenSource:
    challenge = parse_challenges([f'Bearer realm="{REALM}",service="registry.test"'])
    return TokenSource(
        ENDPOINT, auth, challenge, transport=httpx.MockTransport(server), clock=lambda: clock[0]
    )


def test_bearer_tokens_are_fetched_per_scope_and_kept_until_they_expire() -> None:
    server, now = TokenServer(expires_in=10), [0.0]
    tokens = source(server, AuthConfig("alice", "pw"), now)

    async def run() -> list[str | None]:
        first = await tokens.authorization((pull_scope("alice/web"),))
        same = await tokens.authorization((pull_scope("alice/web"),))
        other = await tokens.authorization((push_scope("alice/web"),))
        now[0] = 100.0  # past the 60 s floor Docker applies to expires_in
        renewed = await tokens.authorization((pull_scope("alice/web"),))
        return [first, same, other, renewed]

    assert asyncio.run(run()) == ["Bearer t1", "Bearer t1", "Bearer t2", "Bearer t3"]
    params = server.requests[0].url.params
    assert params["service"] == "registry.test" and params["scope"] == "repository:alice/web:pull"
    assert params["account"] == "alice" and server.requests[0].headers["authorization"].startswith("Basic ")


def test_anonymous_tokens_send_no_credentials_and_bad_ones_are_unauthorized() -> None:
    server, now = TokenServer(), [0.0]
    asyncio.run(source(server, AuthConfig(), now).token(("repository:a/b:pull",)))
    assert (
        "authorization" not in server.requests[0].headers and "account" not in server.requests[0].url.params
    )
    with pytest.raises(RegistryUnauthorized, match="incorrect username or password"):
        asyncio.run(source(server, AuthConfig("alice", "nope"), now).token(()))


def test_basic_challenge_sends_the_credentials_to_the_registry() -> None:
    tokens = TokenSource(ENDPOINT, AuthConfig("alice", "pw"), parse_challenges(['Basic realm="r"']))
    assert asyncio.run(tokens.authorization(())) == AuthConfig("alice", "pw").basic()
    anonymous = TokenSource(ENDPOINT, AuthConfig(), parse_challenges(['Basic realm="r"']))
    assert asyncio.run(anonymous.authorization(())) is None


def entry(arch: str, digest_char: str, variant: str = "") -> dict[str, object]:
    platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
    return {
        "mediaType": DOCKER_MANIFEST,
        "digest": "sha256:" + digest_char * 64,
        "size": 10,
        "platform": platform,
    }


def test_platform_selection_from_a_manifest_list() -> None:
    index = parse_index(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_LIST,
                "manifests": [entry("arm", "1", "v7"), entry("arm64", "2", "v8"), entry("amd64", "3")],
            }
        ).encode()
    )
    assert select_platform(index, parse_platform(None)).digest == "sha256:" + "3" * 64
    assert select_platform(index, parse_platform("linux/arm64")).digest == "sha256:" + "2" * 64
    assert select_platform(index, parse_platform("linux/aarch64/v8")).digest == "sha256:" + "2" * 64
    with pytest.raises(NoMatchingPlatform, match="no matching manifest for linux/s390x"):
        select_platform(index, parse_platform("linux/s390x"))
    with pytest.raises(InvalidArgument, match="unknown operating system"):
        parse_platform("linux")


def test_zstd_layers_and_schema1_are_refused_clearly() -> None:
    config = {"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 2}
    zstd = {"mediaType": ZSTD, "digest": "sha256:" + "b" * 64, "size": 3}
    raw = json.dumps({"schemaVersion": 2, "config": config, "layers": [zstd]}).encode()
    with pytest.raises(UnsupportedManifest, match="compressed with zstd"):
        check_layers(parse_manifest(raw), "r/web:1")
    schema1 = json.dumps({"schemaVersion": 1, "fsLayers": []}).encode()
    with pytest.raises(UnsupportedManifest, match="schema 1 is not supported"):
        refuse_schema1(media_type("application/json", schema1), "r/web:1")
    assert media_type(OCI_INDEX + "; charset=utf-8", b'{"schemaVersion": 2, "manifests": []}') == OCI_INDEX
    with pytest.raises(InvalidManifest, match="layers"):
        parse_manifest(b'{"schemaVersion": 2, "config": {"digest": "sha256:aa", "size": 1}}')


def test_schema2_manifest_is_written_as_docker_writes_it() -> None:
    config = b'{"architecture":"amd64"}'
    raw = schema2_manifest(config, [("sha256:" + "c" * 64, 42)])
    assert raw.startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": "' + DOCKER_MANIFEST.encode())
    parsed = parse_manifest(raw)
    assert parsed.config.digest == sha256_digest(config) and parsed.config.size == len(config)
    assert [(layer.digest, layer.size) for layer in parsed.layers] == [("sha256:" + "c" * 64, 42)]


def test_v1_registries_are_never_asked_for_v2() -> None:
    asked: list[str] = []

    def registry(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(registry)
    pinned = RegistryService(
        "http://127.0.0.1:9", ["127.0.0.0/8"], transport=transport, v1_only=["127.0.0.0/8"]
    )
    assert asyncio.run(pinned.negotiate_v2(pinned.endpoint("127.0.0.1:5000"))) is None and asked == []
    free = RegistryService("http://127.0.0.1:9", ["127.0.0.0/8"], transport=transport)
    found = asyncio.run(free.negotiate_v2(free.endpoint("127.0.0.1:5000")))
    assert found is not None and found.endpoint.url == "https://127.0.0.1:5000"  # unverified HTTPS first
    assert asked == ["https://127.0.0.1:5000/v2/"]
