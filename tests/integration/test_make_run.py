"""`make run` starts an engine with busybox seeded, the hub, the registry (index mode), Redis and a
builder worker beside it; `wharf run busybox echo hello world` works, the hub printed its first
administrator and holds busybox as the official image, so after `rmi` the engine pulls busybox back
from the hub; an automated build from a local git repository runs on the worker and pushes to the
hub; all stop with make."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import httpx
import pytest
from engines import REPO, VENV_BIN, wait_for
from wharf_registry.testing import free_port

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_make_run_seeds_busybox_and_runs_hello_world() -> None:
    root = Path(tempfile.mkdtemp(prefix="whmk", dir="/tmp"))
    sock = root / "engine.sock"
    bridge = "whmk" + root.name[-6:]
    env = {**os.environ, "WHARF_HOST": f"unix://{sock}", "WHARF_CONFIG": str(root / "client")}
    port, hub_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"RUN_ROOT={root}/data",
            f"RUN_SOCK={sock}",
            f"RUN_BRIDGE={bridge}",
            "RUN_SUBNET=10.199.254.0/24",
            f"RUN_REGISTRY_PORT={port}",
            f"RUN_REGISTRY_ROOT={root}/registry",
            f"RUN_HUB_PORT={hub_port}",
            f"RUN_HUB_ROOT={root}/hub",
            f"RUN_BUILDER_ROOT={root}/builder",
            "RUN_OFFICIAL_IMAGES=",
        ],  # the official images have tests of their own
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def hello() -> bool:
            result = subprocess.run(
                [str(VENV_BIN / "wharf"), "run", "--rm", "busybox", "echo", "hello", "world"],
                env=env,
                capture_output=True,
                timeout=30,
            )
            return result.returncode == 0 and result.stdout == b"hello world\n"

        def pings(at: int) -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{at}/v1/_ping", timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        def registry_pings() -> bool:
            return pings(port)

        def official_busybox() -> bool:
            url = f"http://127.0.0.1:{hub_port}/v1/search?q=busybox"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    results = json.loads(response.read())["results"]
            except OSError:
                return False
            return {"name": "busybox", "is_official": True}.items() <= (
                results[0].items() if results else set()
            )

        def wharf(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([str(VENV_BIN / "wharf"), *args], env=env, capture_output=True, timeout=60)

        wait_for(lambda: sock.exists(), timeout=120, interval=0.2)
        wait_for(hello, timeout=60, interval=0.5)
        wait_for(registry_pings, timeout=30, interval=0.2)
        wait_for(official_busybox, timeout=60, interval=0.5)
        admin = json.loads((root / "hub" / "initial-admin.json").read_text())
        assert admin["username"] == "admin" and len(admin["password"]) >= 16
        assert wharf("rmi", "busybox").returncode == 0
        pulled = wharf("pull", "busybox")
        assert pulled.returncode == 0, pulled.stderr
        assert b"Status: Downloaded newer image for busybox:latest" in pulled.stdout
        assert wharf("run", "--rm", "busybox", "echo", "from", "the", "hub").stdout == b"from the hub\n"
        assert automated_build(root, hub_port, (admin["username"], admin["password"])) == "success"
        # a name under the registry's own host: login, push and pull with the registry's address
        name = f"127.0.0.1:{port}/{admin['username']}/web"
        argv = [
            str(VENV_BIN / "wharf"),
            "login",
            f"127.0.0.1:{port}",
            "-u",
            admin["username"],
            "--password-stdin",
        ]
        login = subprocess.run(
            argv, env=env, input=admin["password"].encode(), capture_output=True, timeout=60
        )
        assert login.returncode == 0, login.stderr
        assert wharf("tag", "busybox", name).returncode == 0
        pushed = wharf("push", name)
        assert pushed.returncode == 0, pushed.stderr
        assert wharf("rmi", name).returncode == 0
        pulled = wharf("pull", name)
        assert pulled.returncode == 0 and b"Downloaded newer image" in pulled.stdout, pulled.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        try:  # make is gone at once; the engine finishes its shutdown just after
            wait_for(lambda: not sock.exists(), timeout=15, interval=0.1)
            socket_left = False
        except AssertionError:
            socket_left = True
        redis_left = (root / "builder" / "redis.sock").exists() and redis_answers(
            root / "builder" / "redis.sock"
        )
        try:  # the registry and the hub are stopped with the engine
            wait_for(lambda: not registry_pings() and not pings(hub_port), timeout=15, interval=0.1)
            registry_left = False
        except AssertionError:
            registry_left = True
        for line in Path("/proc/self/mounts").read_text().splitlines():
            target = line.split()[1]
            if target.startswith(str(root)):
                subprocess.run(["umount", "-l", target], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
    assert not socket_left, "the engine removes its socket on a clean shutdown"
    assert not registry_left, "make run stops the registry and the hub with the engine"
    assert not redis_left, "make run stops Redis with the engine"


def automated_build(root: Path, hub_port: int, admin: tuple[str, str]) -> str:
    """A bare repository on disk, an automated build of it on the hub, the button: the build's status."""
    bare, work = root / "src.git", root / "src"
    for args in (["init", "-q", "--bare", "-b", "main", str(bare)], ["init", "-q", "-b", "main", str(work)]):
        subprocess.run(["git", *args], check=True)
    (work / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n")
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@example.test"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    subprocess.run([*git, "push", "-q", str(bare), "main"], check=True)
    with httpx.Client(base_url=f"http://127.0.0.1:{hub_port}/api/v1", auth=admin, timeout=30) as api:
        assert api.post("/repositories", json={"namespace": admin[0], "name": "built"}).status_code == 201
        rules = [{"source_type": "branch", "source_name": "main"}]
        body = {"source_url": str(bare), "rules": rules}
        assert api.put(f"/repositories/{admin[0]}/built/autobuild", json=body).status_code == 200
        [build] = api.post(f"/repositories/{admin[0]}/built/builds", json={}).json()

        def final() -> str | None:
            status = str(api.get(f"/repositories/{admin[0]}/built/builds/{build['id']}").json()["status"])
            return status if status in ("success", "failed", "cancelled") else None

        result: str = wait_for(final, timeout=120, interval=0.5)
        return result


def redis_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
        return True
