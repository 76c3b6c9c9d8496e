"""Index mode over v2: only the hub's bearer tokens, each for exactly what it grants; pushes and
pulls reported to the hub with the client's token."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.bearer import BearerSigner, ResourceScope, parse_scope, write_certificate
from wharf_common.tokens import TokenSigner, public_key_pem
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings
from wharf_registry.settings import Settings
from wharf_registry.v2.bearer import BearerSettings, HubReporter, InvalidBearerKey
from wharf_registry.v2.testing import push_image

pytestmark = pytest.mark.anyio

SERVICE = "registry.test"
REALM = "http://hub.test/v2/token"


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def hub(key: ec.EllipticCurvePrivateKey) -> BearerSigner:
    return BearerSigner(key, "wharf-hub")


@pytest.fixture
def settings(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> Settings:
    v1_key = tmp_path / "token-signing.pub.pem"
    v1_key.write_bytes(public_key_pem(TokenSigner(Ed25519PrivateKey.generate()).public_key))
    cert = tmp_path / "bearer-signing.crt"
    write_certificate(key, cert, "wharf-hub")
    return Settings(
        data_root=tmp_path / "data",
        index=IndexSettings(public_key=v1_key, url="http://hub.test"),
        bearer=BearerSettings(certificate=cert, service=SERVICE),
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.hub_reporter.transport = httpx.MockTransport(
        lambda _r: httpx.Response(200, json={"accepted": 1})
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry.test"
    ) as c:
        yield c


def bearer(
    hub: BearerSigner, *scopes: str, subject: str = "alice", service: str = SERVICE, ttl: int = 300
) -> dict[str, str]:
    token = hub.issue(subject, service, [parse_scope(s) for s in scopes], ttl).token
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_is_a_401_that_sends_the_client_to_the_hub(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v2/")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == f'Bearer realm="{REALM}",service="{SERVICE}"'
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    pull = await client.get("/v2/alice/web/manifests/latest")
    assert pull.status_code == 401
    assert pull.headers["www-authenticate"] == (
        f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:alice/web:pull"'
    )
    basic = await client.get("/v2/alice/web/tags/list", auth=("alice", "pw"))
    assert basic.status_code == 401


async def test_a_push_token_pushes_and_pulls_its_repository_only(
    client: httpx.AsyncClient, hub: BearerSigner
) -> None:
    client.headers.update(bearer(hub, "repository:alice/web:pull,push"))
    digest, _ = await push_image(client, "alice/web", "v1", [b"layer one"])
    assert (await client.get("/v2/alice/web/manifests/v1")).status_code == 200
    refused = await client.get("/v2/bobby/web/tags/list")  # a token for A used on B
    assert refused.status_code == 401
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="repository:bobby/web:pull"' in refused.headers["www-authenticate"]
    assert (await client.get("/v2/")).status_code == 200
    assert digest.startswith("sha256:")


async def test_a_pull_token_does_not_push_or_delete(client: httpx.AsyncClient, hub: BearerSigner) -> None:
    client.headers.update(bearer(hub, "repository:alice/web:pull"))
    upload = await client.post("/v2/alice/web/blobs/uploads/")
    assert upload.status_code == 401 and 'error="insufficient_scope"' in upload.headers["www-authenticate"]
    assert "repository:alice/web:pull,push" in upload.headers["www-authenticate"]
    gone = await client.delete("/v2/alice/web/manifests/sha256:" + "a" * 64)
    assert gone.status_code == 401


async def test_a_token_with_empty_access_is_refused(client: httpx.AsyncClient, hub: BearerSigner) -> None:
    """What the hub gives a stranger asking for a private repository."""
    empty = hub.issue("bobby", SERVICE, [ResourceScope("repository", "alice/secret", ())], 300)
    answer = await client.get(
        "/v2/alice/secret/tags/list", headers={"Authorization": f"Bearer {empty.token}"}
    )
    assert answer.status_code == 401 and 'error="insufficient_scope"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize(
    "case", ["expired", "tampered", "other-key", "alg-none", "other-service", "other-issuer"]
)
async def test_bad_tokens_are_invalid_token(
    client: httpx.AsyncClient, hub: BearerSigner, key: ec.EllipticCurvePrivateKey, case: str
) -> None:
    scope = [parse_scope("repository:alice/web:pull")]
    if case == "expired":
        raw = hub.issue("alice", SERVICE, scope, 60, now=1_000_000).token
    elif case == "tampered":
        head, claims, signature = hub.issue("alice", SERVICE, scope, 300).token.split(".")
        raw = f"{head}.{claims[:-3]}xyz.{signature}"
    elif case == "other-key":
        raw = (
            BearerSigner(ec.generate_private_key(ec.SECP256R1()), "wharf-hub")
            .issue("alice", SERVICE, scope, 300)
            .token
        )
    elif case == "alg-none":
        header = json.dumps({"alg": "none", "kid": hub.key_id}).encode()
        unsigned = base64.urlsafe_b64encode(header).rstrip(b"=").decode()
        raw = f"{unsigned}.{hub.issue('alice', SERVICE, scope, 300).token.split('.')[1]}."
    elif case == "other-service":
        raw = hub.issue("alice", "another-registry", scope, 300).token
    else:
        raw = BearerSigner(key, "someone-else").issue("alice", SERVICE, scope, 300).token
    answer = await client.get("/v2/alice/web/tags/list", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


async def test_official_names_match_however_spelled(client: httpx.AsyncClient, hub: BearerSigner) -> None:
    client.headers.update(bearer(hub, "repository:busybox:pull,push"))
    await push_image(client, "busybox", "latest", [b"official"])
    client.headers.update(bearer(hub, "repository:library/busybox:pull"))
    assert (await client.get("/v2/busybox/manifests/latest")).status_code == 200


async def test_the_catalog_needs_the_catalog_scope(client: httpx.AsyncClient, hub: BearerSigner) -> None:
    plain = await client.get("/v2/_catalog", headers=bearer(hub, "repository:alice/web:pull"))
    assert plain.status_code == 401 and 'scope="registry:catalog:*"' in plain.headers["www-authenticate"]
    admin = await client.get("/v2/_catalog", headers=bearer(hub, "registry:catalog:*", subject="admin"))
    assert admin.status_code == 200


async def test_pushes_and_pulls_are_reported_with_the_clients_token(
    settings: Settings, hub: BearerSigner
) -> None:
    app = create_app(settings)
    reporter: HubReporter = app.state.hub_reporter
    seen: list[tuple[str, Any]] = []

    def hub_events(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["authorization"], json.loads(request.content)))
        return httpx.Response(200, json={"accepted": 1})

    reporter.transport = httpx.MockTransport(hub_events)
    headers = bearer(hub, "repository:alice/web:pull,push")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://r.test", headers=headers
    ) as c:
        digest, _ = await push_image(c, "alice/web", "v1", [b"layer one"])
        assert (await c.get("/v2/alice/web/manifests/v1")).status_code == 200
        assert (await c.head("/v2/alice/web/manifests/v1")).status_code == 200  # a HEAD is no pull
        await reporter.drain()
    assert [auth for auth, _ in seen] == [headers["Authorization"]] * 2
    [push], [pull] = (body["events"] for _, body in seen)
    assert push["action"] == "push" and push["target"]["repository"] == "alice/web"
    assert push["target"]["tag"] == "v1" and push["target"]["digest"] == digest
    assert push["target"]["config"].startswith("sha256:") and push["target"]["size"] > 0
    assert pull == {"action": "pull", "target": {"repository": "alice/web", "reference": "v1"}}


async def test_an_unreadable_certificate_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "bad.crt").write_text("not a certificate")
    for path in (tmp_path / "missing.crt", tmp_path / "bad.crt"):
        broken = settings.model_copy(update={"bearer": BearerSettings(certificate=path)})
        with pytest.raises(InvalidBearerKey, match=r"bearer-signing\.crt"):
            create_app(broken)
