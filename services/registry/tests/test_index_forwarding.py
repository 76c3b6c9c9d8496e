"""Index mode with the hub's address: the index calls are passed on to the hub, with only the
headers that belong to the v1 index protocol each way; an unreachable hub is a clear 503."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from wharf_common.tokens import TokenSigner, public_key_pem
from wharf_registry.api.routers.index import elsewhere_router
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings
from wharf_registry.index_forward import IndexForwarder
from wharf_registry.settings import Settings

pytestmark = pytest.mark.anyio


async def test_index_calls_go_to_the_hub_with_the_protocol_headers_only() -> None:
    seen: list[httpx.Request] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {
            "X-Docker-Token": "signature=abc",
            "X-Docker-Endpoints": "127.0.0.1:5000",
            "Set-Cookie": "session=x",
            "Content-Type": "application/json",
        }
        return httpx.Response(200, json="", headers=headers)

    app = FastAPI()
    app.include_router(
        elsewhere_router(IndexForwarder("http://hub.test/", transport=httpx.MockTransport(hub)))
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry.test"
    ) as c:
        answer = await c.put(
            "/v1/repositories/alice/web/?x=1",
            json=[],
            headers={"Authorization": "Basic YWxpY2U6cHc=", "X-Docker-Token": "true", "Cookie": "a=b"},
        )
    assert answer.status_code == 200
    assert answer.headers["x-docker-token"] == "signature=abc"
    assert answer.headers["x-docker-endpoints"] == "127.0.0.1:5000"
    assert "set-cookie" not in answer.headers
    [request] = seen
    assert str(request.url) == "http://hub.test/v1/repositories/alice/web/?x=1"
    assert request.method == "PUT" and request.content == b"[]"
    assert request.headers["authorization"] == "Basic YWxpY2U6cHc="
    assert request.headers["x-docker-token"] == "true" and "cookie" not in request.headers
    assert request.headers["x-forwarded-for"] == "127.0.0.1"


async def test_an_unreachable_hub_is_a_clear_503(tmp_path: Path) -> None:
    key = tmp_path / "hub.pub.pem"
    key.write_bytes(public_key_pem(TokenSigner(Ed25519PrivateKey.generate()).public_key))
    index = IndexSettings(public_key=key, url="http://127.0.0.1:9", timeout=2)
    app = create_app(Settings(data_root=tmp_path / "data", index=index))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry.test"
    ) as c:
        answer = await c.get("/v1/users/", auth=("alice", "pw"))
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("Cannot reach the index at http://127.0.0.1:9")
