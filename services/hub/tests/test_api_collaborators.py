"""``/api/v1/repositories/{namespace}/{name}/collaborators``: only the owner manages them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub

URL = "/api/v1/repositories/alice/web/collaborators"


@pytest.fixture
def alice(hub: Hub, factory: Factory) -> dict[str, str]:
    """alice owns the private repository alice/web; bob_b and carol exist."""
    owner = factory.user("alice")
    factory.repo(owner, "web", private=True)
    factory.user("bob_b")
    factory.user("carol")
    return bearer(hub, owner)


def test_owner_adds_lists_and_removes_collaborators(
    client: TestClient, factory: Factory, alice: dict[str, str]
) -> None:
    assert client.get(URL, headers=alice).json() == []
    added = client.post(URL, json={"username": "bob_b"}, headers=alice)
    assert added.status_code == 201
    assert added.json()["username"] == "bob_b" and added.json()["date_added"]
    assert client.post(URL, json={"username": "Carol"}, headers=alice).status_code == 201
    assert [c["username"] for c in client.get(URL, headers=alice).json()] == ["bob_b", "carol"]
    bob = ("bob_b", factory.password)
    assert client.get("/api/v1/repositories/alice/web", auth=bob).json()["permissions"]["write"] is True
    response = client.delete(f"{URL}/bob_b", headers=alice)
    assert response.status_code == 204
    assert [c["username"] for c in client.get(URL, headers=alice).json()] == ["carol"]
    assert_problem(client.get("/api/v1/repositories/alice/web", auth=bob), 404)


def test_collaborator_may_not_manage_collaborators(
    client: TestClient, factory: Factory, alice: dict[str, str]
) -> None:
    client.post(URL, json={"username": "bob_b"}, headers=alice)
    client.post(URL, json={"username": "carol"}, headers=alice)
    bob = ("bob_b", factory.password)
    assert_problem(client.delete(f"{URL}/carol", auth=bob), 403, "Only the owner")
    assert_problem(client.delete(f"{URL}/bob_b", auth=bob), 403)
    assert_problem(client.post(URL, json={"username": "carol"}, auth=bob), 403)
    assert_problem(client.get(URL, auth=bob), 403)
    assert len(client.get(URL, headers=alice).json()) == 2


def test_strangers_see_404_and_anonymous_401(
    client: TestClient, hub: Hub, factory: Factory, alice: dict[str, str]
) -> None:
    carol = ("carol", factory.password)
    assert_problem(client.get(URL, auth=carol), 404, "No such repository")
    assert_problem(client.post(URL, json={"username": "carol"}, auth=carol), 404)
    assert_problem(client.delete(f"{URL}/bob_b", auth=carol), 404)
    for response in (
        client.get(URL),
        client.post(URL, json={"username": "carol"}),
        client.delete(f"{URL}/bob_b"),
    ):
        assert_problem(response, 401)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"username": "nobody_here"}, 404, "No such user: nobody_here"),
        ({"username": "alice"}, 400, "owns this repository"),
        ({"user": "bob_b"}, 400, "username: Field required"),
    ],
)
def test_add_errors(
    client: TestClient, alice: dict[str, str], body: dict[str, str], status: int, detail: str
) -> None:
    assert_problem(client.post(URL, json=body, headers=alice), status, detail)


def test_adding_twice_is_409_and_removing_a_stranger_404(client: TestClient, alice: dict[str, str]) -> None:
    assert client.post(URL, json={"username": "bob_b"}, headers=alice).status_code == 201
    assert_problem(client.post(URL, json={"username": "bob_b"}, headers=alice), 409, "already a collaborator")
    assert_problem(client.delete(f"{URL}/carol", headers=alice), 404, "No such user: carol")
