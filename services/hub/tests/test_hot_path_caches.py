"""The index's caches forget at once what a change took away, whichever process made the change.

``other`` is a second hub on the same database, standing in for another worker process: it has
its own remembered passwords and search pages, so a change made through it must reach ``client``'s
process through the database alone. A pull's access rows, which PostgreSQL's hubs keep
(``services/accesscache.py``), are dropped when the change's ``NOTIFY`` arrives: milliseconds,
so a pull after a change by ``other`` is asked again until :data:`NOTIFY_BOUND` (:func:`pulls_soon`).
"""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from wharf_hub.db.base import utcnow
from wharf_hub.db.models import AccessToken, Collaborator, Repository
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.repositories import Settings as RepoSettings
from wharf_hub.services.searchcache import generation

from .cache_helpers import basic, collaborator, pull, shared_secret

NEW_PASSWORD = "a-new-Passw0rd-9"
NOTIFY_BOUND = 5.0


def pulls_soon(client: TestClient, path: str, status: int, headers: dict[str, str] | None = None) -> bool:
    """``status`` for a pull of ``path`` within :data:`NOTIFY_BOUND` seconds."""
    deadline = time.monotonic() + NOTIFY_BOUND
    while (got := pull(client, path, headers)) != status and time.monotonic() < deadline:
        time.sleep(0.005)
    return got == status


def found(client: TestClient, query: str, headers: dict[str, str] | None = None) -> list[str]:
    r = client.get("/v1/search", params={"q": query}, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()["results"]]


def test_a_password_change_elsewhere_ends_the_remembered_password(
    factory: Factory, client: TestClient, other: Hub
) -> None:
    factory.user("alice")
    old = basic("alice", factory.password)
    assert client.get("/v1/users/", headers=old).status_code == 200  # now remembered
    with other.db.session() as s:
        other.accounts.set_password(s, other.accounts.get(s, "alice"), NEW_PASSWORD)
    assert client.get("/v1/users/", headers=old).status_code == 401
    assert client.get("/v1/users/", headers=basic("alice", NEW_PASSWORD)).status_code == 200


def test_a_revoked_access_token_fails_at_once(factory: Factory, client: TestClient, other: Hub) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    with other.db.session() as s:
        made = other.accounts.create_token(s, factory.reload(s, alice), "ci", ["read"])
    headers = basic("alice", made.secret)
    assert pull(client, "alice/web", headers) == 200
    with other.db.session() as s:
        other.accounts.delete_token(s, factory.reload(s, alice), made.token.id)
    assert pulls_soon(client, "alice/web", 401, headers)
    assert client.get("/v1/users/", headers=headers).status_code == 401


