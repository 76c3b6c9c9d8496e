"""v2 clients against a wharf registry in index mode behind a real hub: skopeo and podman log in
with hub accounts (passwords and access tokens), tokens come from the hub's ``/v2/token`` and
grant what the v1 rules allow, and v2 pushes show on the hub as v1 pushes do (tags with their
digest, pull counter, the repository's webhooks with Docker Hub's payload)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import Engine
from hubstack import Stack, hub_stack
from ocilayout import Layout, random_layer, write_layout
from wharf_hub.webhooks.testing import Receiver

SKOPEO, PODMAN = shutil.which("skopeo"), shutil.which("podman")
USERS = {"alice": "pa55word", "bobby": "b0bpass1"}
ALICE = ("alice", USERS["alice"])

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)"),
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-v2-index-", USERS, bearer=True) as built:
        yield built


@pytest.fixture
def tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wharf-v2-index-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert SKOPEO is not None
    return run(SKOPEO, *args, check=check)


def host(stack: Stack) -> str:
    return f"127.0.0.1:{stack.registry.port}"


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def api(stack: Stack, path: str) -> Any:
    answer = httpx.get(f"{stack.hub.url}/api/v1{path}", auth=ALICE)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_skopeo_push_shows_on_the_hub_and_fires_the_webhook(stack: Stack, tmp: Path) -> None:
    made = httpx.post(
        f"{stack.hub.url}/api/v1/repositories", json={"namespace": "alice", "name": "web"}, auth=ALICE
    )
    assert made.status_code == 201, made.text
    with Receiver() as receiver:
        hook = httpx.post(
            f"{stack.hub.url}/api/v1/repositories/alice/web/webhooks",
            json={"name": "ci", "url": receiver.url},
            auth=ALICE,
        )
        assert hook.status_code == 201, hook.text
        image = write_layout(tmp / "image", [random_layer(20_000)])
        skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            ":".join(ALICE),
            image.ref(),
            f"docker://{host(stack)}/alice/web:v1",
        )
        [delivery] = receiver.wait_for(1, timeout=30)
    payload = delivery.json()
    assert payload["push_data"]["tag"] == "v1" and payload["push_data"]["pusher"] == "alice"
    assert payload["repository"]["repo_name"] == "alice/web"
    [tag] = api(stack, "/repositories/alice/web/tags")["results"]
    assert (tag["name"], tag["digest"]) == ("v1", image.manifest_digest)
    assert tag["size"] > 20_000
    before = api(stack, "/repositories/alice/web")["pull_count"]
    skopeo("copy", "--src-tls-verify=false", f"docker://{host(stack)}/alice/web:v1", f"dir:{tmp / 'back'}")
    assert wait_for(lambda: api(stack, "/repositories/alice/web")["pull_count"] > before)


def test_a_first_v2_push_creates_the_repository_and_strangers_are_refused(stack: Stack, tmp: Path) -> None:
    image = write_layout(tmp / "image", [random_layer(5_000)])
    target = f"docker://{host(stack)}/alice/fresh:1"
    refused = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"bobby:{USERS['bobby']}",
        image.ref(),
        target,
        check=False,
    )
    assert refused.returncode != 0 and "denied" in refused.stderr.lower(), refused.stderr
    anonymous = skopeo("copy", "--dest-tls-verify=false", image.ref(), target, check=False)
    assert anonymous.returncode != 0
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", ":".join(ALICE), image.ref(), target)
    repo = wait_for(lambda: httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/fresh").status_code == 200)
    assert repo
    wrong = skopeo("inspect", "--tls-verify=false", "--creds", "alice:wrong-password", target, check=False)
    assert wrong.returncode != 0


def test_private_repositories_and_read_only_tokens(stack: Stack, tmp: Path) -> None:
    secret = {"namespace": "alice", "name": "secret", "is_private": True}
    made = httpx.post(f"{stack.hub.url}/api/v1/repositories", json=secret, auth=ALICE)
    assert made.status_code == 201, made.text
    image = write_layout(tmp / "image", [random_layer(5_000)])
    target = f"docker://{host(stack)}/alice/secret:1"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", ":".join(ALICE), image.ref(), target)
    stranger = skopeo(
        "inspect", "--tls-verify=false", "--creds", f"bobby:{USERS['bobby']}", target, check=False
    )
    assert stranger.returncode != 0
    assert skopeo("inspect", "--tls-verify=false", target, check=False).returncode != 0
    made_token = httpx.post(
        f"{stack.hub.url}/api/v1/user/tokens", json={"name": "ro", "scopes": ["read"]}, auth=ALICE
    )
    assert made_token.status_code == 201, made_token.text
    read_only = f"alice:{made_token.json()['token']}"
    assert '"amd64"' in skopeo("inspect", "--tls-verify=false", "--creds", read_only, target).stdout
    again = write_layout(tmp / "again", [random_layer(4_000)])
    pushed = skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", read_only, again.ref(), target, check=False
    )
    assert pushed.returncode != 0  # a read-scoped token gets pull only


@pytest.mark.skipif(PODMAN is None, reason="podman is not installed (Debian package podman)")
def test_podman_logs_in_at_the_registry_and_pushes_and_pulls(stack: Stack, tmp: Path) -> None:
    assert PODMAN is not None
    base = [
        PODMAN,
        "--root",
        str(tmp / "storage"),
        "--runroot",
        str(tmp / "run"),
        "--storage-driver",
        "vfs",
        "--events-backend",
        "none",
        "--cgroup-manager",
        "cgroupfs",
        "--tmpdir",
        str(tmp / "libpod"),
    ]  # nothing shared with other podman runs
    authfile = str(tmp / "auth.json")
    image: Layout = write_layout(tmp / "image", [random_layer(8_000)])
    try:
        bad = run(
            *base,
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile,
            "-u",
            "alice",
            "-p",
            "nope",
            host(stack),
            check=False,
        )
        assert bad.returncode != 0
        run(
            *base,
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile,
            "-u",
            "alice",
            "-p",
            USERS["alice"],
            host(stack),
        )
        run(*base, "pull", image.ref())
        image_id = run(*base, "images", "-q").stdout.split()[0]
        name = f"{host(stack)}/alice/pod:1"
        run(*base, "push", "--tls-verify=false", "--authfile", authfile, image_id, f"docker://{name}")
        run(*base, "rmi", "--all", "--force", check=False)
        run(*base, "pull", "--tls-verify=false", "--authfile", authfile, name)
        exists = wait_for(
            lambda: httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/pod").status_code == 200
        )
        assert exists
        tags = wait_for(lambda: api(stack, "/repositories/alice/pod/tags")["results"])
        assert [t["name"] for t in tags] == ["1"]
    finally:
        run(*base, "rmi", "--all", "--force", check=False)


def stream(engine: Engine, method: str, path: str, auth: dict[str, str] | None = None) -> list[Any]:
    header = base64.urlsafe_b64encode(json.dumps(auth or {}).encode()).decode()
    status, body = engine.request(method, path, headers={"X-Registry-Auth": header})
    assert status == 200, (status, body)
    messages = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert not [m for m in messages if "error" in m], messages
    return messages


@pytest.mark.root
@pytest.mark.slow
def test_an_engine_logs_in_pushes_and_pulls_by_the_registrys_address_over_v2(
    engine: Engine, engine_b: Engine, stack: Stack
) -> None:
    address = host(stack)
    wrong = {"username": "alice", "password": "nope", "serveraddress": address}
    assert engine.request("POST", "/auth", wrong)[0] == 401
    alice = {"username": "alice", "password": USERS["alice"], "serveraddress": address}
    status, body = engine.request("POST", "/auth", alice)
    assert (status, json.loads(body)["Status"]) == (200, "Login Succeeded")
    assert engine.docker("tag", "busybox", f"{address}/alice/engine:v1").returncode == 0
    pushed = stream(engine, "POST", f"/images/{address}/alice/engine/push?tag=v1", alice)
    [summary] = [m["status"] for m in pushed if "digest: sha256:" in m.get("status", "")]
    digest = summary.split("digest: ")[1].split()[0]
    assert wait_for(lambda: httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/engine").status_code == 200)
    tags = wait_for(lambda: api(stack, "/repositories/alice/engine/tags")["results"])
    assert [(t["name"], t["digest"]) for t in tags] == [("v1", digest)]
    pulled = stream(engine_b, "POST", f"/images/create?fromImage={address}/alice/engine&tag=v1")
    assert pulled[-1]["status"] == f"Status: Downloaded newer image for {address}/alice/engine:v1"
    ran = engine_b.docker("run", "--rm", f"{address}/alice/engine:v1", "echo", "hello")
    assert ran.returncode == 0 and ran.stdout == b"hello\n", ran.stderr
    log = stack.registry.log.read_text()  # spoken over v2, not the v1 fallback
    assert re.search(r"method=PUT .*path=/v2/alice/engine/manifests/v1", log)
