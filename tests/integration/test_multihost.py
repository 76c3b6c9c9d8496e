"""Two hubs and two registries behind a TLS front, used by two engines on two "hosts".

The shape of a multi-host deployment, on one machine: one PostgreSQL, one S3 store (moto's
server), hub A and hub B (separate processes, separate data roots, one database, the same
keys and secret), registry A and registry B (S3 storage, index mode), nginx with TLS in front
of them (``deploy/nginx/wharf.conf.template``, as operators run it), and two engines, each in
a network namespace of its own that reaches the front only over a veth and a bridge, trusting
the front's CA. Engine 1 logs in and pushes; during its second push, hub A and the registry
receiving the new layer are SIGKILLed in the middle of the upload (the push fails; pushing
again completes it); engine 2 pulls everything through the front and gets the same images,
and the surviving hub shows both tags and the pulls. Then an automated build, run by a builder
worker on the second host, is pushed through the front and pulled and run on the first.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import buildstack
import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from engines import DOCKER, REPO, Engine, needs_docker, wait_for
from multihost import (
    MOTO,
    NGINX,
    PLACEHOLDER,
    TEMPLATE,
    NetnsEngine,
    Nginx,
    bytes_received,
    free_ports_on,
    front_certificate,
    host_network,
    moto_server,
    netns_engine,
    shared_hub_keys,
    verified_context,
)
from seed import seed
from wharf_builder.testing import RedisServer
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess, free_port

HEAVY = (pytest.mark.root, pytest.mark.slow, needs_docker)  # the deployment's tests


def heavy(test: Callable[..., None]) -> Callable[..., None]:
    for mark in HEAVY:
        test = mark(test)
    return test


USER, PASSWORD = "alice", "Wharf-Multi-Host-7"
COMMAND_TIMEOUT = 120
STARTUP = 90  # seconds for a process to answer: six start at once on a busy 2-core machine


@dataclass
class Deployment:
    front: str  # the hub's address at the front (the registry's is on another port)
    ca: Path
    hubs: list[HubProcess]
    registries: list[RegistryProcess]
    engines: list[NetnsEngine]
    nginx: Nginx
    builder_secret: str
    killed_registry: int = -1  # which registry the second push's layer upload was cut off from

    @property
    def hub_url(self) -> str:
        return f"https://{self.front}"

    def api(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        context = verified_context(self.ca)
        return httpx.Client(base_url=self.hub_url, verify=context, auth=auth, timeout=20)


@pytest.fixture(scope="module")
def deployment(
    busybox_tar: Path, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and engines need root")
    if pg_bin() is None or not MOTO.exists() or not Path(NGINX).exists():
        pytest.skip("needs PostgreSQL's binaries, moto_server (moto[server]) and nginx (make setup)")
    work = tmp_path_factory.mktemp("multihost")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as environment:
        net = stack.enter_context(host_network(2))
        ca, certificate, key = front_certificate(work / "tls", net.front)
        pool = stack.enter_context(ThreadPoolExecutor(4))  # processes start side by side: faster
        cluster = PostgresCluster()
        stack.callback(cluster.stop)
        migrated = pool.submit(lambda: cluster.start().database())
        s3 = pool.submit(moto_server, stack, work / "moto.log")
        keys = shared_hub_keys(work / "keys")
        hub_port, registry_port = free_ports_on(net.front, 2)  # 443 and 5000 in production
        front_hub, front_registry = f"{net.front}:{hub_port}", f"{net.front}:{registry_port}"
        database = migrated.result()

        # what every hub host shares: the database, the secret and the key files (copied to
        # each host in production; here one directory both processes read)
        builder_secret = secrets.token_hex(32)
        hub_env = {
            "WHARF_HUB_SECRET_KEY": secrets.token_hex(32),
            "WHARF_HUB_BUILDER__SECRET": builder_secret,
            "WHARF_HUB_BUILDER__BROKER_URL": redis_server.url,
            "WHARF_HUB_SIGNING_KEY": str(keys / "token-signing.pem"),
            "WHARF_HUB_BEARER_KEY": str(keys / "bearer-signing.pem"),
            "WHARF_HUB_PUBLIC_URL": f"https://{front_hub}",
            "WHARF_HUB_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            "SSL_CERT_FILE": str(ca),  # the hubs read tags from the registries through the front
        }
        hubs = []
        for name in ("hub-a", "hub-b"):
            hub = HubProcess(
                work / name,
                registry_url=f"https://{front_registry}",
                registry_endpoint=front_registry,
                database_url=database,
                env=hub_env,
            )
            hub.port = free_port()
            stack.callback(hub.stop)
            hubs.append(hub)
        registry_env = {
            "WHARF_REGISTRY_STORAGE__DRIVER": "s3",
            "WHARF_REGISTRY_STORAGE__BUCKET": "wharf-layers",
            "WHARF_REGISTRY_STORAGE__ENDPOINT_URL": s3.result(),
            "WHARF_REGISTRY_STORAGE__REGION": "us-east-1",
            "WHARF_REGISTRY_STORAGE__ACCESS_KEY": "test",
            "WHARF_REGISTRY_STORAGE__SECRET_KEY": "test",
            "WHARF_REGISTRY_STORAGE__CREATE_BUCKET": "true",
            "WHARF_REGISTRY_INDEX__URL": f"https://{front_hub}",  # tokens confirmed through the front
            "SSL_CERT_FILE": str(ca),
        }
        registries = []
        for name in ("registry-a", "registry-b"):
            registry = RegistryProcess(root=work / name, index_public_key=keys / "token-signing.pub.pem")
            registry.root.mkdir()
            stack.callback(registry.stop)
            registries.append(registry)
        nginx = Nginx(
            work / "nginx",
            {
                "WHARF_HUB_LISTEN": front_hub,
                "WHARF_REGISTRY_LISTEN": front_registry,
                "WHARF_HUB_A": hubs[0].address,
                "WHARF_HUB_B": hubs[1].address,
                "WHARF_REGISTRY_A": f"127.0.0.1:{registries[0].port}",
                "WHARF_REGISTRY_B": f"127.0.0.1:{registries[1].port}",
                "WHARF_TLS_CERTIFICATE": str(certificate),
                "WHARF_TLS_KEY": str(key),
            },
        )
        stack.callback(nginx.stop)

        environment.setenv("WHARF_ENGINE_DEFAULT_INDEX", f"https://{front_hub}")
        environment.setenv("WHARF_ENGINE_CA_BUNDLE", str(ca))
        environment.setenv("DOCKER_CONFIG", str(work / "docker"))
        engines = [netns_engine(ns) for ns in net.namespaces]
        for engine in engines:
            stack.callback(engine.cleanup)
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # first out: no start still running
        starting: list[Future[Any]] = [
            *(pool.submit(hub.start, STARTUP) for hub in hubs),
            *(pool.submit(registry.start, registry_env, STARTUP) for registry in registries),
            *(pool.submit(engine.start) for engine in engines),
            pool.submit(hubs[0].create_user, USER, PASSWORD),
            pool.submit(nginx.start, (net.front, hub_port), (net.front, registry_port)),
        ]
        for started in starting:
            started.result(timeout=STARTUP + 30)
        for engine in engines:
            seed(str(engine.socket), busybox_tar)
        yield Deployment(front_hub, ca, hubs, registries, engines, nginx, builder_secret)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout.decode()[-2000:], result.stderr.decode()[-2000:])
    return result.stdout.decode()


def build(engine: Engine, context: Path, tag: str, payload: bytes) -> str:
    context.mkdir()
    (context / "payload").write_bytes(payload)
    (context / "Dockerfile").write_text("FROM busybox\nCOPY payload /payload\n")
    ok(engine.docker("build", "-q", "-t", tag, str(context), timeout=COMMAND_TIMEOUT))
    return hashlib.sha256(payload).hexdigest()


def content(engine: Engine, tag: str) -> tuple[list[str], object, object]:
    """What an image is, whichever protocol carried it: its layers' diff ids and its command and
    environment (a v1 pull gives the image another id: its config is rebuilt from the v1 JSON)."""
    found = engine.json("GET", f"/images/{tag}/json")
    return found["RootFS"]["Layers"], found["Config"]["Cmd"], found["Config"]["Env"]


def kill(process: HubProcess | RegistryProcess) -> None:
    assert process.proc is not None
    process.proc.send_signal(signal.SIGKILL)
    process.proc.wait(10)


@heavy
def test_push_on_one_host_pull_on_another_with_a_hub_and_a_registry_killed_midway(
    deployment: Deployment, tmp_path: Path
) -> None:
    first, second = deployment.engines
    repo = f"{USER}/web"
    for engine in (first, second):  # each host logs in to the hub through the front
        login = engine.docker("login", "-u", USER, "--password-stdin", input=PASSWORD.encode() + b"\n")
        assert "Login Succeeded" in ok(login)

    v1_sum = build(first, tmp_path / "v1", f"{repo}:v1", os.urandom(1 << 20))
    v2_sum = build(first, tmp_path / "v2", f"{repo}:v2", os.urandom(24 << 20))
    ok(first.docker("push", f"{repo}:v1", timeout=COMMAND_TIMEOUT))

    hub_a = deployment.hubs[0].address
    registries = [f"127.0.0.1:{r.port}" for r in deployment.registries]
    served = [tried[-1] for tried in deployment.nginx.upstreams()]
    assert hub_a in served and set(registries) <= set(served), "killing one would prove nothing"
    seen = len(served)

    # the second push: hub A and the registry that receives its new layer die during the upload
    layer_puts = sum(1 for r in deployment.registries for _ in _layer_puts(r))
    push = subprocess.Popen(
        [DOCKER, "push", f"{repo}:v2"], env=first.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    killer = threading.Thread(target=_kill_when_uploading, args=(deployment, layer_puts), daemon=True)
    killer.start()
    push.communicate(timeout=COMMAND_TIMEOUT)
    killer.join(30)
    killed = deployment.killed_registry
    assert deployment.hubs[0].proc is None and deployment.registries[killed].proc is None, "not killed"
    if push.returncode != 0:  # the upload died with its registry: pushing again completes it
        ok(first.docker("push", f"{repo}:v2", timeout=COMMAND_TIMEOUT))

    for tag in ("v1", "v2"):  # the other host gets exactly what was pushed, through hub B and registry B
        ok(second.docker("pull", f"{repo}:{tag}", timeout=COMMAND_TIMEOUT))
        assert content(second, f"{repo}:{tag}") == content(first, f"{repo}:{tag}")
    for tag, digest in (("v1", v1_sum), ("v2", v2_sum)):
        shown = ok(second.docker("run", "--rm", f"{repo}:{tag}", "sha256sum", "/payload"))
        assert shown.split()[0] == digest

    # the front found the dead ones (the cut-off upload; a request it then passed to the other) and
    # left them alone
    after = deployment.nginx.upstreams()[seen:]
    assert any(t[0] == hub_a and len(t) > 1 for t in after), after
    assert any(t[0] == registries[killed] for t in after), after
    with deployment.api() as api:  # the surviving hub has both tags and counted both pulls
        tags = api.get(f"/api/v1/repositories/{repo}/tags").json()["results"]
        assert {t["name"] for t in tags} >= {"v1", "v2"}
        # pull counts are added up in the hub's process and written once a second (pullcount.py)
        wait_for(lambda: api.get(f"/api/v1/repositories/{repo}").json()["pull_count"] >= 2, timeout=10)


def _layer_puts(registry: RegistryProcess) -> list[str]:
    if not registry.log.exists():
        return []
    return [
        line
        for line in registry.log.read_text(errors="replace").splitlines()
        if "/layer" in line and "PUT" in line
    ]


def _kill_when_uploading(deployment: Deployment, before: int, timeout: float = 60) -> None:
    """SIGKILL hub A, and the registry that receives the push's new layer while it reads it (once
    it has read 4 MiB of it); registry A once a layer is stored if none was seen reading."""
    ports = [r.port for r in deployment.registries]
    start = [bytes_received(port) for port in ports]
    victim = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = [i for i, port in enumerate(ports) if bytes_received(port) - start[i] > 4 << 20]
        if reading:
            victim = reading[0]
            break
        if sum(len(_layer_puts(r)) for r in deployment.registries) > before:
            break
        time.sleep(0.002)
    deployment.killed_registry = victim
    for process in (deployment.hubs[0], deployment.registries[victim]):
        kill(process)
        process.proc = None


@heavy
def test_a_builder_on_one_host_builds_and_pushes_what_the_other_host_pulls(
    deployment: Deployment, redis_server: RedisServer, tmp_path: Path
) -> None:
    """An automated build, queued by whichever hub the trigger reaches, built by a worker on the
    second engine's host and pushed through the front; the first host pulls and runs it."""
    first, second = deployment.engines
    source = git_source(tmp_path)
    env = {
        "WHARF_BUILDER_BROKER_URL": redis_server.url,
        "WHARF_BUILDER_ENGINE_HOST": second.host,
        "WHARF_BUILDER_HUB_URL": deployment.hub_url,
        "WHARF_BUILDER_HUB_SECRET": deployment.builder_secret,
        "WHARF_BUILDER_BUILD_TIMEOUT": "120",
        "SSL_CERT_FILE": str(deployment.ca),
    }
    with buildstack.workers(env), deployment.api(auth=(USER, PASSWORD)) as api:
        created = api.post("/api/v1/repositories", json={"namespace": USER, "name": "auto"})
        assert created.status_code == 201, created.text
        rules = [{"source_type": "branch", "source_name": "main", "tag_template": "latest"}]
        autobuild = api.put(
            f"/api/v1/repositories/{USER}/auto/autobuild", json={"source_url": str(source), "rules": rules}
        )
        assert autobuild.status_code == 200, autobuild.text
        sha = git("-C", str(source), "rev-parse", "main")
        trigger = api.post(
            autobuild.json()["trigger_url"],
            json={"source_type": "Branch", "source_name": "main", "commit": sha},
        )
        assert trigger.status_code == 202, trigger.text
        [build_id] = trigger.json()["builds"]

        def final() -> dict[str, Any] | None:
            build: dict[str, Any] = api.get(f"/api/v1/repositories/{USER}/auto/builds/{build_id}").json()
            return build if build["status"] in ("success", "failed", "cancelled") else None

        build = wait_for(final, timeout=180, interval=0.5)
    assert build["status"] == "success", build["log"]
    assert build["commit_sha"] == sha
    ok(first.docker("pull", f"{USER}/auto:latest", timeout=COMMAND_TIMEOUT))
    assert ok(first.docker("run", "--rm", f"{USER}/auto:latest")) == "built on another host\n"


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()