def test_an_expired_access_token_fails(factory: Factory, client: TestClient, hub: Hub) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    with hub.db.session() as s:
        made = hub.accounts.create_token(s, factory.reload(s, alice), "ci", ["read"], expires_in_days=1)
    headers = basic("alice", made.secret)
    assert pull(client, "alice/web", headers) == 200
    with hub.db.session() as s:
        s.execute(
            update(AccessToken)
            .where(AccessToken.id == made.token.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert pull(client, "alice/web", headers) == 401


def test_an_access_token_without_read_gets_no_pull_token(
    factory: Factory, client: TestClient, hub: Hub
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    with hub.db.session() as s:
        made = hub.accounts.create_token(s, factory.reload(s, alice), "admin only", ["admin"])
    assert pull(client, "alice/web", basic("alice", made.secret)) == 403


def test_making_a_repository_private_hides_it_at_once(
    factory: Factory, client: TestClient, other: Hub
) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "webapp")
    bob = basic("bobby", factory.password)
    assert pull(client, "alice/webapp") == 200
    assert found(client, "webapp") == ["alice/webapp"]
    assert found(client, "webapp", bob) == ["alice/webapp"]
    with other.db.session() as s:
        repo = other.repos.get(s, None, "alice", "webapp")
        other.repos.update(s, other.accounts.get(s, "alice"), repo, RepoSettings(is_private=True))
    assert pulls_soon(client, "alice/webapp", 404)
    assert pulls_soon(client, "alice/webapp", 404, bob)
    assert found(client, "webapp") == []
    assert found(client, "webapp", bob) == []
    assert found(client, "webapp", basic("alice", factory.password)) == ["alice/webapp"]


def test_removing_a_collaborator_ends_their_access_at_once(
    factory: Factory, client: TestClient, other: Hub
) -> None:
    bob = shared_secret(factory, other)
    assert pull(client, "alice/secret", bob) == 200
    assert found(client, "secret", bob) == ["alice/secret"]
    collaborator(other, "alice", "secret", "bobby", add=False)
    assert pulls_soon(client, "alice/secret", 404, bob)
    assert found(client, "secret", bob) == []


def test_a_deleted_repository_leaves_search_and_pulls(
    factory: Factory, client: TestClient, other: Hub
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "webapp")
    assert found(client, "webapp") == ["alice/webapp"]
    with other.db.session() as s:
        repo = other.repos.find(s, "alice", "webapp")
        assert repo is not None
        other.repos.delete(s, other.accounts.get(s, "alice"), repo)
    assert found(client, "webapp") == []
    assert pulls_soon(client, "alice/webapp", 404)


def test_a_new_star_shows_in_the_next_search(factory: Factory, client: TestClient, other: Hub) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "webapp")
    assert client.get("/v1/search", params={"q": "webapp"}).json()["results"][0]["star_count"] == 0
    with other.db.session() as s:
        repo = other.repos.find(s, "alice", "webapp")
        assert repo is not None
        other.social.star(s, other.accounts.get(s, "alice"), repo)
    assert client.get("/v1/search", params={"q": "webapp"}).json()["results"][0]["star_count"] == 1


def test_the_generation_moves_with_every_change_search_can_show_but_not_with_pulls(
    factory: Factory, hub: Hub
) -> None:
    def now() -> int:
        with hub.db.connection() as c:
            value = generation(c)
        assert value is not None
        return value

    alice = factory.user("alice")
    bob = factory.user("bobby")
    before = now()
    repo = factory.repo(alice, "web")
    assert now() > before
    steps = [
        update(Repository).where(Repository.id == repo.id).values(description="changed"),
        update(Repository).where(Repository.id == repo.id).values(is_unlisted=True),
        update(Repository).where(Repository.id == repo.id).values(star_count=3),
    ]
    for statement in steps:
        before = now()
        with hub.db.session() as s:
            s.execute(statement)
        assert now() > before, statement
    before = now()
    with hub.db.session() as s:
        s.add(Collaborator(repository_id=repo.id, user_id=bob.id))
    assert now() > before
    before = now()
    with hub.db.session() as s:
        s.execute(
            update(Repository).where(Repository.id == repo.id).values(pull_count=Repository.pull_count + 5)
        )
    assert now() == before  # pulls are not shown by search, and come often


def test_pulls_are_counted_once_written(factory: Factory, client: TestClient, hub: Hub) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    for _ in range(5):
        assert pull(client, "alice/web") == 200
    hub.pulls.flush()
    assert pull(client, "alice/web") == 200
    hub.pulls.stop()  # what shutdown does: the rest is written
    assert hub.pulls.pending() == 0
    with hub.db.session() as s:
        assert s.scalar(select(Repository.pull_count).where(Repository.name == "web")) == 6


def test_pull_counts_are_kept_when_the_database_is_away(factory: Factory, hub: Hub) -> None:
    alice = factory.user("alice")
    repo = factory.repo(alice, "web")
    with hub.db.connection() as c:
        for _ in range(3):
            hub.pulls.add(c, repo.id)
    real, hub.pulls.db = hub.pulls.db, _Broken()  # type: ignore[assignment]
    try:
        assert hub.pulls.flush() == 0
        assert hub.pulls.pending() == 3
    finally:
        hub.pulls.db = real
    assert hub.pulls.flush() == 3
    with hub.db.session() as s:
        assert s.scalar(select(Repository.pull_count).where(Repository.id == repo.id)) == 3


class _Broken:
    def session(self) -> None:
        raise OSError("database unreachable")
