"""Push and pull between two real engines through a real v1 registry, by API, docker CLI and docker-py.

Engine A (the module's seeded engine) commits images and pushes them; engine B starts empty
and pulls them. The registry's request log says which layers were uploaded. Bad input: an
unknown tag, a registry that is down, a default hub that is down (these engines' default index is
``conftest.CLOSED_INDEX``, where nobody listens), and pulls cut off half way (by the
registry, and by the client) that must leave no image, no tag and no temporary file.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import DOCKER, Engine, UnixConnection, needs_docker, wait_for
from wharf_registry.testing import RegistryProcess, free_port, image_json, make_layer, random_image_id

pytestmark = [pytest.mark.root, pytest.mark.slow]

VENV_BIN = Path(sys.executable).parent
LAYER_PUT = re.compile(r"method=PUT .*path=/v1/images/[0-9a-f]{64}/layer ")


# ---- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def v1_only() -> Iterator[None]:
    """This module tests the v1 client: its engines never ask wharf's registry ``GET /v2/``."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WHARF_ENGINE_V1_REGISTRIES", '["127.0.0.0/8"]')
        yield


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def stream(engine: Engine, method: str, path: str, headers: dict[str, str] | None = None) -> list[Any]:
    status, body = engine.request(method, path, headers=headers)
    assert status == 200, (status, body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def pull(engine: Engine, name: str, tag: str) -> list[Any]:
    query = urllib.parse.urlencode({"fromImage": name, "tag": tag})
    return stream(engine, "POST", f"/images/create?{query}")


def push(engine: Engine, name: str, tag: str) -> list[Any]:
    return stream(engine, "POST", f"/images/{name}/push?tag={tag}", {"X-Registry-Auth": "e30="})


def statuses(messages: list[Any]) -> list[str]:
    assert not [m for m in messages if "error" in m], messages
    return [m["status"] for m in messages]


def commit(engine: Engine, name: str, text: str) -> str:
    """An image on busybox with one more layer: ``/greeting`` holds ``text``; CMD cats it."""
    container = ok(engine.docker("create", "busybox", "sh", "-c", f"echo {text} > /greeting")).strip()
    try:
        ok(engine.docker("start", "-a", container))
        return ok(engine.docker("commit", "--change", 'CMD ["cat", "/greeting"]', container, name)).strip()
    finally:
        engine.docker("rm", "-f", container)


def layer_puts(registry: RegistryProcess) -> int:
    return sum(1 for line in registry.log.read_text().splitlines() if LAYER_PUT.search(line))


def has_image(engine: Engine, ref: str) -> bool:
    return engine.request("GET", f"/images/{ref}/json")[0] == 200


def leftovers(engine: Engine) -> list[str]:
    return [p.name for p in (engine.root / "data" / "tmp").iterdir()]


# ---- the flow by API ----------------------------------------------------------------------


def test_push_on_one_engine_pull_and_run_on_another(
    engine: Engine, engine_b: Engine, registry: RegistryProcess
) -> None:
    name = f"127.0.0.1:{registry.port}/user/web"
    commit(engine, f"{name}:v1", "hello")
    before = layer_puts(registry)
    out = statuses(push(engine, name, "v1"))
    assert out[0] == f"The push refers to repository [{name}]"
    assert out.count("Pushed") == 2 and out[-1].startswith("v1: pushed image ")
    wait_for(lambda: layer_puts(registry) == before + 2)

    messages = pull(engine_b, name, "v1")
    out = statuses(messages)
    assert messages[0] == {"status": "Pulling from user/web", "id": "v1"}
    assert out.count("Pull complete") == 2 and "Downloading" in out
    assert out[-1] == f"Status: Downloaded newer image for {name}:v1"
    assert any(m.get("progressDetail", {}).get("total") for m in messages if m["status"] == "Downloading")
    info = engine_b.json("GET", f"/images/{name}:v1/json")
    assert info["RepoTags"] == [f"{name}:v1"] and info["Config"]["Cmd"] == ["cat", "/greeting"]
    assert len(info["RootFS"]["Layers"]) == 2
    assert ok(engine_b.docker("run", "--rm", f"{name}:v1")) == "hello\n"

    again = statuses(pull(engine_b, name, "v1"))  # same content: same image, nothing downloaded
    assert again.count("Already exists") == 2 and "Downloading" not in again
    assert again[-1] == f"Status: Image is up to date for {name}:v1"
    assert engine_b.json("GET", f"/images/{name}:v1/json")["Id"] == info["Id"]


def test_second_push_uploads_only_the_changed_layer(
    engine: Engine, engine_b: Engine, registry: RegistryProcess
) -> None:
    name = f"127.0.0.1:{registry.port}/user/web"
    if not has_image(engine, f"{name}:v1"):
        commit(engine, f"{name}:v1", "hello")
        statuses(push(engine, name, "v1"))
    commit(engine, f"{name}:v2", "changed")
    before = layer_puts(registry)
    out = statuses(push(engine, name, "v2"))
    assert out.count("Pushed") == 1 and out.count("Layer already exists") == 1
    wait_for(lambda: layer_puts(registry) == before + 1)

    out = statuses(push(engine, name, "v1"))  # everything is there already
    assert "Pushed" not in out and out.count("Layer already exists") == 2
    assert layer_puts(registry) == before + 1

    if has_image(engine_b, f"{name}:v1"):  # B has the base from v1: only the new layer comes down
        out = statuses(pull(engine_b, name, "v2"))
        assert out.count("Already exists") == 1 and out.count("Pull complete") == 1
    else:
        statuses(pull(engine_b, name, "v2"))
    assert ok(engine_b.docker("run", "--rm", f"{name}:v2")) == "changed\n"


def test_search_finds_pushed_repository(engine: Engine, registry: RegistryProcess) -> None:
    name = f"127.0.0.1:{registry.port}/user/searchme"
    ok(engine.docker("tag", "busybox", f"{name}:latest"))
    statuses(push(engine, name, "latest"))
    found = engine.json("GET", f"/images/search?term=127.0.0.1:{registry.port}/searchme")
    assert {
        "name": "user/searchme",
        "description": "",
        "star_count": 0,
        "is_official": False,
        "is_automated": False,
    } in found
    status, body = engine.request("GET", "/images/search?term=searchme")  # the default index: down
    assert status == 503 and b"/v1/_ping" in body and b"connection refused" in body
    if Path(DOCKER).exists():
        out = ok(engine.docker("search", f"127.0.0.1:{registry.port}/searchme"))
        assert "NAME" in out and "user/searchme" in out


@needs_docker
def test_docker_run_pulls_a_missing_image(
    engine: Engine, engine_b: Engine, registry: RegistryProcess
) -> None:
    name = f"127.0.0.1:{registry.port}/user/auto"
    ok(engine.docker("tag", "busybox", f"{name}:v1"))
    statuses(push(engine, name, "v1"))
    result = engine_b.docker("run", "--rm", f"{name}:v1", "echo", "auto")
    assert ok(result) == "auto\n"
    assert b"Unable to find image" in result.stderr


# ---- the flow by the docker CLI and docker-py ------------------------------------------------


@pytest.fixture(scope="module")
def auth_registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        users = reg.root / "users"
        subprocess.run(
            [str(VENV_BIN / "wharf-registry"), "adduser", str(users), "alice"],
            input=b"pa55word\n",
            check=True,
            capture_output=True,
        )
        reg.start({"WHARF_REGISTRY_AUTH__USERS_FILE": str(users)})
        yield reg
    finally:
        reg.cleanup()


@needs_docker
def test_docker_cli_login_push_pull(
    engine: Engine,
    engine_b: Engine,
    auth_registry: RegistryProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = f"127.0.0.1:{auth_registry.port}"
    name = f"{server}/alice/cli"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "anonymous"))
    ok(engine.docker("tag", "busybox", f"{name}:1"))
    denied = engine.docker("push", f"{name}:1", input=b"")
    assert denied.returncode != 0 and b"unauthorized" in denied.stderr

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "alice"))
    wrong = engine.docker("login", "-u", "alice", "--password-stdin", server, input=b"nope\n")
    assert wrong.returncode != 0
    assert b"unauthorized: incorrect username or password" in wrong.stderr
    assert "Login Succeeded" in ok(
        engine.docker("login", "-u", "alice", "--password-stdin", server, input=b"pa55word\n")
    )
    out = ok(engine.docker("push", f"{name}:1"))
    assert f"The push refers to repository [{name}]" in out and "Pushed" in out
    out = ok(engine_b.docker("pull", f"{name}:1"))
    assert f"Status: Downloaded newer image for {name}:1" in out
    assert ok(engine_b.docker("run", "--rm", f"{name}:1", "echo", "pulled")) == "pulled\n"

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "anonymous"))
    denied = engine_b.docker("pull", f"{name}:1", input=b"")
    assert denied.returncode != 0 and b"unauthorized" in denied.stderr


