"""Organisations: members push to the shared namespace; only owners manage it."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from wharf_hub.factories import Factory

TOKEN = {"X-Docker-Token": "true"}


def auth(name: str, factory: Factory) -> httpx.BasicAuth:
    return httpx.BasicAuth(name, factory.password)


@pytest.fixture
def acme(client: TestClient, factory: Factory) -> TestClient:
    for name in ("olivia", "mark", "oscar"):
        factory.user(name)
    created = client.post("/api/v1/orgs", json={"name": "acme"}, auth=auth("olivia", factory))
    assert created.status_code == 201
    assert created.json() == {"name": "acme", "members": [{"username": "olivia", "owner": True}]}
    added = client.put("/api/v1/orgs/acme/members", json={"username": "mark"}, auth=auth("olivia", factory))
    assert added.status_code == 200
    return client


def test_members_push_to_the_organization_namespace_others_do_not(acme: TestClient, factory: Factory) -> None:
    pushed = acme.put("/v1/repositories/acme/web/", json=[], headers=TOKEN, auth=auth("mark", factory))
    assert pushed.status_code == 200
    refused = acme.put("/v1/repositories/acme/api/", json=[], headers=TOKEN, auth=auth("oscar", factory))
    assert refused.status_code == 403


def test_only_owners_change_settings_and_members(acme: TestClient, factory: Factory) -> None:
    acme.put("/v1/repositories/acme/web/", json=[], headers=TOKEN, auth=auth("mark", factory))
    member = acme.patch(
        "/api/v1/repositories/acme/web", json={"description": "x"}, auth=auth("mark", factory)
    )
    assert member.status_code == 403
    owner = acme.patch(
        "/api/v1/repositories/acme/web", json={"description": "ok"}, auth=auth("olivia", factory)
    )
    assert owner.status_code == 200
    adds = acme.put("/api/v1/orgs/acme/members", json={"username": "oscar"}, auth=auth("mark", factory))
    assert adds.status_code == 403
    assert acme.delete("/api/v1/orgs/acme/members/olivia", auth=auth("mark", factory)).status_code == 403


def test_organization_names_are_namespaces(acme: TestClient, factory: Factory) -> None:
    for name in ("olivia", "acme"):
        taken = acme.post("/api/v1/orgs", json={"name": name}, auth=auth("oscar", factory))
        assert taken.status_code == 409, name
    reserved = acme.post("/api/v1/orgs", json={"name": "library"}, auth=auth("oscar", factory))
    assert reserved.status_code == 400 and "reserved" in reserved.json()["detail"]
    bad = acme.post("/api/v1/orgs", json={"name": "Ac Me"}, auth=auth("oscar", factory))
    assert bad.status_code == 400
    assert acme.post("/api/v1/orgs", json={"name": "other"}).status_code == 401
    assert acme.get("/api/v1/orgs/nothing").status_code == 404


def test_the_last_owner_cannot_leave_and_members_can_be_removed(acme: TestClient, factory: Factory) -> None:
    last = acme.delete("/api/v1/orgs/acme/members/olivia", auth=auth("olivia", factory))
    assert last.status_code == 409 and "last owner" in last.json()["detail"]
    assert acme.delete("/api/v1/orgs/acme/members/mark", auth=auth("olivia", factory)).status_code == 204
    refused = acme.put("/v1/repositories/acme/web/", json=[], headers=TOKEN, auth=auth("mark", factory))
    assert refused.status_code == 403
    assert acme.delete("/api/v1/orgs/acme/members/mark", auth=auth("olivia", factory)).status_code == 404


def test_the_last_owner_cannot_demote_themselves(acme: TestClient, factory: Factory) -> None:
    olivia = auth("olivia", factory)
    demoted = acme.put("/api/v1/orgs/acme/members", json={"username": "olivia", "owner": False}, auth=olivia)
    assert demoted.status_code == 409 and "last owner" in demoted.json()["detail"]
    members = acme.get("/api/v1/orgs/acme").json()["members"]
    assert {"username": "olivia", "owner": True} in members
    # with a second owner, stepping down is fine, and the new last owner is held in turn
    promoted = acme.put("/api/v1/orgs/acme/members", json={"username": "mark", "owner": True}, auth=olivia)
    assert promoted.status_code == 200
    assert (
        acme.put(
            "/api/v1/orgs/acme/members", json={"username": "olivia", "owner": False}, auth=olivia
        ).status_code
        == 200
    )
    mark = auth("mark", factory)
    refused = acme.put("/api/v1/orgs/acme/members", json={"username": "mark", "owner": False}, auth=mark)
    assert refused.status_code == 409
