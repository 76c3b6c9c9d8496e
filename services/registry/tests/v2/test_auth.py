"""v2 in standalone mode with a users file: Basic challenges, as the Go registry's htpasswd mode."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from wharf_registry.access import AuthSettings, UsersFile, add_user
from wharf_registry.app import create_app
from wharf_registry.settings import Settings
from wharf_registry.v2.testing import error_code, push_image

pytestmark = pytest.mark.anyio


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
async def locked(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    users = tmp_path / "users"
    add_user(users, "alice", "pw")
    settings = Settings(data_root=tmp_path / "data", auth=AuthSettings(users_file=users))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as c:
        yield c


async def test_anonymous_and_wrong_credentials_get_the_basic_challenge(locked: httpx.AsyncClient) -> None:
    cases = [
        ({}, "GET", "/v2/"),
        ({}, "POST", "/v2/alice/web/blobs/uploads/"),
        ({}, "GET", "/v2/alice/web/tags/list"),
        ({}, "GET", "/v2/_catalog"),
        (basic("alice", "wrong"), "GET", "/v2/"),
        (basic("mallory", "pw"), "GET", "/v2/"),
        ({"Authorization": "Basic !!"}, "PUT", "/v2/alice/web/manifests/1"),
    ]
    for headers, method, path in cases:
        r = await locked.request(method, path, headers=headers)
        assert r.status_code == 401, (method, path, headers)
        assert r.headers["www-authenticate"] == 'Basic realm="wharf-registry"'
        assert error_code(r) == "UNAUTHORIZED"
    ok = basic("alice", "pw")
    assert (await locked.get("/v2/", headers=ok)).status_code == 200
    locked.headers.update(ok)
    await push_image(locked, "alice/web", "1", [b"layer"])
    assert (await locked.get("/v2/_catalog")).json() == {"repositories": ["alice/web"]}


def test_verified_passwords_are_remembered_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "users"
    add_user(path, "alice", "old")
    users = UsersFile(path, remember=60)
    assert users.verify("alice", "old")
    assert users.verify("alice", "old")  # (remembered)
    add_user(path, "alice", "new")
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))  # a different mtime even within the clock's resolution
    assert not users.verify("alice", "old")
    assert users.verify("alice", "new")
    assert not users.verify("alice", "new ")