@needs_docker
def test_docker_cli_pull_errors(engine_b: Engine, registry: RegistryProcess) -> None:
    missing = engine_b.docker("pull", f"127.0.0.1:{registry.port}/user/web:nope")
    assert missing.returncode != 0
    assert b"manifest for" in missing.stderr and b"not found" in missing.stderr
    down = engine_b.docker("pull", f"127.0.0.1:{free_port()}/user/web:v1")
    assert down.returncode != 0 and b"connection refused" in down.stderr
    hub = engine_b.docker("pull", "busybox:latest")  # the default index: down
    assert hub.returncode != 0 and b"/v1/_ping" in hub.stderr and b"connection refused" in hub.stderr


def test_docker_py_pull(engine: Engine, engine_b: Engine, registry: RegistryProcess) -> None:
    docker = pytest.importorskip("docker")
    name = f"127.0.0.1:{registry.port}/user/py"
    ok(engine.docker("tag", "busybox", f"{name}:v1"))
    statuses(push(engine, name, "v1"))
    client = docker.DockerClient(base_url=engine_b.host)
    try:
        image = client.images.pull(name, tag="v1")
        assert f"{name}:v1" in image.tags
        with pytest.raises(docker.errors.NotFound):
            client.images.pull(name, tag="nope")
    finally:
        client.close()


