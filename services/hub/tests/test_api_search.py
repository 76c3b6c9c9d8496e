"""``GET /api/v1/search`` and the pagination every list shares (``?page=&page_size=``)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub


def names(page: dict[str, Any]) -> list[str]:
    return [r["full_name"] for r in page["results"]]


# ---- search ---------------------------------------------------------------------------------------


def test_search_ranks_exact_then_official_then_stars(client: TestClient, hub: Hub, factory: Factory) -> None:
    admin, alice = factory.user("root_admin", admin=True), factory.user("alice")
    factory.repo(admin, "redis", namespace="library")
    factory.repo(alice, "redis-tools")
    factory.repo(alice, "myredis")
    bob = bearer(hub, factory.user("bob_b"))
    client.put("/api/v1/repositories/alice/myredis/star", headers=bob)
    found = client.get("/api/v1/search?q=redis").json()
    assert names(found) == ["redis", "alice/myredis", "alice/redis-tools"]
    assert found["count"] == 3 and found["results"][0]["is_official"] is True
    assert names(client.get("/api/v1/search?q=alice/myredis").json()) == ["alice/myredis"]


def test_search_shows_private_repositories_only_to_those_who_may_pull(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.repo(alice, "web-secret", private=True)
    unlisted = factory.repo(alice, "web-unlisted")
    client.patch(
        f"/api/v1/repositories/alice/{unlisted.name}", json={"is_unlisted": True}, headers=bearer(hub, alice)
    )
    assert names(client.get("/api/v1/search?q=web").json()) == ["alice/web"]
    carol = bearer(hub, factory.user("carol"))
    assert names(client.get("/api/v1/search?q=web", headers=carol).json()) == ["alice/web"]
    assert names(client.get("/api/v1/search?q=web", headers=bearer(hub, alice)).json()) == [
        "alice/web",
        "alice/web-secret",
    ]


def test_search_with_wrong_credentials_is_401(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/search?q=x", headers={"Authorization": "Bearer wharf_pat_nope"}), 401)


def test_search_query_has_a_length_limit(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/search", params={"q": "x" * 201}), 400, "q")


# ---- pagination ---------------------------------------------------------------------------------


@pytest.fixture
def seven(factory: Factory) -> None:
    """alice owns repo0 … repo6 (public)."""
    alice = factory.user("alice")
    for i in range(7):
        factory.repo(alice, f"repo{i}")


@pytest.mark.parametrize("base", ["/api/v1/repositories/alice", "/api/v1/search?q=repo"])
def test_pages_link_to_each_other_and_keep_the_query(client: TestClient, seven: None, base: str) -> None:
    sep = "&" if "?" in base else "?"
    first = client.get(f"{base}{sep}page_size=3").json()
    assert (first["count"], first["page"], first["page_size"], first["previous"]) == (7, 1, 3, None)
    assert names(first) == ["alice/repo0", "alice/repo1", "alice/repo2"]
    seen = names(first)
    page = first
    while page["next"]:
        assert page["next"].startswith("http://testserver/api/v1/")
        assert "page_size=3" in page["next"] and ("q=repo" in page["next"]) == ("q=" in base)
        page = client.get(page["next"]).json()
        seen += names(page)
    assert seen == [f"alice/repo{i}" for i in range(7)]
    assert page["page"] == 3 and names(page) == ["alice/repo6"]
    back = client.get(page["previous"]).json()
    assert back["page"] == 2 and names(back) == ["alice/repo3", "alice/repo4", "alice/repo5"]


def test_exactly_full_last_page_has_no_next(client: TestClient, seven: None) -> None:
    page = client.get("/api/v1/repositories/alice?page=1&page_size=7").json()
    assert len(page["results"]) == 7 and page["next"] is None and page["previous"] is None
    last = client.get("/api/v1/repositories/alice?page=7&page_size=1").json()
    assert names(last) == ["alice/repo6"] and last["next"] is None


def test_page_past_the_end_is_empty_and_points_back_to_the_last(client: TestClient, seven: None) -> None:
    page = client.get("/api/v1/repositories/alice?page=9&page_size=3").json()
    assert (page["count"], page["results"], page["next"]) == (7, [], None)
    assert "page=3" in page["previous"]


def test_empty_list_is_one_empty_page(client: TestClient) -> None:
    page = client.get("/api/v1/search?q=nothing-matches").json()
    assert page == {"count": 0, "page": 1, "page_size": 25, "next": None, "previous": None, "results": []}


def test_page_size_of_100_is_the_maximum(client: TestClient, seven: None) -> None:
    assert len(client.get("/api/v1/repositories/alice?page_size=100").json()["results"]) == 7


BAD_PAGES = [
    ("page_size=101", "page_size"),
    ("page_size=0", "page_size"),
    ("page_size=-1", "page_size"),
    ("page=0", "page"),
    ("page=x", "page"),
    ("page=1.5", "page"),
    ("page=99999999999999999999", "page"),
]


@pytest.mark.parametrize("path", ["/api/v1/repositories/alice", "/api/v1/search", "/api/v1/user/starred"])
def test_bad_page_parameters_are_400(client: TestClient, hub: Hub, factory: Factory, path: str) -> None:
    auth = bearer(hub, factory.user("alice"))
    for query, detail in BAD_PAGES:
        assert_problem(client.get(f"{path}?{query}", headers=auth), 400, f"query.{detail}:")
