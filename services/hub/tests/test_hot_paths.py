"""What the index's hot paths write: a pull's token request writes nothing (its count is added
up in the process and written on a timer), and a request that queued no job does not wake the
job worker."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.jobs import enqueue


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


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def writes(seen: list[str]) -> list[str]:
    return [sql for sql in seen if sql.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_pull_token_writes_nothing_and_reads_once(hub: Hub, factory: Factory, client: TestClient) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    headers = {**basic("alice", factory.password), "X-Docker-Token": "true"}
    client.get("/v1/repositories/alice/web/images", headers=headers)  # the password now remembered
    with statements(hub) as seen:
        r = client.get("/v1/repositories/alice/web/images", headers=headers)
    assert r.status_code == 200 and r.headers["X-Docker-Token"]
    assert writes(seen) == []
    assert len(seen) == 2, seen  # the caller, repository and role in one; the image list
    with statements(hub) as seen:
        hub.pulls.flush()
    assert len(writes(seen)) == 1 and "pull_count" in writes(seen)[0], seen


def test_search_reads_one_row_when_nothing_changed(hub: Hub, factory: Factory, client: TestClient) -> None:
    factory.repo(factory.user("alice"), "web")
    first = client.get("/v1/search", params={"q": "web"})
    with statements(hub) as seen:
        again = client.get("/v1/search", params={"q": "web"})
    assert again.json() == first.json() and first.json()["num_results"] == 1
    assert len(seen) == 1 and "hub_generations" in seen[0], seen


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