# ---- bad input --------------------------------------------------------------------------------


def test_pull_errors_leave_no_image(engine_b: Engine, registry: RegistryProcess) -> None:
    name = f"127.0.0.1:{registry.port}/user/web"
    status, body = engine_b.request("POST", f"/images/create?fromImage={name}&tag=nope")
    assert status == 404
    assert json.loads(body)["message"] == (
        f"manifest for {name}:nope not found: Tag nope not found in repository {name}"
    )
    assert not has_image(engine_b, f"{name}:nope")
    port = free_port()
    status, body = engine_b.request("POST", f"/images/create?fromImage=127.0.0.1:{port}/x/y&tag=v1")
    assert status == 503 and b"connection refused" in body
    status, body = engine_b.request("POST", "/images/create?fromImage=busybox&tag=latest")
    assert status == 503  # the default index (conftest.CLOSED_INDEX) is down
    assert re.fullmatch(
        r'Get "http://[^"]+/v1/_ping": dial tcp \S+: connect: connection refused', json.loads(body)["message"]
    )
    status, body = engine_b.request("POST", f"/images/{name}/push?tag=absent")
    assert status == 404 and b"An image does not exist locally with the tag" in body


class _HalfLayerRegistry(http.server.ThreadingHTTPServer):
    """A v1 registry of one image whose layer stops half way: then hangs, or closes."""

    def __init__(self, *, hang: bool) -> None:
        super().__init__(("127.0.0.1", 0), _HalfLayerHandler)
        self.daemon_threads = True
        self.hang = hang
        self.release = threading.Event()
        self.image_id = random_image_id()
        self.json = image_json(self.image_id)
        self.layer = make_layer({"big": bytes(range(256)) * 16384}, compress=False)  # 4 MiB

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _HalfLayerHandler(http.server.BaseHTTPRequestHandler):
    server: _HalfLayerRegistry

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        reg = self.server
        if self.path.endswith("/tags/v1"):
            self._send(json.dumps(reg.image_id).encode())
        elif self.path.endswith("/ancestry"):
            self._send(json.dumps([reg.image_id]).encode())
        elif self.path.endswith("/json"):
            self._send(reg.json, {"X-Docker-Size": str(len(reg.layer))})
        elif self.path.endswith("/layer"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(reg.layer)))
            self.end_headers()
            self.wfile.write(reg.layer[: len(reg.layer) // 2])
            self.wfile.flush()
            if reg.hang:
                reg.release.wait(30)
            self.close_connection = True
        else:
            self.send_error(404)


@pytest.fixture
def half_registry(request: pytest.FixtureRequest) -> Iterator[_HalfLayerRegistry]:
    server = _HalfLayerRegistry(hang=bool(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("half_registry", [False], indirect=True)
def test_pull_cut_off_by_the_registry_leaves_no_image(
    engine_b: Engine, half_registry: _HalfLayerRegistry
) -> None:
    name = f"{half_registry.domain}/user/half"
    messages = stream(engine_b, "POST", f"/images/create?fromImage={name}&tag=v1")
    assert "error" in messages[-1] and "errorDetail" in messages[-1]
    assert "Pull complete" not in [m.get("status") for m in messages]
    assert not has_image(engine_b, f"{name}:v1")
    wait_for(lambda: not [n for n in leftovers(engine_b) if n.startswith("pull-")])


@pytest.mark.parametrize("half_registry", [True], indirect=True)
def test_pull_abandoned_by_the_client_leaves_no_image(
    engine_b: Engine, half_registry: _HalfLayerRegistry
) -> None:
    name = f"{half_registry.domain}/user/gone"
    conn = UnixConnection(str(engine_b.socket))
    try:
        conn.request("POST", f"/images/create?fromImage={name}&tag=v1")
        response = conn.getresponse()
        assert response.status == 200
        while b"Downloading" not in response.readline():  # the layer is half way down
            pass
    finally:
        conn.close()
    wait_for(lambda: not [n for n in leftovers(engine_b) if n.startswith("pull-")])
    half_registry.release.set()
    assert not has_image(engine_b, f"{name}:v1")
    assert f"{name}:v1" not in json.dumps(engine_b.json("GET", "/images/json"))


def test_many_layers_push_and_pull(
    engine: Engine, engine_b: Engine, registry: RegistryProcess, tmp_path: Path
) -> None:
    """More layers than the pull runs at once and than the default thread pool has threads."""
    name = f"127.0.0.1:{registry.port}/user/layered"
    steps = "".join(f"RUN echo {i} > /layer{i}\n" for i in range(16))
    (tmp_path / "Dockerfile").write_text(f'FROM busybox\n{steps}CMD ["cat", "/layer15"]\n')
    ok(engine.docker("build", "-q", "-t", f"{name}:v1", str(tmp_path)))
    out = statuses(push(engine, name, "v1"))
    assert out.count("Pushed") >= 16 and out.count("Pushed") + out.count("Layer already exists") == 17
    assert [n for n in leftovers(engine) if n.startswith("push-")] == []  # the spooled bodies are gone
    pulled = statuses(pull(engine_b, name, "v1"))
    assert (
        pulled.count("Pull complete") >= 16
        and pulled.count("Pull complete") + pulled.count("Already exists") == 17
    )
    assert ok(engine_b.docker("run", "--rm", f"{name}:v1")) == "15\n"
    assert leftovers(engine_b) == []
