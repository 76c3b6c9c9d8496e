"""``wharf-hub --workers N``: one port served by N processes on one PostgreSQL, with sessions,
CSRF and the job queue correct whichever process a request lands on, a crashed worker
replaced, and SIGTERM stopping them all."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.testing import HubProcess
from wharf_hub.web.testing import Browser

pytestmark = [pytest.mark.slow]


def children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries are not installed")
    pg = PostgresCluster().start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def hub(tmp_path: Path, cluster: PostgresCluster) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path / "hub", database_url=cluster.database(), workers=2)
    try:
        yield process.start()
    finally:
        process.stop()


def fresh_browser(hub: HubProcess) -> Browser:
    """Every request on a new connection, so that requests spread over the processes."""
    return Browser(httpx.Client(base_url=hub.url, headers={"Connection": "close"}, timeout=10))


def test_requests_spread_over_workers_and_sessions_work_on_each(hub: HubProcess) -> None:
    assert hub.proc is not None
    workers = children(hub.proc.pid)
    assert len(workers) == 2
    before = {pid: cpu_ticks(pid) for pid in workers}
    hub.create_user("alice", "Wharf-Hub-9-Quay")
    browser = fresh_browser(hub)
    browser.login("alice", "Wharf-Hub-9-Quay")
    for i in range(12):  # a page from one process, its form posted to whichever accepts next
        done = browser.submit("/new", {"namespace": "alice", "name": f"web{i}", "description": "d"})
        assert done.status_code == 303, done.text[:300]
    names = {
        r["name"] for r in httpx.get(f"{hub.url}/api/v1/repositories/alice", timeout=10).json()["results"]
    }
    assert {f"web{i}" for i in range(12)} <= names
    for _ in range(100):
        assert httpx.get(f"{hub.url}/v1/search?q=web", headers={"Connection": "close"}).status_code == 200
    assert all(cpu_ticks(pid) > before[pid] for pid in workers), "one process served everything"


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(hub: HubProcess) -> None:
    assert hub.proc is not None
    parent = hub.proc.pid
    first = children(parent)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(children(parent)) == 2 and victim not in children(parent))
    wait_for(lambda: httpx.get(f"{hub.url}/v1/_ping", headers={"Connection": "close"}).status_code == 200)
    for _ in range(20):
        assert httpx.get(f"{hub.url}/v1/_ping", headers={"Connection": "close"}).status_code == 200
    workers = children(parent)
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(timeout=20) == 0
    assert not (hub.root / "hub.pid").exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_token_revoked_through_one_process_is_refused_by_every_process(hub: HubProcess) -> None:
    """Each process keeps a pull's access rows (PostgreSQL ``NOTIFY`` drops them): a revoked
    access token, kept by both processes a moment ago, is refused by both within a second."""
    password = httpx.BasicAuth("alice", "Wharf-Hub-9-Quay")
    hub.create_user("alice", "Wharf-Hub-9-Quay")
    api = httpx.Client(base_url=hub.url, headers={"Connection": "close"}, timeout=10)
    assert (
        api.post(
            "/api/v1/repositories", json={"namespace": "alice", "name": "web"}, auth=password
        ).status_code
        == 201
    )
    made = api.post("/api/v1/user/tokens", json={"name": "ci", "scopes": ["read"]}, auth=password)
    assert made.status_code == 201, made.text
    token = httpx.BasicAuth("alice", made.json()["token"])

    def pull() -> int:
        r = api.get("/v1/repositories/alice/web/images", auth=token, headers={"X-Docker-Token": "true"})
        return r.status_code

    assert [pull() for _ in range(30)] == [200] * 30  # fresh connections: both processes serve
    assert api.delete(f"/api/v1/user/tokens/{made.json()['id']}", auth=password).status_code == 204
    revoked, seen = time.monotonic(), []
    while 200 in (last := [pull() for _ in range(10)]):
        seen += last
        assert time.monotonic() - revoked < 1.0, seen
    refused = last + [pull() for _ in range(30)]
    assert set(refused) <= {401, 429} and 401 in seen + refused, refused  # 429: failures throttled
