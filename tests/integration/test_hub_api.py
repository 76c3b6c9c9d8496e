"""The hub's JSON API as a script uses it, against a real ``wharf-hub`` on loopback.

A token is made once with Basic credentials, then every call carries it as Bearer; lists
are walked page by page through ``next``; the OpenAPI document names every endpoint.
The hub runs with its own data root and SQLite, and is stopped by pid at the end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from wharf_hub.app import create_app
from wharf_hub.settings import Settings
from wharf_hub.testing import HubProcess

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def hub() -> Iterator[HubProcess]:
    with tempfile.TemporaryDirectory(prefix="wharf-hub-api-") as root:
        process = HubProcess(Path(root) / "hub", worker=False)
        try:
            process.start()
            process.create_user("alice", PASSWORD)
            process.create_user("bob_b", PASSWORD)
            yield process
        finally:
            process.stop()


@pytest.fixture
def http(hub: HubProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


def walk(http: httpx.Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every result of a paginated list, following ``next``."""
    results: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = http.get(next_url, headers=headers)
        response.raise_for_status()
        page = response.json()
        results += page["results"]
        next_url = page["next"]
    return results


def test_a_script_makes_a_token_then_works_with_bearer(http: httpx.Client) -> None:
    scopes = ["read", "write", "delete", "admin"]  # admin: it revokes itself at the end
    created = http.post(
        "/api/v1/user/tokens", json={"name": "script", "scopes": scopes}, auth=("alice", PASSWORD)
    )
    assert created.status_code == 201, created.text
    token = created.json()
    auth = {"Authorization": f"Bearer {token['token']}"}
    assert http.get("/api/v1/user", headers=auth).json()["username"] == "alice"

    for i in range(30):
        body = {
            "namespace": "alice",
            "name": f"svc-{i:02d}",
            "description": f"service {i}",
            "is_private": i % 10 == 0,
        }
        assert http.post("/api/v1/repositories", json=body, headers=auth).status_code == 201

    mine = walk(http, "/api/v1/repositories/alice?page_size=7", auth)
    assert [r["name"] for r in mine] == [f"svc-{i:02d}" for i in range(30)]
    public = walk(http, "/api/v1/repositories/alice?page_size=7", {})
    assert len(public) == 27 and not any(r["is_private"] for r in public)
    first = http.get("/api/v1/repositories/alice", params={"page_size": 7}).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (27, 7, None)
    assert first["next"].startswith(f"{http.base_url}".rstrip("/") + "/api/v1/repositories/alice?")

    found = walk(http, "/api/v1/search?q=svc&page_size=100", auth)
    assert len(found) == 30
    assert (
        http.put("/api/v1/repositories/alice/svc-01/star", auth=("bob_b", PASSWORD)).json()["star_count"] == 1
    )
    assert (
        http.get("/api/v1/search", params={"q": "svc", "page_size": 1}).json()["results"][0]["name"]
        == "svc-01"
    )

    patched = http.patch("/api/v1/repositories/alice/svc-05", json={"is_private": True}, headers=auth)
    assert patched.json()["is_private"] is True and patched.json()["permissions"]["admin"] is True
    hidden = http.get("/api/v1/repositories/alice/svc-05", auth=("bob_b", PASSWORD))
    assert hidden.status_code == 404 and hidden.headers["content-type"] == "application/problem+json"
    assert http.delete("/api/v1/repositories/alice/svc-29", headers=auth).status_code == 204

    assert http.delete(f"/api/v1/user/tokens/{token['id']}", headers=auth).status_code == 204
    revoked = http.get("/api/v1/user", headers=auth)
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"].startswith("Bearer")


def test_sign_up_over_the_api_mails_an_activation_link(hub: HubProcess, http: httpx.Client) -> None:
    body = {"username": "carol", "email": "carol@example.test", "password": "a-long-password-9"}
    response = http.post("/api/v1/users", json=body)
    assert response.status_code == 201 and response.json()["is_active"] is False
    assert http.get("/api/v1/user", auth=("carol", "a-long-password-9")).status_code == 403
    assert any("carol@example.test" in p.read_text() for p in hub.outbox.glob("*.eml"))


def test_openapi_lists_every_endpoint(http: httpx.Client, tmp_path: Path) -> None:
    """The served document names every /api route the app has (the unit tests pin the list)."""
    spec = http.get("/api/openapi.json").json()
    listed = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    app = create_app(Settings(data_root=tmp_path))
    own = app.openapi()["paths"]
    expected = {(method, path) for path, ops in own.items() for method in ops if path.startswith("/api/v1/")}
    assert len(expected) >= 20 and not expected - listed
    assert http.get("/api/docs").status_code == 200
