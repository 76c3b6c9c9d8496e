"""Automated builds end to end: a git push (the trigger URL a ``post-receive`` hook calls, or the
API's button) → the hub queues the build on Redis → a real ``wharf-builder`` worker (Celery) claims
it, fetches exactly that commit from a bare repository on disk, builds it on a real engine and
pushes it to the hub's registry with a credential valid for that build alone → the hub shows the
status, the commit, the image and the whole log, and the tag is on the hub.

Real processes only: redis-server on a unix socket, the worker, a hub and an index-mode registry
on loopback, an engine with its own bridge. All are stopped by pid (the worker by process group).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import buildstack
import httpx
import pytest
from engines import REPO, Engine, wait_for
from hubstack import Stack, hub_stack
from wharf_builder.testing import RedisServer, WorkerProcess
from wharf_hub.webhooks.signing import verify
from wharf_hub.webhooks.testing import Receiver

pytestmark = [pytest.mark.root, pytest.mark.slow]

ALICE = ("alice", "pa55word")
BOB = ("bobby", "b0bpass1")
GOOD = 'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt\nCMD ["cat", "/greeting.txt"]\n'
BROKEN = "FROM busybox\nRUN echo about to fail && false\n"


@pytest.fixture(scope="module", autouse=True)
def stack(redis_server: RedisServer) -> Iterator[Stack]:
    with hub_stack("wharf-buildstack-", dict([ALICE, BOB]), env=buildstack.hub_env(redis_server)) as built:
        yield built


@pytest.fixture(scope="module")
def worker(stack: Stack, engine: Engine, redis_server: RedisServer) -> Iterator[WorkerProcess]:
    env = buildstack.worker_env(redis_server, engine.host, stack.hub.url, build_timeout="120")
    with buildstack.workers(env) as pool:
        assert pool.current is not None
        yield pool.current


@pytest.fixture(scope="module")
def source() -> Iterator[Path]:
    """A bare repository with branch ``main`` (a good Dockerfile) and ``broken`` (a failing step)."""
    root = Path(tempfile.mkdtemp(prefix="wharf-git-"))
    bare, work = root / "web.git", root / "work"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("init", "-q", "-b", "main", str(work))
    (work / "Dockerfile").write_text(GOOD)
    (work / "greeting.txt").write_text("hello from main\n")
    commit(work, "first version")
    git("-C", str(work), "checkout", "-q", "-b", "broken")
    (work / "Dockerfile").write_text(BROKEN)
    commit(work, "a step that fails")
    git("-C", str(work), "checkout", "-q", "main")
    git("-C", str(work), "push", "-q", str(bare), "main", "broken")
    try:
        yield bare
    finally:
        shutil.rmtree(root, ignore_errors=True)


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(work: Path, message: str) -> None:
    git("-C", str(work), "add", "-A")
    git(
        "-C",
        str(work),
        "-c",
        "user.name=Alice",
        "-c",
        "user.email=alice@example.test",
        "commit",
        "-q",
        "-m",
        message,
    )


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=ALICE, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def automated(api: httpx.Client, source: Path) -> dict[str, Any]:
    assert api.post("/repositories", json={"namespace": "alice", "name": "web"}).status_code == 201
    rules = [
        {"source_type": "branch", "source_name": "main", "tag_template": "latest"},
        {"source_type": "branch", "source_name": "broken", "tag_template": "broken"},
    ]
    r = api.put("/repositories/alice/web/autobuild", json={"source_url": str(source), "rules": rules})
    assert r.status_code == 200, r.text
    info: dict[str, Any] = r.json()
    return info


def wait_final(api: httpx.Client, build_id: int, timeout: float = 180) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        build: dict[str, Any] = api.get(f"/repositories/alice/web/builds/{build_id}").json()
        return build if build["status"] in ("success", "failed", "cancelled") else None

    result: dict[str, Any] = wait_for(final, timeout=timeout, interval=0.3)
    return result


def test_trigger_url_builds_pushes_and_records_the_commit(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess, stack: Stack
) -> None:
    sha = git("-C", str(source), "rev-parse", "main")
    r = httpx.post(
        automated["trigger_url"], json={"source_type": "Branch", "source_name": "main", "commit": sha}
    )
    assert r.status_code == 202, r.text
    [build_id] = r.json()["builds"]

    build = wait_final(api, build_id)

    assert build["status"] == "success", build["log"]
    assert build["commit_sha"] == sha
    assert build["commit_message"] == "first version"
    assert build["image_id"].startswith("sha256:")
    assert build["tags"] == ["latest"]
    assert "Step 1/4 : FROM busybox" in build["log"] and "hello from main" in build["log"]
    assert build["duration"] is not None and build["duration"] > 0
    # the image is on the hub: the tag was pushed (read back from the registry)
    tags = wait_for(lambda: {t["name"] for t in api.get("/repositories/alice/web/tags").json()["results"]})
    assert "latest" in tags
    # the repository page shows the Dockerfile that was built
    page = httpx.get(f"{stack.hub.url}/u/alice/web/").text
    assert "COPY greeting.txt /greeting.txt" in page and ">automated</span>" in page
    # and the repository is marked automated in search
    found = httpx.get(f"{stack.hub.url}/v1/search", params={"q": "web"}).json()["results"]
    assert any(r["name"] == "alice/web" and r["is_automated"] for r in found)


def test_the_same_commit_triggered_twice_builds_once(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess
) -> None:
    sha = git("-C", str(source), "rev-parse", "main")
    body = {"source_type": "Branch", "source_name": "main", "commit": sha}
    assert httpx.post(automated["trigger_url"], json=body).json() == {"builds": []}


def test_a_failing_step_fails_the_build_and_pushes_nothing(
    api: httpx.Client, automated: dict[str, Any], worker: WorkerProcess
) -> None:
    r = api.post("/repositories/alice/web/builds", json={"source_type": "branch", "source_name": "broken"})
    assert r.status_code == 201, r.text
    build = wait_final(api, r.json()[0]["id"])

    assert build["status"] == "failed"
    assert "about to fail" in build["log"]
    assert build["log"].rstrip().splitlines()[-1].startswith("ERROR:")
    assert "returned a non-zero code" in build["error"]
    tags = {t["name"] for t in api.get("/repositories/alice/web/tags").json()["results"]}
    assert "broken" not in tags


def test_a_source_that_cannot_be_cloned_fails_with_gits_message(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess
) -> None:
    rules = [{"source_type": "branch", "source_name": "main"}]
    missing = str(source.parent / "missing.git")
    assert (
        api.put("/repositories/alice/web/autobuild", json={"source_url": missing, "rules": rules}).status_code
        == 200
    )
    try:
        [build] = api.post("/repositories/alice/web/builds", json={}).json()
        done = wait_final(api, build["id"])
        assert done["status"] == "failed"
        assert "git fetch failed" in done["log"] and "missing.git" in done["log"]
    finally:
        rules = automated["rules"]
        body = {
            "source_url": str(source),
            "rules": [{k: v for k, v in r.items() if k != "id"} for r in rules],
        }
        assert api.put("/repositories/alice/web/autobuild", json=body).status_code == 200


def test_wrong_or_regenerated_trigger_tokens_are_refused_and_queue_nothing(
    api: httpx.Client, automated: dict[str, Any]
) -> None:
    before = len(api.get("/repositories/alice/web/builds").json())
    base = automated["trigger_url"].rsplit("/", 2)[0]
    assert httpx.post(f"{base}/not-the-token/", json={}).status_code == 401
    fresh = api.post("/repositories/alice/web/autobuild/trigger-token").json()
    assert fresh["trigger_url"] != automated["trigger_url"]
    assert httpx.post(automated["trigger_url"], json={}).status_code == 401
    assert len(api.get("/repositories/alice/web/builds").json()) == before
    automated["trigger_url"] = fresh["trigger_url"]


def test_only_owners_change_settings_and_strangers_see_no_builds(
    stack: Stack, automated: dict[str, Any]
) -> None:
    with httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=BOB, timeout=30) as bob:
        assert bob.get("/repositories/alice/web/builds").status_code == 403
        body = {"source_url": "/tmp/x.git", "rules": [{"source_name": "main"}]}
        assert bob.put("/repositories/alice/web/autobuild", json=body).status_code == 403


def test_a_rule_regex_that_does_not_compile_is_refused(api: httpx.Client, automated: dict[str, Any]) -> None:
    body = {"source_url": "/tmp/x.git", "rules": [{"source_type": "tag", "source_name": "/v([0-9/"}]}
    r = api.put("/repositories/alice/web/autobuild", json=body)
    assert r.status_code == 400 and "regular expression" in r.json()["detail"]


def test_the_builder_api_needs_the_secret(stack: Stack) -> None:
    r = httpx.post(f"{stack.hub.url}/api/builder/builds/1/claim", json={"worker": "x"})
    assert r.status_code == 401
    r = httpx.post(
        f"{stack.hub.url}/api/builder/builds/1/claim",
        json={"worker": "x"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401


def test_a_git_push_to_a_bare_repository_with_the_hook_builds_that_commit(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess
) -> None:
    hook = source / "hooks" / "post-receive"
    shutil.copy(REPO / "deploy" / "git-hooks" / "post-receive", hook)
    git("--git-dir", str(source), "config", "wharf.triggerurl", automated["trigger_url"])
    work = source.parent / "work"
    (work / "greeting.txt").write_text("hello from a push\n")
    commit(work, "second version")
    pushed = subprocess.run(
        ["git", "-C", str(work), "push", str(source), "main"], capture_output=True, text=True
    )
    assert pushed.returncode == 0 and "wharf: Branch main" in pushed.stderr, pushed.stderr
    sha = git("-C", str(work), "rev-parse", "HEAD")

    def build_of_push() -> dict[str, Any] | None:
        builds: list[dict[str, Any]] = api.get("/repositories/alice/web/builds").json()
        return next((b for b in builds if b["commit_sha"] == sha), None)

    build = wait_final(api, wait_for(build_of_push)["id"])
    assert build["status"] == "success", build["log"]
    assert build["trigger"] == "trigger" and "hello from a push" in build["log"]


def test_a_signed_github_push_webhook_builds_the_pushed_commit(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess
) -> None:
    git("--git-dir", str(source), "config", "--unset-all", "wharf.triggerurl")  # only the webhook this time
    work = source.parent / "work"
    (work / "greeting.txt").write_text("hello from a webhook\n")
    commit(work, "third version")
    git("-C", str(work), "push", "-q", str(source), "main")
    sha = git("-C", str(work), "rev-parse", "HEAD")
    body = json.dumps(
        {"ref": "refs/heads/main", "after": sha, "head_commit": {"message": "third version"}}
    ).encode()
    signature = hmac.new(automated["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}"}

    assert (
        httpx.post(
            automated["webhook_url"], content=body, headers={**headers, "X-Hub-Signature-256": "sha256=0"}
        ).status_code
        == 401
    )
    r = httpx.post(automated["webhook_url"], content=body, headers=headers)
    assert r.status_code == 202, r.text
    [build_id] = r.json()["builds"]
    build = wait_final(api, build_id)
    assert build["status"] == "success", build["log"]
    assert build["trigger"] == "webhook" and build["commit_sha"] == sha
    assert "hello from a webhook" in build["log"]


def test_build_events_and_the_push_reach_the_repositorys_webhooks_signed(
    api: httpx.Client, automated: dict[str, Any], worker: WorkerProcess
) -> None:
    with Receiver() as receiver:
        hook = api.post(
            "/repositories/alice/web/webhooks", json={"name": "ci", "url": receiver.url + "/hook"}
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        [started] = api.post(
            "/repositories/alice/web/builds", json={"source_type": "branch", "source_name": "main"}
        ).json()
        build = wait_final(api, started["id"])
        assert build["status"] == "success", build["log"]

        got = receiver.wait_for(3, timeout=30)
        events = {r.headers["x-wharf-event"]: r for r in got}
        assert {"build.started", "build.success", "push"} <= set(events)
        for received in got:
            assert verify(secret, received.body, received.headers["x-wharf-signature-256"])
        done = events["build.success"].json()
        assert done["build_data"]["id"] == build["id"] and done["build_data"]["image_id"] == build["image_id"]
        assert done["repository"]["repo_name"] == "alice/web" and done["repository"]["is_trusted"] is True
        assert events["push"].json()["push_data"]["tag"] == "latest"
        api.delete(f"/repositories/alice/web/webhooks/{hook.json()['id']}")


def test_a_push_to_a_linked_base_repository_rebuilds_the_automated_one(
    api: httpx.Client, automated: dict[str, Any], source: Path, engine: Engine, worker: WorkerProcess
) -> None:
    assert api.post("/repositories", json={"namespace": "alice", "name": "base"}).status_code == 201
    rules = [{"source_type": "branch", "source_name": "main", "tag_template": "latest"}]
    body = {"source_url": str(source), "rules": rules, "links": ["alice/base"]}
    assert api.put("/repositories/alice/web/autobuild", json=body).json()["links"] == ["alice/base"]
    before = {b["id"] for b in api.get("/repositories/alice/web/builds").json()}

    assert engine.request("POST", "/images/busybox/tag?repo=alice/base&tag=latest")[0] == 201
    auth = base64.urlsafe_b64encode(
        json.dumps({"username": ALICE[0], "password": ALICE[1]}).encode()
    ).decode()
    status, out = engine.request(
        "POST", "/images/alice/base/push?tag=latest", headers={"X-Registry-Auth": auth}
    )
    assert status == 200 and b'"error"' not in out, out

    def linked_build() -> dict[str, Any] | None:
        builds: list[dict[str, Any]] = api.get("/repositories/alice/web/builds").json()
        return next((b for b in builds if b["id"] not in before and b["trigger"] == "link"), None)

    build = wait_final(api, wait_for(linked_build, timeout=60)["id"])
    assert build["status"] == "success", build["log"]
    assert build["source_ref"] == "main" and build["tags"] == ["latest"]


def test_a_source_served_by_git_daemon_builds_the_pushed_commit(
    api: httpx.Client, automated: dict[str, Any], source: Path, worker: WorkerProcess
) -> None:
    rules = [{"source_type": "branch", "source_name": "main", "tag_template": "latest"}]
    with buildstack.git_daemon(source.parent) as base:
        body = {"source_url": f"{base}/{source.name}", "rules": rules}
        assert api.put("/repositories/alice/web/autobuild", json=body).status_code == 200
        sha = git("-C", str(source), "rev-parse", "main")
        trigger_url = api.get("/repositories/alice/web/autobuild").json()["trigger_url"]
        r = httpx.post(trigger_url, json={"source_type": "Branch", "source_name": "main", "commit": sha})
        build = wait_final(api, r.json()["builds"][0])
    assert build["status"] == "success", build["log"]
    assert build["commit_sha"] == sha and "Cloning git://127.0.0.1" in build["log"]
