"""``/api/v1/repositories`` through the real app: create, read with permissions, change,
delete, list a namespace, tags; who may do what, and official images under ``library``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from wharf_hub.db.models import Tag, User
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub


def share(hub: Hub, owner: User, repo: str, username: str) -> None:
    with hub.db.session() as s:
        found = hub.repos.get(s, Factory.reload(s, owner), owner.username, repo)
        hub.repos.add_collaborator(s, Factory.reload(s, owner), found, username)


# ---- create ---------------------------------------------------------------------------------------


def test_create_answers_201_with_location_and_owner_permissions(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    auth = bearer(hub, factory.user("alice"))
    body = {"namespace": "alice", "name": "web", "description": "A web server", "full_description": "# Web"}
    response = client.post("/api/v1/repositories", json=body, headers=auth)
    assert response.status_code == 201
    assert response.headers["location"].endswith("/api/v1/repositories/alice/web")
    repo = response.json()
    assert {k: repo[k] for k in ("namespace", "name", "full_name", "description", "full_description")} == {
        **body,
        "full_name": "alice/web",
    }
    assert (repo["is_private"], repo["is_unlisted"], repo["is_official"]) == (False, False, False)
    assert (repo["star_count"], repo["pull_count"]) == (0, 0)
    assert repo["permissions"] == {"read": True, "write": True, "admin": True}
    assert repo["date_created"] and repo["last_updated"]
    assert client.get("/api/v1/repositories/alice/web").json()["description"] == "A web server"


def test_create_anonymous_is_401(client: TestClient) -> None:
    response = client.post("/api/v1/repositories", json={"namespace": "alice", "name": "web"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("namespace", ["bob_b", "library"])
def test_create_in_a_namespace_of_others_is_403(
    client: TestClient, hub: Hub, factory: Factory, namespace: str
) -> None:
    factory.user("bob_b")
    auth = bearer(hub, factory.user("alice"))
    response = client.post("/api/v1/repositories", json={"namespace": namespace, "name": "web"}, headers=auth)
    assert_problem(response, 403)


def test_create_twice_is_409(client: TestClient, hub: Hub, factory: Factory) -> None:
    auth = bearer(hub, factory.user("alice"))
    body = {"namespace": "alice", "name": "web"}
    assert client.post("/api/v1/repositories", json=body, headers=auth).status_code == 201
    assert_problem(client.post("/api/v1/repositories", json=body, headers=auth), 409, "already exists")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"namespace": "alice", "name": "Web"}, "Invalid repository name"),
        ({"namespace": "alice", "name": "../x"}, "Invalid repository name"),
        ({"namespace": "al", "name": "web"}, "Invalid namespace"),
        ({"namespace": "alice", "name": "web", "description": "x" * 101}, "100 characters"),
        ({"namespace": "alice", "name": "web", "is_private": "yes"}, "is_private"),
        ({"namespace": "alice", "name": "web", "private": True}, "private: Extra inputs"),
        ({"namespace": "alice"}, "name: Field required"),
    ],
)
def test_create_with_invalid_fields_is_400(
    client: TestClient, hub: Hub, factory: Factory, body: dict[str, Any], detail: str
) -> None:
    auth = bearer(hub, factory.user("alice"))
    assert_problem(client.post("/api/v1/repositories", json=body, headers=auth), 400, detail)


def test_admins_create_official_images_reachable_under_library(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    auth = bearer(hub, factory.user("root_admin", admin=True))
    created = client.post(
        "/api/v1/repositories", json={"namespace": "library", "name": "busybox"}, headers=auth
    )
    assert created.status_code == 201
    repo = client.get("/api/v1/repositories/library/busybox").json()
    assert (repo["full_name"], repo["is_official"]) == ("busybox", True)
    assert repo["permissions"] == {"read": True, "write": False, "admin": False}
    assert client.get("/api/v1/repositories/library").json()["results"][0]["name"] == "busybox"


# ---- read ------------------------------------------------------------------------------------------


def test_permissions_follow_the_callers_role(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.user("bob_b")
    share(hub, alice, "web", "bob_b")
    carol = factory.user("carol")
    url = "/api/v1/repositories/alice/web"
    roles = {
        "anonymous": client.get(url).json()["permissions"],
        "other": client.get(url, headers=bearer(hub, carol)).json()["permissions"],
        "collaborator": client.get(url, auth=("bob_b", factory.password)).json()["permissions"],
        "owner": client.get(url, headers=bearer(hub, alice)).json()["permissions"],
    }
    assert roles == {
        "anonymous": {"read": True, "write": False, "admin": False},
        "other": {"read": True, "write": False, "admin": False},
        "collaborator": {"read": True, "write": True, "admin": False},
        "owner": {"read": True, "write": True, "admin": True},
    }


def test_private_repository_is_404_to_others_and_visible_to_collaborators(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "secret", private=True)
    factory.user("bob_b")
    share(hub, alice, "secret", "bob_b")
    carol = factory.user("carol")
    url = "/api/v1/repositories/alice/secret"
    assert_problem(client.get(url), 404, "No such repository: alice/secret")
    assert_problem(client.get(url, headers=bearer(hub, carol)), 404, "No such repository: alice/secret")
    assert_problem(client.get(f"{url}/tags", headers=bearer(hub, carol)), 404)
    assert client.get(url, auth=("bob_b", factory.password)).json()["is_private"] is True
    assert_problem(client.get("/api/v1/repositories/alice/nothing"), 404, "No such repository")


def test_list_namespace_hides_private_repositories_from_others(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    for name in ("zeta", "alpha"):
        factory.repo(alice, name)
    factory.repo(alice, "hidden", private=True)
    public = client.get("/api/v1/repositories/alice").json()
    assert [r["name"] for r in public["results"]] == ["alpha", "zeta"] and public["count"] == 2
    own = client.get("/api/v1/repositories/alice", headers=bearer(hub, alice)).json()
    assert [r["name"] for r in own["results"]] == ["alpha", "hidden", "zeta"]
    assert client.get("/api/v1/repositories/nobody_here").json()["count"] == 0


# ---- change ---------------------------------------------------------------------------------------


def test_owner_changes_only_the_given_settings(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    auth = bearer(hub, alice)
    url = "/api/v1/repositories/alice/web"
    response = client.patch(url, json={"description": "new", "is_unlisted": True}, headers=auth)
    assert response.status_code == 200
    repo = response.json()
    assert (repo["description"], repo["is_unlisted"], repo["is_private"]) == ("new", True, False)
    repo = client.patch(url, json={"is_private": True, "full_description": "long"}, headers=auth).json()
    assert (repo["description"], repo["full_description"], repo["is_private"]) == ("new", "long", True)
    assert_problem(client.get(url), 404)
    assert client.patch(url, json={}, headers=auth).status_code == 200


def test_only_admins_mark_repositories_official(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    url = "/api/v1/repositories/alice/web"
    assert_problem(
        client.patch(url, json={"is_official": True}, headers=bearer(hub, alice)), 403, "administrators"
    )
    admin = bearer(hub, factory.user("root_admin", admin=True))
    assert client.patch(url, json={"is_official": True}, headers=admin).json()["is_official"] is True


def test_change_refused_to_anonymous_collaborators_and_strangers(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.repo(alice, "secret", private=True)
    factory.user("bob_b")
    share(hub, alice, "web", "bob_b")
    carol = bearer(hub, factory.user("carol"))
    body = {"description": "mine now"}
    assert_problem(client.patch("/api/v1/repositories/alice/web", json=body), 401)
    assert_problem(
        client.patch("/api/v1/repositories/alice/web", json=body, auth=("bob_b", factory.password)), 403
    )
    assert_problem(client.patch("/api/v1/repositories/alice/web", json=body, headers=carol), 403)
    assert_problem(client.patch("/api/v1/repositories/alice/secret", json=body, headers=carol), 404)
    assert client.get("/api/v1/repositories/alice/web").json()["description"] == ""


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"description": "x" * 101}, "100 characters"),
        ({"full_description": "x" * 25_001}, "25000 characters"),
        ({"is_private": 1}, "is_private"),
        ({"name": "renamed"}, "Extra inputs"),
    ],
)
def test_change_with_invalid_fields_is_400(
    client: TestClient, hub: Hub, factory: Factory, body: dict[str, Any], detail: str
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    assert_problem(
        client.patch("/api/v1/repositories/alice/web", json=body, headers=bearer(hub, alice)), 400, detail
    )


# ---- delete ---------------------------------------------------------------------------------------


def test_only_the_owner_deletes(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.user("bob_b")
    share(hub, alice, "web", "bob_b")
    url = "/api/v1/repositories/alice/web"
    assert_problem(client.delete(url), 401)
    assert_problem(client.delete(url, auth=("bob_b", factory.password)), 403, "Only the owner")
    response = client.delete(url, headers=bearer(hub, alice))
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(url), 404)
    assert_problem(client.delete(url, headers=bearer(hub, alice)), 404)


def test_admins_delete_any_repository(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.repo(factory.user("alice"), "web", private=True)
    admin = bearer(hub, factory.user("root_admin", admin=True))
    assert client.delete("/api/v1/repositories/alice/web", headers=admin).status_code == 204


# ---- tags -----------------------------------------------------------------------------------------


def test_tags_newest_first_with_size_and_image(client: TestClient, hub: Hub, factory: Factory) -> None:
    repo = factory.repo(factory.user("alice"), "web")
    then = datetime(2024, 5, 1, tzinfo=UTC)
    with hub.db.session() as s:
        s.add(Tag(repository_id=repo.id, name="1.0", image_id="a" * 64, size=100, pushed_at=then))
        s.add(
            Tag(
                repository_id=repo.id,
                name="latest",
                image_id="b" * 64,
                size=250,
                pushed_at=then + timedelta(1),
            )
        )
    response = client.get("/api/v1/repositories/alice/web/tags")
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    assert [(t["name"], t["image_id"][:1], t["size"]) for t in page["results"]] == [
        ("latest", "b", 250),
        ("1.0", "a", 100),
    ]
    assert datetime.fromisoformat(page["results"][1]["last_pushed"]) == then
    second = client.get("/api/v1/repositories/alice/web/tags?page=2&page_size=1").json()
    assert [t["name"] for t in second["results"]] == ["1.0"] and second["next"] is None
