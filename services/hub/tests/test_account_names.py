"""Names and the official namespace: reserved names are nobody's (users and organisations,
through every way in), ``library`` is the site admins' alone whatever an account is called,
and a deleted account's name is free again only once its registry content is gone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_hub.db.models import Job, NameTombstone, User
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub
from wharf_hub.services.access import Role, can_create, creatable_namespaces, namespace_role
from wharf_hub.services.accounts import PURGE, name_unavailable
from wharf_hub.services.errors import InvalidName
from wharf_hub.web.testing import Browser

TOKEN = {"X-Docker-Token": "true"}
RESERVED = ["library", "admin", "root", "users", "login", "signup", "search", "account", "repositories"]


def legacy_user(hub: Hub, name: str, password: str) -> None:
    """An account made before names were reserved (written as the old code did)."""
    with hub.db.session() as s:
        s.add(
            User(
                username=name,
                email=f"{name}@example.test",
                email_key=f"{name}@example.test",
                is_active=True,
                password_hash=hub.accounts.passwords.hash(password),
            )
        )


# ---- reserved names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_are_refused_by_every_sign_up(client: TestClient, hub: Hub, name: str) -> None:
    body = {"username": name, "email": f"{name}@example.test", "password": "a-long-password-9"}
    assert_problem(client.post("/api/v1/users", json=body), 400, "reserved")
    v1 = client.post("/v1/users/", json=body)
    assert v1.status_code == 400 and "reserved" in v1.json()
    with TestClient(client.app, base_url="http://hub.test") as web:
        page = Browser(web).submit("/signup", body)
    assert page.status_code == 400 and "reserved" in page.text
    with hub.db.session() as s, pytest.raises(InvalidName, match="reserved"):
        hub.accounts.create_user(s, name, f"{name}@example.test", "a-long-password-9", active=True)
    with hub.db.session() as s:
        assert hub.accounts.find(s, name) is None


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_are_refused_for_organisations(
    client: TestClient, hub: Hub, factory: Factory, name: str
) -> None:
    alice = factory.user("alice")
    response = client.post("/api/v1/orgs", json={"name": name}, headers=bearer(hub, alice))
    assert response.status_code in (400, 409), response.text
    with hub.db.session() as s:
        assert name_unavailable(s, name)


def test_an_account_called_library_cannot_push_or_create_official_images(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    """The attack: sign up as ``library`` (possible before names were reserved), then push
    ``library/busybox:latest``. An account that already has the name gains nothing by it."""
    legacy_user(hub, "library", factory.password)
    auth = httpx.BasicAuth("library", factory.password)
    for path in ("/v1/repositories/busybox/", "/v1/repositories/library/busybox/"):
        response = client.put(path, json=[], headers=TOKEN, auth=auth)
        assert response.status_code == 403, response.text
    created = client.post("/api/v1/repositories", json={"namespace": "library", "name": "busybox"}, auth=auth)
    assert created.status_code == 403, created.text
    with hub.db.session() as s:
        user = hub.accounts.get(s, "library")
        assert namespace_role(s, user, "library") == Role.NONE and not can_create(s, user, "library")
        assert "library" not in creatable_namespaces(s, user)
        assert hub.repos.find(s, "library", "busybox") is None


def test_official_images_stay_with_site_admins(client: TestClient, hub: Hub, factory: Factory) -> None:
    admin = factory.user("siteadmin", admin=True)
    legacy_user(hub, "admin", factory.password)
    factory.repo(admin, "busybox", namespace="library")
    as_admin_named = httpx.BasicAuth("admin", factory.password)  # named admin, not one
    assert (
        client.put("/v1/repositories/busybox/", json=[], headers=TOKEN, auth=as_admin_named).status_code
        == 403
    )
    ok = client.put(
        "/v1/repositories/busybox/",
        json=[],
        headers=TOKEN,
        auth=httpx.BasicAuth("siteadmin", factory.password),
    )
    assert ok.status_code == 200


# ---- deleted accounts ------------------------------------------------------------------------


class FakeRegistry:
    def __init__(self, fail: bool = False) -> None:
        self.deleted: list[str] = []
        self.fail = fail

    def delete(self, remote: str) -> None:
        if self.fail:
            raise httpx.ConnectError("registry down")
        self.deleted.append(remote)


def purge_jobs(hub: Hub) -> list[dict[str, Any]]:
    with hub.db.session() as s:
        return [dict(j.payload) for j in s.scalars(select(Job).where(Job.kind == PURGE))]


def test_a_deleted_name_is_taken_until_its_registry_content_is_gone(
    client: TestClient, hub: Hub, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: alice deletes her account with private images in the registry; someone
    signs up as alice and pulls them. Now the registry content is deleted by a job, and the
    name stays taken until that job has finished."""
    alice = factory.user("alice")
    factory.repo(alice, "secret", private=True)
    factory.repo(alice, "web")
    response = client.request(
        "DELETE",
        "/api/v1/user",
        json={"password": factory.password},
        auth=httpx.BasicAuth("alice", factory.password),
    )
    assert response.status_code == 204
    [job] = purge_jobs(hub)
    assert job["name"] == "alice" and sorted(job["repositories"]) == ["alice/secret", "alice/web"]
    body = {"username": "alice", "email": "newcomer@example.test", "password": "a-long-password-9"}
    assert_problem(client.post("/api/v1/users", json=body), 409)
    assert client.post("/v1/users/", json=body).status_code == 400
    mallory = factory.user("mallory")
    assert (
        client.post("/api/v1/orgs", json={"name": "alice"}, headers=bearer(hub, mallory)).status_code == 409
    )

    down = FakeRegistry(fail=True)
    monkeypatch.setattr(hub.accounts, "reader", down)
    hub.worker.drain(timeout=5)  # the registry is down: the job waits for a retry, the name stays
    assert_problem(client.post("/api/v1/users", json=body), 409)

    registry = FakeRegistry()
    monkeypatch.setattr(hub.accounts, "reader", registry)
    with hub.db.session() as s:  # make the retry due now
        for row in s.scalars(select(Job).where(Job.kind == PURGE)):
            row.run_at = row.created_at
    hub.worker.drain(timeout=5)
    assert sorted(registry.deleted) == ["alice/secret", "alice/web"]
    with hub.db.session() as s:
        assert s.get(NameTombstone, "alice") is None
    assert client.post("/api/v1/users", json=body).status_code == 201
