"""The CI loop of "Using Docker for testing", end to end: a git push of a small Flask app rebuilds its
image on the hub (``FROM python``: the official image made from Debian packages); the image's push
calls the repository's webhook chain: a CI receiver (Jenkins' part) runs the app's tests inside the
freshly built image through the engine and answers the callback; the second webhook (the deploy
step) is called only when the tests passed. A commit that breaks a test stops the chain red and
nothing is deployed.

Real processes: redis-server, a ``wharf-builder`` worker, a hub and an index-mode registry, an
engine seeded with the ``python`` image by ``deploy/images/seed_official.py``, git with the shipped
``post-receive`` hook; the CI and deploy receivers are HTTP servers on 127.0.0.1 in this process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import buildstack
import httpx
import pytest
from engines import REPO, Engine, wait_for
from hubstack import Stack, hub_stack
from wharf_builder.testing import RedisServer, WorkerProcess
from wharf_client import EngineClient

pytestmark = [pytest.mark.root, pytest.mark.slow]

ALICE = ("alice", "pa55word")
APP = """from flask import Flask, request

app = Flask(__name__)


@app.route("/add")
def add():
    return str(int(request.args["a"]) + int(request.args["b"]))


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
"""
TESTS = """import unittest

from app import app


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(app.test_client().get("/add?a=2&b=3").data, b"{expected}")


if __name__ == "__main__":
    unittest.main()
"""
DOCKERFILE = 'FROM python\nCOPY . /app\nWORKDIR /app\nCMD ["python3", "app.py"]\n'


class Receiver(ThreadingHTTPServer):
    """Records each delivery; ``act`` (if any) runs on it and may answer the callback."""

    def __init__(self, act: Any = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.act = act
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.headers.get("x-wharf-event", "push") != "push":
                    return  # build events are not the chain
                outer.received.append(payload)
                if outer.act is not None:
                    threading.Thread(target=outer.act, args=(payload,), daemon=True).start()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def run_tests_in(engine: Engine, image: str) -> tuple[int, str]:
    """What the course's Jenkins job did with the engine's socket: the tests, inside the image."""
    client = EngineClient(engine.host)
    created = client.container_create(
        {"Image": image, "Cmd": ["python3", "-m", "unittest", "-v"], "WorkingDir": "/app"}
    )
    cid = str(created["Id"])
    try:
        client.container_start(cid)
        status = int(client.container_wait(cid)["StatusCode"])
        out = b"".join(chunk for _, chunk in client.container_logs(cid))
        return status, out.decode(errors="replace")
    finally:
        client.container_remove(cid, force=True)


@pytest.fixture(scope="module", autouse=True)
def stack(redis_server: RedisServer) -> Iterator[Stack]:
    with hub_stack("wharf-ciloop-", dict([ALICE]), env=buildstack.hub_env(redis_server)) as built:
        yield built


@pytest.fixture(scope="module")
def python_engine(engine: Engine) -> Engine:
    seeded = subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy" / "images" / "seed_official.py"),
            "--host",
            engine.host,
            "--images",
            "python",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    return engine


@pytest.fixture(scope="module")
def worker(stack: Stack, python_engine: Engine, redis_server: RedisServer) -> Iterator[WorkerProcess]:
    with buildstack.workers(buildstack.worker_env(redis_server, python_engine.host, stack.hub.url)) as pool:
        assert pool.current is not None
        yield pool.current


def git(*args: str) -> str:
    who = {"NAME": "Alice", "EMAIL": "a@example.test"}
    env = {f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER") for k, v in who.items()}
    env.update(PATH="/usr/bin:/bin", HOME="/nonexistent")
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, env=env).stdout.strip()


def commit_and_push(work: Path, bare: Path, expected: str, message: str) -> subprocess.CompletedProcess[str]:
    (work / "test_app.py").write_text(TESTS.replace("{expected}", expected))
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-qm", message)
    return subprocess.run(["git", "-C", str(work), "push", str(bare), "main"], capture_output=True, text=True)


def test_a_push_builds_tests_in_the_image_and_deploys_only_when_green(
    stack: Stack, python_engine: Engine, worker: WorkerProcess, tmp_path: Path
) -> None:
    bare, work = tmp_path / "app.git", tmp_path / "app"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("init", "-q", "-b", "main", str(work))
    (work / "app.py").write_text(APP)
    (work / "Dockerfile").write_text(DOCKERFILE)
    results: list[tuple[int, str]] = []

    def ci(payload: dict[str, Any]) -> None:
        image = f"{payload['repository']['repo_name']}:{payload['push_data']['tag']}"
        status, output = run_tests_in(python_engine, image)
        results.append((status, output))
        state = "success" if status == 0 else "failure"
        httpx.post(
            payload["callback_url"], json={"state": state, "context": "ci", "description": output[-200:]}
        )

    def deploy(payload: dict[str, Any]) -> None:  # the last step validates too, closing the chain
        httpx.post(payload["callback_url"], json={"state": "success", "context": "deploy"})

    ci_receiver, deploy_receiver = Receiver(ci), Receiver(deploy)
    try:
        with httpx.Client(base_url=f"{stack.hub.url}/api/v1", auth=ALICE, timeout=30) as api:
            assert (
                api.post("/repositories", json={"namespace": "alice", "name": "flaskapp"}).status_code == 201
            )
            rules = [{"source_type": "branch", "source_name": "main", "tag_template": "latest"}]
            auto = api.put(
                "/repositories/alice/flaskapp/autobuild", json={"source_url": str(bare), "rules": rules}
            )
            assert auto.status_code == 200, auto.text
            for name, url in (("ci", ci_receiver.url), ("deploy", deploy_receiver.url)):
                added = api.post("/repositories/alice/flaskapp/webhooks", json={"name": name, "url": url})
                assert added.status_code == 201, added.text
            shutil.copy(REPO / "deploy" / "git-hooks" / "post-receive", bare / "hooks" / "post-receive")
            git("--git-dir", str(bare), "config", "wharf.triggerurl", auto.json()["trigger_url"])

            # green: the build, the tests in the image, then the deploy step
            pushed = commit_and_push(work, bare, "5", "add: 2 + 3")
            assert pushed.returncode == 0 and "wharf: Branch main" in pushed.stderr, pushed.stderr
            wait_for(lambda: deploy_receiver.received, timeout=600, interval=0.5)
            assert results[0][0] == 0 and "OK" in results[0][1], results[0][1]
            green = wait_for(
                lambda: next(
                    (
                        c
                        for c in api.get("/repositories/alice/flaskapp/webhooks/chains").json()
                        if c["state"] == "success"
                    ),
                    None,
                ),
                timeout=30,
            )
            assert green["payload"]["push_data"]["tag"] == "latest"
            [build] = api.get("/repositories/alice/flaskapp/builds").json()
            assert build["status"] == "success"

            # red: a commit that breaks the test builds, fails in CI, and deploys nothing
            commit_and_push(work, bare, "6", "expect the wrong sum")
            wait_for(lambda: len(results) == 2, timeout=600, interval=0.5)
            assert results[1][0] != 0 and "FAILED" in results[1][1], results[1][1]
            red = wait_for(
                lambda: next(
                    (
                        c
                        for c in api.get("/repositories/alice/flaskapp/webhooks/chains").json()
                        if c["state"] == "failure"
                    ),
                    None,
                ),
                timeout=30,
            )
            assert "FAILED" in red["description"]
            assert len(deploy_receiver.received) == 1, "the deploy step ran for a red commit"
    finally:
        ci_receiver.close()
        deploy_receiver.close()
