"""Stars: ``PUT``/``DELETE .../star`` (idempotent), ``star_count``, ``/api/v1/user/starred``."""

from __future__ import annotations

from fastapi.testclient import TestClient
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub


def test_star_and_unstar_are_idempotent_and_counted(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.repo(factory.user("alice"), "web")
    bob, carol = bearer(hub, factory.user("bob_b")), bearer(hub, factory.user("carol"))
    url = "/api/v1/repositories/alice/web/star"
    assert client.put(url, headers=bob).json() == {"starred": True, "star_count": 1}
    assert client.put(url, headers=bob).json() == {"starred": True, "star_count": 1}
    assert client.put(url, headers=carol).json() == {"starred": True, "star_count": 2}
    assert client.get("/api/v1/repositories/alice/web").json()["star_count"] == 2
    assert client.delete(url, headers=bob).json() == {"starred": False, "star_count": 1}
    assert client.delete(url, headers=bob).json() == {"starred": False, "star_count": 1}


def test_starred_lists_newest_first_and_drops_what_became_private(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    for name in ("one", "two", "three"):
        factory.repo(alice, name)
    bob = bearer(hub, factory.user("bob_b"))
    for name in ("one", "two", "three"):
        assert client.put(f"/api/v1/repositories/alice/{name}/star", headers=bob).status_code == 200
    starred = client.get("/api/v1/user/starred", headers=bob).json()
    assert starred["count"] == 3
    assert [r["name"] for r in starred["results"]] == ["three", "two", "one"]
    first = client.get("/api/v1/user/starred?page_size=2", headers=bob).json()
    assert len(first["results"]) == 2 and first["next"] is not None
    client.patch("/api/v1/repositories/alice/two", json={"is_private": True}, headers=bearer(hub, alice))
    names = [r["name"] for r in client.get("/api/v1/user/starred", headers=bob).json()["results"]]
    assert names == ["three", "one"]


def test_star_errors(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.repo(factory.user("alice"), "secret", private=True)
    bob = bearer(hub, factory.user("bob_b"))
    assert_problem(client.put("/api/v1/repositories/alice/web/star"), 401)
    assert_problem(client.delete("/api/v1/repositories/alice/web/star"), 401)
    assert_problem(client.get("/api/v1/user/starred"), 401)
    assert_problem(
        client.put("/api/v1/repositories/alice/secret/star", headers=bob), 404, "No such repository"
    )
    assert_problem(client.delete("/api/v1/repositories/alice/secret/star", headers=bob), 404)
    assert_problem(client.put("/api/v1/repositories/alice/nothing/star", headers=bob), 404)
