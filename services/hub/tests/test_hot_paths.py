"""What the index's hot paths write: a pull's token request writes nothing (its count is added
up in the process and written on a timer), and a request that queued no job does not wake the
job worker."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from wharf_hub.db.models import RepositoryImage
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.jobs import enqueue
from wharf_hub.services.loopreads import LoopReadFailed, Prepared

from .cache_helpers import basic, loop_reads


@contextmanager
def statements(hub: Hub) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(hub.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", record)


@contextmanager
def wakes(hub: Hub) -> Iterator[list[int]]:
    calls: list[int] = []
    original = hub.worker.wake
    hub.worker.wake = lambda: calls.append(1)  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        hub.worker.wake = original  # type: ignore[method-assign]


def writes(seen: list[str]) -> list[str]:
    return [sql for sql in seen if sql.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_pull_token_writes_nothing_and_reads_once(hub: Hub, factory: Factory, client: TestClient) -> None:
    """A remembered password: one read on the event loop (the caller, repository, role and image
    list; on PostgreSQL none, the rows of the first pull being kept), none through the pool, no
    write; the count is written on flush."""
    alice = factory.user("alice")
    factory.repo(alice, "web")
    headers = {**basic("alice", factory.password), "X-Docker-Token": "true"}
    client.get("/v1/repositories/alice/web/images", headers=headers)  # the password now remembered
    with statements(hub) as seen, loop_reads(hub) as on_loop:
        r = client.get("/v1/repositories/alice/web/images", headers=headers)
    assert r.status_code == 200 and r.headers["X-Docker-Token"]
    assert seen == [] and len(on_loop) == (0 if hub.access is not None else 1), (seen, on_loop)
    assert hub.pulls.pending() == 2
    with statements(hub) as seen:
        hub.pulls.flush()
    assert len(writes(seen)) == 1 and "pull_count" in writes(seen)[0], seen


def test_a_first_password_goes_through_the_thread_pool(
    hub: Hub, factory: Factory, client: TestClient
) -> None:
    """Not yet remembered: argon2 (and, on a failure, the throttle's write) on the thread pool's
    path; a wrong password is refused there and counted."""
    factory.repo(factory.user("alice"), "web")
    headers = {**basic("alice", factory.password), "X-Docker-Token": "true"}
    with statements(hub) as seen, loop_reads(hub) as on_loop:
        assert client.get("/v1/repositories/alice/web/images", headers=headers).status_code == 200
    assert len(on_loop) == 1 and len(seen) == 2, (seen, on_loop)  # the loop gave up after one read
    bad = {**basic("alice", "not-the-password"), "X-Docker-Token": "true"}
    with statements(hub) as seen:
        assert client.get("/v1/repositories/alice/web/images", headers=bad).status_code == 401
    assert any(sql.startswith("INSERT INTO login_throttle") for sql in seen), seen


def test_a_failing_loop_read_falls_back_to_the_pool(hub: Hub, factory: Factory, client: TestClient) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    headers = {**basic("alice", factory.password), "X-Docker-Token": "true"}
    client.get("/v1/repositories/alice/web/images", headers=headers)
    original = hub.reads.fetch

    async def fail(prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[Any]:
        raise LoopReadFailed("the database is away")

    hub.reads.fetch = fail  # type: ignore[method-assign]
    if hub.access is not None:
        hub.access.invalidate()  # kept rows would be used without a read
    try:
        with statements(hub) as seen:
            r = client.get("/v1/repositories/alice/web/images", headers=headers)
    finally:
        hub.reads.fetch = original  # type: ignore[method-assign]
    assert r.status_code == 200 and r.headers["X-Docker-Token"] and len(seen) == 2, seen


def test_each_pull_written_in_its_request_stays_on_the_pool(
    hub: Hub, factory: Factory, client: TestClient
) -> None:
    """``pull_count_interval=0``: the count's write is in the request, so not on the loop."""
    alice = factory.user("alice")
    factory.repo(alice, "web")
    headers = basic("alice", factory.password)
    client.get("/v1/repositories/alice/web/images", headers=headers)
    hub.pulls.interval = 0
    with statements(hub) as seen:
        assert client.get("/v1/repositories/alice/web/images", headers=headers).status_code == 200
    assert any("pull_count" in sql for sql in writes(seen)), seen


@contextmanager
def probes(hub: Hub) -> Iterator[list[int | None]]:
    """What ``hub.generations.read`` answered, call by call."""
    answers: list[int | None] = []
    original = hub.generations.read

    async def read() -> int | None:
        answers.append(await original())
        return answers[-1]

    hub.generations.read = read  # type: ignore[method-assign]
    try:
        yield answers
    finally:
        hub.generations.read = original  # type: ignore[method-assign]


def test_search_reads_one_row_when_nothing_changed(hub: Hub, factory: Factory, client: TestClient) -> None:
    """A kept anonymous page: the generation read by the probe on the event loop, and not one
    statement through the pool (nor the thread pool)."""
    factory.repo(factory.user("alice"), "web")
    first = client.get("/v1/search", params={"q": "web"})
    with statements(hub) as seen, probes(hub) as answered:
        again = client.get("/v1/search", params={"q": "web"})
    assert again.json() == first.json() and first.json()["num_results"] == 1
    assert seen == [] and len(answered) == 1 and answered[0] is not None, (seen, answered)


def test_a_signed_in_search_reads_through_the_pool(hub: Hub, factory: Factory, client: TestClient) -> None:
    factory.repo(factory.user("alice"), "web")
    headers = basic("alice", factory.password)
    client.get("/v1/search", params={"q": "web"}, headers=headers)
    with statements(hub) as seen, probes(hub) as answered:
        assert client.get("/v1/search", params={"q": "web"}, headers=headers).json()["num_results"] == 1
    assert answered == [] and any("hub_generations" in sql for sql in seen), seen


def test_a_failing_probe_falls_back_to_the_pool(hub: Hub, factory: Factory, client: TestClient) -> None:
    """A probe that cannot read (here: a statement the database refuses) answers None; the search
    is then served as before, through the pool, and the probe connects again next time."""
    factory.repo(factory.user("alice"), "web")
    client.get("/v1/search", params={"q": "web"})
    good = hub.generations._prepared.sql
    hub.generations._prepared.sql = "SELECT value FROM no_such_table"
    with statements(hub) as seen, probes(hub) as answered:
        r = client.get("/v1/search", params={"q": "web"})
    assert r.status_code == 200 and r.json()["num_results"] == 1
    assert answered == [None] and any("hub_generations" in sql for sql in seen), seen
    hub.generations._prepared.sql = good
    with statements(hub) as seen, probes(hub) as answered:
        assert client.get("/v1/search", params={"q": "web"}).json()["num_results"] == 1
    assert seen == [] and answered[0] is not None


def test_the_sqlite_probe_leaves_no_read_open(hub: Hub, factory: Factory, client: TestClient) -> None:
    """A read left open would pin the WAL: a full checkpoint would then report itself blocked."""
    if hub.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's WAL")
    factory.repo(factory.user("alice"), "web")
    client.get("/v1/search", params={"q": "web"})  # the probe has read once and keeps its connection
    with hub.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA busy_timeout=0")
        busy, _log, _done = c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0


def test_a_good_password_still_clears_failures(hub: Hub, factory: Factory, client: TestClient) -> None:
    factory.user("alice")
    assert client.get("/v1/users/", headers=basic("alice", "wrong-password-1")).status_code == 401
    with statements(hub) as seen:
        assert client.get("/v1/users/", headers=basic("alice", factory.password)).status_code == 200
    assert any(sql.startswith("DELETE FROM login_throttle") for sql in seen), seen


def test_worker_is_woken_only_after_a_unit_that_queued_a_job(hub: Hub) -> None:
    with wakes(hub) as calls:
        with hub.unit():
            pass
        assert calls == []
        with hub.unit() as s:
            enqueue(s, "test.noop", {})
        assert calls == [1]


def test_the_loop_and_the_pool_answer_the_same_image_list(
    hub: Hub, factory: Factory, client: TestClient
) -> None:
    """Images in the order they were added, from the one read on the loop as from the pool."""
    repo = factory.repo(factory.user("alice"), "web")
    ids = [f"{n:064x}" for n in (3, 1, 2)]
    with hub.db.session() as s:
        for image_id in ids:
            s.add(RepositoryImage(repository_id=repo.id, image_id=image_id, checksum=f"sha256:{image_id}"))
    with loop_reads(hub) as on_loop:
        from_loop = client.get("/v1/repositories/alice/web/images").json()
    hub.pulls.interval = 0
    with loop_reads(hub), statements(hub) as seen:
        from_pool = client.get("/v1/repositories/alice/web/images").json()
    assert len(on_loop) == 1 and len(seen) >= 2
    assert from_loop == from_pool == [{"id": i, "checksum": f"sha256:{i}"} for i in ids]
