"""Automated builds under trouble: a build past its timeout is stopped (its step container killed
and removed), a Redis restart during a build does not lose it, and a worker killed mid-build leaves
the build failed (never "running" forever) while the redelivered task does not run it twice.

Real processes: redis-server, ``wharf-builder worker`` (build timeout 6 s, redelivery grace 3 s),
hub + index-mode registry (reaper every second), an engine.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import buildstack
import httpx
import pytest
from buildstack import Workers
from engines import Engine, wait_for
from hubstack import Stack, hub_stack
from wharf_builder.testing import RedisServer

pytestmark = [pytest.mark.root, pytest.mark.slow]

ALICE = ("alice", "pa55word")
TIMEOUT = 6
BRANCHES = {
    "slow": "FROM busybox\nRUN echo step started && sleep 600\n",
    "quick": "FROM busybox\nRUN sleep 4 && echo step done\n",
}


@pytest.fixture(scope="module", autouse=True)
def stack(redis_server: RedisServer) -> Iterator[Stack]:
    env = buildstack.hub_env(redis_server, build_timeout=str(TIMEOUT), grace="3", reap_interval="1")
    with hub_stack("wharf-buildlimits-", dict([ALICE]), env=env) as built:
        yield built


@pytest.fixture(scope="module")
def workers(stack: Stack, engine: Engine, redis_server: RedisServer) -> Iterator[Workers]:
    env = buildstack.worker_env(
        redis_server, engine.host, stack.hub.url, build_timeout=str(TIMEOUT), redelivery_grace="3"
    )
    with buildstack.workers(env) as pool:
        yield pool


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    root = Path(tempfile.mkdtemp(prefix="wharf-git-"))
    bare, work = root / "src.git", root / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@example.test"]
    for branch, dockerfile in BRANCHES.items():
        subprocess.run([*git, "checkout", "-q", "-B", branch], check=True)
        (work / "Dockerfile").write_text(dockerfile)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", branch], check=True)
    subprocess.run([*git, "push", "-q", str(bare), *BRANCHES], check=True)
    with httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=ALICE, timeout=30) as client:
        assert client.post("/repositories", json={"namespace": "alice", "name": "app"}).status_code == 201
        rules = [{"source_type": "branch", "source_name": b, "tag_template": b} for b in BRANCHES]
        r = client.put("/repositories/alice/app/autobuild", json={"source_url": str(bare), "rules": rules})
        assert r.status_code == 200, r.text
        try:
            yield client
        finally:
            shutil.rmtree(root, ignore_errors=True)


def start(api: httpx.Client, branch: str) -> int:
    r = api.post("/repositories/alice/app/builds", json={"source_type": "branch", "source_name": branch})
    assert r.status_code == 201, r.text
    build_id: int = r.json()[0]["id"]
    return build_id


def build(api: httpx.Client, build_id: int) -> dict[str, Any]:
    result: dict[str, Any] = api.get(f"/repositories/alice/app/builds/{build_id}").json()
    return result


def wait_status(api: httpx.Client, build_id: int, wanted: set[str], timeout: float = 90) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        current = build(api, build_id)
        return current if current["status"] in wanted else None

    result: dict[str, Any] = wait_for(reached, timeout=timeout, interval=0.3)
    return result


def step_containers(engine: Engine) -> list[Any]:
    query = urllib.parse.quote(json.dumps({"label": ["wharf.build.step=true"]}))
    found: list[Any] = engine.json("GET", f"/containers/json?all=1&filters={query}")
    return found


def test_a_build_past_its_timeout_is_stopped_and_its_step_container_removed(
    api: httpx.Client, workers: Workers, engine: Engine
) -> None:
    build_id = start(api, "slow")
    done = wait_status(api, build_id, {"success", "failed", "cancelled"})

    assert done["status"] == "failed"
    assert f"longer than its timeout ({TIMEOUT} s)" in done["error"]
    assert "step started" in done["log"]
    wait_for(lambda: not step_containers(engine), timeout=20)


def test_a_redis_restart_during_a_build_loses_nothing(
    api: httpx.Client, workers: Workers, redis_server: RedisServer
) -> None:
    build_id = start(api, "quick")
    wait_status(api, build_id, {"building"})
    redis_server.stop()
    time.sleep(0.5)
    redis_server.start()

    done = wait_status(api, build_id, {"success", "failed", "cancelled"})
    assert done["status"] == "success", done["log"]
    # and the queue works again afterwards
    again = wait_status(api, start(api, "quick"), {"success", "failed", "cancelled"})
    assert again["status"] == "success", again["log"]


def test_cancel_stops_a_build_in_a_silent_step_and_removes_its_container(
    api: httpx.Client, workers: Workers, engine: Engine
) -> None:
    build_id = start(api, "slow")
    wait_for(lambda: "step started" in build(api, build_id)["log"], timeout=60, interval=0.3)
    r = api.post(f"/repositories/alice/app/builds/{build_id}/cancel")
    assert r.status_code == 200, r.text
    done = wait_status(api, build_id, {"success", "failed", "cancelled"}, timeout=TIMEOUT - 1)
    assert done["status"] == "cancelled", done
    wait_for(lambda: not step_containers(engine), timeout=20)


def test_a_worker_killed_mid_build_leaves_the_build_failed_and_it_is_not_run_twice(
    api: httpx.Client, workers: Workers
) -> None:
    build_id = start(api, "slow")
    wait_status(api, build_id, {"building"})
    workers.stop(signal.SIGKILL)

    done = wait_status(api, build_id, {"success", "failed", "cancelled"}, timeout=60)
    assert done["status"] == "failed" and "lost" in done["error"]

    workers.start()  # gets the redelivered task: the claim says the build ended, so it is skipped
    after = wait_status(api, start(api, "quick"), {"success", "failed", "cancelled"})
    assert after["status"] == "success", after["log"]
    final = build(api, build_id)
    assert final["status"] == "failed" and final["log"].count("Cloning") == 1
