"""Standalone Basic auth: users file, anonymous reads, tokens from the index routes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from wharf_registry.access import AuthSettings, add_user
from wharf_registry.app import create_app
from wharf_registry.settings import Settings
from wharf_registry.testing import image_json, random_image_id

pytestmark = pytest.mark.anyio


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    add_user(path, "alice", "s3cret-pw")
    return path


async def client_for(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://r.test"
    )


@pytest.fixture
async def locked(tmp_path: Path, users_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_root=tmp_path / "data", auth=AuthSettings(users_file=users_file))
    async with await client_for(settings) as c:
        yield c


async def test_requests_without_credentials_get_401_challenge(locked: httpx.AsyncClient) -> None:
    r = await locked.get("/v1/repositories/alice/web/tags")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="wharf-registry"'
    assert r.json() == {"error": "Requires authorization"}
    assert (await locked.get("/v1/_ping")).status_code == 200


async def test_wrong_password_is_401(locked: httpx.AsyncClient) -> None:
    r = await locked.get("/v1/repositories/alice/web/tags", headers=basic("alice", "nope"))
    assert r.status_code == 401
    r = await locked.get("/v1/repositories/alice/web/tags", headers=basic("mallory", "s3cret-pw"))
    assert r.status_code == 401


async def test_valid_credentials_pass(locked: httpx.AsyncClient) -> None:
    image_id = random_image_id()
    r = await locked.put(
        f"/v1/images/{image_id}/json", content=image_json(image_id), headers=basic("alice", "s3cret-pw")
    )
    assert r.status_code == 200
    assert (await locked.get("/v1/users/", headers=basic("alice", "s3cret-pw"))).json() == "OK"


async def test_anonymous_read_allows_only_reads(tmp_path: Path, users_file: Path) -> None:
    settings = Settings(
        data_root=tmp_path / "d", auth=AuthSettings(users_file=users_file, anonymous_read=True)
    )
    async with await client_for(settings) as c:
        assert (await c.get("/v1/search")).status_code == 200
        image_id = random_image_id()
        assert (await c.put(f"/v1/images/{image_id}/json", content=image_json(image_id))).status_code == 401


async def test_index_token_grants_repository_access(locked: httpx.AsyncClient) -> None:
    r = await locked.put("/v1/repositories/alice/web/", json=[], headers=basic("alice", "s3cret-pw"))
    token = r.headers["x-docker-token"]
    auth = {"Authorization": f"Token {token}"}
    image_id = random_image_id()
    assert (
        await locked.put(f"/v1/images/{image_id}/json", content=image_json(image_id), headers=auth)
    ).status_code == 200
    r = await locked.get("/v1/repositories/alice/web/tags", headers=auth)  # write grants read
    assert (r.status_code, r.json()) == (200, {})
    r = await locked.get("/v1/repositories/bobby/web/tags", headers=auth)
    assert r.status_code == 403
    forged = {"Authorization": "Token " + token.replace("alice/web", "bobby/web")}
    assert (await locked.get("/v1/repositories/bobby/web/tags", headers=forged)).status_code == 401
    assert (await locked.delete("/v1/repositories/alice/web/", headers=auth)).status_code == 403


async def test_login_via_post_users_forces_get(locked: httpx.AsyncClient) -> None:
    body = {"username": "alice", "password": "s3cret-pw", "email": "a@x", "auth": ""}
    r = await locked.post("/v1/users/", content=json.dumps(body))
    assert (r.status_code, r.json()) == (400, "Username or email already exists")
    body["password"] = "wrong"
    assert (await locked.post("/v1/users/", content=json.dumps(body))).status_code == 401


def test_adduser_command_reads_password_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "users"
    for password in ("first-pw", "second-pw"):
        subprocess.run(
            [sys.executable, "-m", "wharf_registry.main", "adduser", str(path), "bobby"],
            input=password + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("bobby:$argon2")
    assert path.stat().st_mode & 0o777 == 0o600
    from wharf_registry.access import UsersFile

    assert UsersFile(path).verify("bobby", "second-pw")
    assert not UsersFile(path).verify("bobby", "first-pw")
