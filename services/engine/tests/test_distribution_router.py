"""The distribution router: errors before the first message are HTTP errors, later ones stream lines."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
from fastapi import FastAPI
from wharf_common.errors import NotFound, Unauthorized
from wharf_engine.api import errors
from wharf_engine.api.routers import distribution
from wharf_engine.distribution import AuthConfig
from wharf_engine.distribution.progress import ProgressStream


class FakeBackend:
    def __init__(self) -> None:
        self.auths: list[AuthConfig] = []

    async def image_pull(
        self, name: str, tag: str | None, auth: AuthConfig, platform: str | None = None
    ) -> ProgressStream:
        yield {"status": "never"}

    async def image_push(self, name: str, tag: str | None, auth: AuthConfig) -> ProgressStream:
        self.auths.append(auth)
        if tag == "absent":
            raise NotFound(f"An image does not exist locally with the tag: {name}")
        yield {"status": f"The push refers to repository [{name}]"}
        if tag == "broken":
            raise Unauthorized("unauthorized: authentication required")
        yield {"status": "Pushed", "progressDetail": {}, "id": "abc"}

    async def registry_login(self, auth: AuthConfig) -> dict[str, str]:
        if auth.password != "right":
            raise Unauthorized('Get "http://h:5/v1/users/": unauthorized: incorrect username or password')
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    async def image_search(self, term: str, limit: int, auth: AuthConfig) -> list[dict[str, Any]]:
        return [{"name": term, "limit": limit}]


def call(method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, FakeBackend]:
    backend = FakeBackend()
    app = FastAPI()
    errors.install(app)
    app.include_router(distribution.router(backend))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://engine") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go()), backend


def lines(response: httpx.Response) -> list[Any]:
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_push_streams_progress_and_passes_credentials() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p"}).encode()).decode()
    response, backend = call("POST", "/images/h:5/u/web/push?tag=v1", headers={"X-Registry-Auth": header})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert lines(response) == [
        {"status": "The push refers to repository [h:5/u/web]"},
        {"status": "Pushed", "progressDetail": {}, "id": "abc"},
    ]
    assert backend.auths == [AuthConfig("u", "p")]


def test_error_before_the_first_message_is_an_http_error() -> None:
    response, _ = call("POST", "/images/h:5/u/web/push?tag=absent")
    assert response.status_code == 404
    assert response.json() == {"message": "An image does not exist locally with the tag: h:5/u/web"}


def test_error_after_the_first_message_ends_the_stream() -> None:
    response, _ = call("POST", "/images/h:5/u/web/push?tag=broken")
    assert response.status_code == 200
    assert lines(response)[-1] == {
        "errorDetail": {"message": "unauthorized: authentication required"},
        "error": "unauthorized: authentication required",
    }


def test_bad_registry_auth_header_is_a_400() -> None:
    response, _ = call("POST", "/images/h:5/u/web/push?tag=v1", headers={"X-Registry-Auth": "%%%"})
    assert response.status_code == 400 and "X-Registry-Auth" in response.json()["message"]


def test_auth_answers_login_succeeded_or_401() -> None:
    body = {"username": "alice", "password": "right", "serveraddress": "h:5"}
    response, _ = call("POST", "/auth", json=body)
    assert response.json() == {"Status": "Login Succeeded", "IdentityToken": ""}
    response, _ = call("POST", "/auth", json={**body, "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["message"].endswith("unauthorized: incorrect username or password")


def test_search_validates_term_and_limit() -> None:
    response, _ = call("GET", "/images/search?term=h:5/web&limit=3")
    assert response.json() == [{"name": "h:5/web", "limit": 3}]
    assert call("GET", "/images/search")[0].status_code == 400
    assert call("GET", "/images/search?term=x&limit=1000")[0].status_code == 400