def git_source(root: Path) -> Path:
    """A bare repository whose ``main`` has a Dockerfile with a step that runs a container."""
    bare, work = root / "auto.git", root / "work"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("init", "-q", "-b", "main", str(work))
    (work / "Dockerfile").write_text(
        'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt\nCMD ["cat", "/greeting.txt"]\n'
    )
    (work / "greeting.txt").write_text("built on another host\n")
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
        "first version",
    )
    git("-C", str(work), "push", "-q", str(bare), "main")
    return bare


def test_docker_compose_describes_the_same_shape() -> None:
    """The operators' compose file runs the template the test runs, with every placeholder
    given, and its hubs and registries share what the test's share."""
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    front = services["front"]
    assert any(str(TEMPLATE.relative_to(REPO)) in volume for volume in front["volumes"])
    assert set(PLACEHOLDER.findall(TEMPLATE.read_text())) <= set(front["environment"])
    hubs, registries = (
        [services[n] for n in ("hub-a", "hub-b")],
        [services[n] for n in ("registry-a", "registry-b")],
    )
    assert hubs[0]["environment"] == hubs[1]["environment"]
    shared = {
        "WHARF_HUB_DATABASE_URL",
        "WHARF_HUB_SECRET_KEY",
        "WHARF_HUB_BUILDER__SECRET",
        "WHARF_HUB_SIGNING_KEY",
        "WHARF_HUB_BEARER_KEY",
        "WHARF_HUB_PUBLIC_URL",
    }
    assert shared <= set(hubs[0]["environment"])
    assert registries[0] == registries[1]
    assert registries[0]["environment"]["WHARF_REGISTRY_STORAGE__DRIVER"] == "s3"
