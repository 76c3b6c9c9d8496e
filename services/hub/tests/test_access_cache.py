"""The access rows a pull's token is decided from, kept in each hub process on PostgreSQL.

Kept rows must never decide a request after a change to what they were read from: at once when
this process made the change, as soon as PostgreSQL's ``NOTIFY`` arrives when another process
did (``other``: a second hub on the same database, with its own pool and cache), and never
while the process cannot hear those notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Table, text
from sqlalchemy.sql import visitors
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.pgtesting import PostgresCluster
from wharf_hub.services.accesscache import CHANNEL, WATCHED, AccessCache
from wharf_hub.services.hotpath import PULL_STATEMENT
from wharf_hub.services.repositories import Settings as RepoSettings

from .cache_helpers import basic, collaborator, loop_reads, pull, shared_secret

NEW_PASSWORD = "a-new-Passw0rd-9"
NOTIFY_BOUND = 5.0  # seconds; a notification takes milliseconds


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    return postgres.database()


@pytest.fixture
def cache(hub: Hub, client: TestClient) -> AccessCache:
    """The hub's cache once its ``LISTEN`` is up (the client's lifespan started it)."""
    assert hub.access is not None
    wait_for(lambda: hub.access is not None and hub.access.live, "the listener to connect")
    return hub.access


def wait_for(condition: Callable[[], bool], what: str, bound: float = NOTIFY_BOUND) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < bound, f"waited {bound} s for {what}"
        time.sleep(0.005)
    return time.monotonic() - start


def test_pulls_after_the_first_read_nothing(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.repo(alice, "secret", private=True)
    headers = basic("alice", factory.password)
    assert pull(client, "alice/web", headers) == 200  # the password checked (argon2) and remembered
    with loop_reads(hub) as seen:
        assert pull(client, "alice/web", headers) == 200
    assert len(seen) <= 1
    with loop_reads(hub) as seen:
        for _ in range(5):
            assert pull(client, "alice/web", headers) == 200
            assert pull(client, "alice/web") == 200
            assert pull(client, "alice/secret") == 404
    assert len(seen) <= 2, seen  # the anonymous keys, once each
    with loop_reads(hub) as seen:
        assert pull(client, "alice/web", basic("alice", "not-her-password")) == 401
    assert pull(client, "alice/web", headers) == 200


def test_a_token_is_touched_once_then_its_pulls_read_nothing(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    """The touch of ``last_used_at`` (a write through the pool's autocommit connection) drops
    the rows read before it, so the next pull reads them again, fresh, and keeps them."""
    factory.repo(factory.user("alice"), "web")
    password = basic("alice", factory.password)
    made = client.post("/api/v1/user/tokens", json={"name": "ci", "scopes": ["read"]}, headers=password)
    token = basic("alice", made.json()["token"])
    with loop_reads(hub) as seen:
        assert pull(client, "alice/web", token) == 200  # read, then touched on the thread pool
        assert pull(client, "alice/web", token) == 200  # read again: the touch dropped the rows
    assert len(seen) == 2, seen
    with loop_reads(hub) as seen:
        for _ in range(5):
            assert pull(client, "alice/web", token) == 200
    assert seen == []


def test_a_password_changed_here_ends_the_kept_rows_at_once(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    factory.repo(factory.user("alice"), "web")
    old = basic("alice", factory.password)
    for _ in range(3):
        assert pull(client, "alice/web", old) == 200
    r = client.put("/api/v1/user/password", json={"old": factory.password, "new": NEW_PASSWORD}, headers=old)
    assert r.status_code == 204, r.text
    assert pull(client, "alice/web", old) == 401  # no wait: this process made the change
    assert pull(client, "alice/web", basic("alice", NEW_PASSWORD)) == 200


def test_this_processs_writes_need_no_notification(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    """With the triggers off (no ``NOTIFY`` at all), a write through this process still drops
    the rows before its response: the pool's check-in does it."""
    factory.repo(factory.user("alice"), "web")
    old = basic("alice", factory.password)
    with hub.db.connection() as c:
        for table in sorted(WATCHED):
            c.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    for _ in range(3):
        assert pull(client, "alice/web", old) == 200
    generation = cache.snapshot()
    r = client.put("/api/v1/user/password", json={"old": factory.password, "new": NEW_PASSWORD}, headers=old)
    assert r.status_code == 204, r.text
    assert cache.snapshot() != generation
    assert pull(client, "alice/web", old) == 401
    assert pull(client, "alice/web", basic("alice", NEW_PASSWORD)) == 200


def test_a_token_revoked_here_fails_at_once(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    factory.repo(factory.user("alice"), "web")
    password = basic("alice", factory.password)
    made = client.post("/api/v1/user/tokens", json={"name": "ci", "scopes": ["read"]}, headers=password)
    assert made.status_code == 201, made.text
    token = basic("alice", made.json()["token"])
    for _ in range(3):
        assert pull(client, "alice/web", token) == 200
    assert client.delete(f"/api/v1/user/tokens/{made.json()['id']}", headers=password).status_code == 204
    assert pull(client, "alice/web", token) == 401


def test_a_change_by_another_process_arrives_by_notify(
    factory: Factory, client: TestClient, other: Hub, cache: AccessCache
) -> None:
    bob = shared_secret(factory, other)
    wait_for(lambda: pull(client, "alice/secret", bob) == 200, "the collaborator to be seen")
    assert pull(client, "alice/secret", bob) == 200  # kept now
    before = cache.snapshot()
    collaborator(other, "alice", "secret", "bobby", add=False)
    waited = wait_for(lambda: pull(client, "alice/secret", bob) == 404, "the removal to be seen")
    assert cache.snapshot() != before  # it was the notification, not a miss
    assert waited < 1.0, waited
    with other.db.session() as s:
        repo = other.repos.find(s, "alice", "secret")
        assert repo is not None
        other.repos.update(s, other.accounts.get(s, "alice"), repo, RepoSettings(is_private=False))
    wait_for(lambda: pull(client, "alice/secret") == 200, "the repository to be public")


def test_nothing_is_kept_while_notifications_cannot_be_heard(
    factory: Factory, client: TestClient, hub: Hub, other: Hub, cache: AccessCache
) -> None:
    factory.repo(factory.user("alice"), "web")
    assert pull(client, "alice/web") == 200
    with other.db.connection() as c:  # the database drops the listener's connection
        c.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :q"),
            {"q": f"LISTEN {CHANNEL}"},
        )
    wait_for(lambda: not cache.live, "the cache to stop")
    with loop_reads(hub) as seen:
        assert pull(client, "alice/web") == 200
        assert pull(client, "alice/web") == 200
    assert len(seen) == 2  # read each time: nothing kept
    with other.db.session() as s:  # a change made meanwhile is seen at once, as without a cache
        repo = other.repos.find(s, "alice", "web")
        assert repo is not None
        other.repos.update(s, other.accounts.get(s, "alice"), repo, RepoSettings(is_private=True))
    assert pull(client, "alice/web") == 404
    wait_for(lambda: cache.live, "the listener to come back")
    with loop_reads(hub) as seen:
        for _ in range(3):
            assert pull(client, "alice/web") == 404
    assert len(seen) <= 1


def test_counting_pulls_keeps_the_rows(
    factory: Factory, client: TestClient, hub: Hub, cache: AccessCache
) -> None:
    factory.repo(factory.user("alice"), "web")
    assert pull(client, "alice/web") == 200
    generation = cache.snapshot()
    assert hub.pulls.flush() == 1
    time.sleep(0.2)  # a notification, had the flush sent one, would have arrived
    assert cache.snapshot() == generation
    with loop_reads(hub) as seen:
        assert pull(client, "alice/web") == 200
    assert seen == []


def _read_columns() -> set[tuple[str, str]]:
    """Every (table, column) the pull statement reads, in its columns or its joins."""
    return {
        (c.table.name, c.name)
        for c in visitors.iterate(PULL_STATEMENT)
        if isinstance(c, Column) and isinstance(c.table, Table)
    }


def test_every_column_the_pull_reads_sends_a_notify(database_url: str, hub: Hub) -> None:
    """A write to any table or column the statement reads, whoever makes it (here plain SQL),
    is announced; a pull count or a last login is not."""
    read = _read_columns()
    assert {table for table, _ in read} == WATCHED
    conninfo = hub.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def announced(sql: str) -> bool:
        with (
            psycopg.connect(conninfo, autocommit=True) as listener,
            psycopg.connect(conninfo, autocommit=True) as writer,
        ):
            listener.execute(f"LISTEN {CHANNEL}")
            writer.execute(sql)
            return any(True for _ in listener.notifies(timeout=1.0, stop_after=1))

    for table, column in sorted(read):
        assert announced(f"UPDATE {table} SET {column} = {column} WHERE false"), (table, column)
    for table in sorted(WATCHED):
        assert announced(f"DELETE FROM {table} WHERE false"), table
    assert not announced("UPDATE repositories SET pull_count = pull_count WHERE false")
    assert not announced("UPDATE users SET last_login_at = last_login_at WHERE false")
