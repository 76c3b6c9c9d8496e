"""A web page must not drive the engine: requests as a browser sends them are refused on TCP.

The attack: a page the engine's user visits POSTs a form (``enctype=text/plain``, whose body can be
made to look like JSON) to ``http://127.0.0.1:PORT/containers/create`` asking for a privileged
container with ``/`` mounted; or a name the attacker owns is rebound to 127.0.0.1 (DNS rebinding),
so that the browser sends ``Host: evil.example`` and may read the answers. Each is refused and no
container is made; the docker CLI and docker-py on the same TCP listener keep working.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from engines import DOCKER, Engine, make_engine, needs_docker
from seed import seed

pytestmark = [pytest.mark.root]

EVIL_CONFIG = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Privileged": True, "Binds": ["/:/host"]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tcp_engine(busybox_tar: Path) -> Iterator[tuple[Engine, int]]:
    eng = make_engine()
    port = free_port()
    eng.extra = ("-H", f"tcp://127.0.0.1:{port}")
    try:
        eng.start()
        seed(str(eng.socket), busybox_tar)
        yield eng, port
    finally:
        eng.cleanup()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else {}
    finally:
        conn.close()


def containers(eng: Engine) -> list[object]:
    return list(eng.json("GET", "/containers/json?all=1"))


def test_text_plain_form_post_is_refused_and_creates_nothing(tcp_engine: tuple[Engine, int]) -> None:
    eng, port = tcp_engine
    # what <form method=post enctype=text/plain> sends: name=value with the JSON split across them
    body = json.dumps(EVIL_CONFIG).encode()
    status, answer = post(port, "/v1.44/containers/create", body, {"Content-Type": "text/plain"})
    assert status == 400
    assert answer["message"] == "unsupported Content-Type header (text/plain): must be 'application/json'"
    status, answer = post(port, "/containers/create", body, {})  # no Content-Type at all
    assert status == 400 and "malformed Content-Type header" in str(answer["message"])
    assert containers(eng) == []


def test_cross_origin_request_is_refused_and_creates_nothing(tcp_engine: tuple[Engine, int]) -> None:
    eng, port = tcp_engine
    headers = {"Content-Type": "application/json", "Origin": "http://evil.example"}
    status, answer = post(port, "/v1.44/containers/create", json.dumps(EVIL_CONFIG).encode(), headers)
    assert status == 403 and "cross-origin" in str(answer["message"])
    assert containers(eng) == []


def test_rebound_host_name_is_refused_and_creates_nothing(tcp_engine: tuple[Engine, int]) -> None:
    eng, port = tcp_engine
    headers = {"Content-Type": "application/json", "Host": f"evil.example:{port}"}
    status, answer = post(port, "/v1.44/containers/create", json.dumps(EVIL_CONFIG).encode(), headers)
    assert status == 403 and "evil.example" in str(answer["message"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # reads are refused too
    conn.request("GET", "/v1.44/containers/json", headers={"Host": "evil.example"})
    assert conn.getresponse().status == 403
    conn.close()
    assert containers(eng) == []


def test_real_clients_pass_on_tcp(tcp_engine: tuple[Engine, int]) -> None:
    eng, port = tcp_engine
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        headers = {"Content-Type": "application/json", "Host": host}
        status, answer = post(
            port, "/v1.44/containers/create?name=ok", json.dumps({"Image": "busybox"}).encode(), headers
        )
        assert status == 201, answer
        assert eng.request("DELETE", "/containers/ok")[0] == 204
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="auto")
    try:
        assert client.containers.run("busybox", ["echo", "py"], remove=True) == b"py\n"
        container = client.containers.create("busybox", ["sleep", "30"])  # JSON body, application/json
        container.start()  # no body
        assert container.exec_run(["echo", "x"]).output == b"x\n"  # exec create and start: JSON
        container.kill()
        assert container.wait()["StatusCode"] != 0
        container.remove(force=True)
    finally:
        client.close()


@needs_docker
def test_docker_cli_passes_on_tcp(tcp_engine: tuple[Engine, int]) -> None:
    eng, port = tcp_engine
    env = {**eng.env, "DOCKER_HOST": f"tcp://127.0.0.1:{port}"}
    run = subprocess.run(
        [DOCKER, "run", "--rm", "-i", "busybox", "cat"],
        env=env,
        input=b"piped\n",
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"piped\n"
    cid = (
        subprocess.run(
            [DOCKER, "run", "-d", "busybox", "sleep", "30"],
            env=env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    try:
        out = subprocess.run([DOCKER, "exec", cid, "echo", "in"], env=env, capture_output=True, timeout=60)
        assert out.stdout == b"in\n", out.stderr
    finally:
        subprocess.run([DOCKER, "rm", "-f", cid], env=env, capture_output=True, timeout=60)


def test_unix_socket_is_not_host_checked_but_json_is(tcp_engine: tuple[Engine, int]) -> None:
    eng, _ = tcp_engine
    status, _ = eng.request("GET", "/_ping", headers={"Host": "evil.example", "Origin": "http://x"})
    assert status == 200  # a browser cannot reach a unix socket; docker sends Host: api.moby.localhost
    status, body = eng.request(
        "POST", "/containers/create", json.dumps(EVIL_CONFIG).encode(), {"Content-Type": "text/plain"}
    )
    assert status == 400 and b"must be 'application/json'" in body
    assert containers(eng) == []


def test_refusal_reads_a_slow_body_first(tcp_engine: tuple[Engine, int]) -> None:
    """The refusal waits for the body, so a client still sending it reads the 400, not a reset."""
    eng, _ = tcp_engine
    body = b" " * 100_000 + json.dumps(EVIL_CONFIG).encode()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(eng.socket))
        head = (
            "POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode())
        time.sleep(0.3)  # the engine has the headers long before the body
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b"must be 'application/json'" in answer
    assert containers(eng) == []
