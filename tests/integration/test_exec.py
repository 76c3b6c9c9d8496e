"""exec into running containers: API, docker CLI (incl. -it in a pty) and docker-py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from engines import DOCKER, Engine, needs_docker, pty_session

pytestmark = [pytest.mark.root]


@pytest.fixture
def running(engine: Engine) -> Iterator[str]:
    cid = engine.json(
        "POST", "/containers/create?name=exectarget", {"Image": "busybox", "Cmd": ["sleep", "300"]}
    )
    engine.request("POST", f"/containers/{cid['Id']}/start")
    yield str(cid["Id"])
    engine.request("DELETE", f"/containers/{cid['Id']}?force=1")


def test_exec_detached_and_inspect(engine: Engine, running: str) -> None:
    exec_id = engine.json(
        "POST", f"/containers/{running}/exec", {"Cmd": ["sh", "-c", "echo bg > /tmp/bg; exit 6"]}
    )["Id"]
    before = engine.json("GET", f"/exec/{exec_id}/json")
    assert before["Running"] is False and before["ExitCode"] is None and before["ContainerID"] == running
    status, _ = engine.request("POST", f"/exec/{exec_id}/start", {"Detach": True})
    assert status == 200
    deadline = time.monotonic() + 10
    while engine.json("GET", f"/exec/{exec_id}/json")["ExitCode"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.json("GET", f"/exec/{exec_id}/json")["ExitCode"] == 6
    status, body = engine.request("POST", f"/exec/{exec_id}/start", {"Detach": True})
    assert status == 409 and b"already been started" in body


def test_exec_errors(engine: Engine, running: str) -> None:
    assert engine.request("GET", "/exec/nope/json")[0] == 404
    assert engine.request("POST", "/exec/nope/start", {"Detach": True})[0] == 404
    assert engine.request("POST", f"/containers/{running}/exec", {"Cmd": []})[0] == 400
    stopped = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    status, body = engine.request("POST", f"/containers/{stopped}/exec", {"Cmd": ["true"]})
    assert status == 409 and b"is not running" in body
    engine.request("DELETE", f"/containers/{stopped}")


@needs_docker
def test_docker_exec_output_exit_codes_stdin_user_workdir(engine: Engine, running: str) -> None:
    result = engine.docker("exec", "exectarget", "echo", "hello from exec")
    assert result.returncode == 0 and result.stdout == b"hello from exec\n"
    assert engine.docker("exec", "exectarget", "sh", "-c", "exit 3").returncode == 3
    assert (
        engine.docker("exec", "-i", "exectarget", "tr", "a-z", "A-Z", input=b"piped\n").stdout == b"PIPED\n"
    )
    result = engine.docker(
        "exec",
        "-u",
        "nobody",
        "-w",
        "/tmp",
        "-e",
        "FOO=bar",
        "exectarget",
        "sh",
        "-c",
        "id -u; pwd; echo $FOO",
    )
    assert result.stdout == b"65534\n/tmp\nbar\n"
    result = engine.docker("exec", "exectarget", "no-such-binary")
    assert result.returncode == 127 and b"executable file not found" in result.stdout + result.stderr
    assert engine.docker("exec", "-d", "exectarget", "sh", "-c", "echo d > /tmp/d").returncode == 0
    time.sleep(0.3)
    assert engine.docker("exec", "exectarget", "cat", "/tmp/d").stdout == b"d\n"


@needs_docker
def test_docker_exec_it_in_a_pty(engine: Engine, running: str) -> None:
    output, code = pty_session(engine.env, [DOCKER, "exec", "-it", "exectarget", "sh"], b"tty; exit 9\r")
    assert b"/dev/pts/" in output
    assert code == 9


def test_docker_py_exec_run(engine: Engine, running: str) -> None:
    import docker

    client = docker.DockerClient(base_url=engine.host, version="auto")
    try:
        container = client.containers.get("exectarget")
        code, out = container.exec_run(["sh", "-c", "echo py; exit 2"])
        assert (code, out) == (2, b"py\n")
        code, (stdout, stderr) = container.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
        assert (code, stdout, stderr) == (0, b"o\n", b"e\n")
    finally:
        client.close()


@needs_docker
def test_docker_exec_keeps_the_containers_capabilities(engine: Engine) -> None:
    """`docker exec` runs with the container's --cap-drop/--cap-add (Docker's exec takes the container's
    process spec); `docker exec --privileged` with every capability."""

    def cap_eff(*exec_flags: str) -> int:
        out = engine.docker("exec", *exec_flags, "capx", "grep", "CapEff", "/proc/self/status").stdout
        return int(out.split()[1], 16)

    started = engine.docker(
        "run",
        "-d",
        "--name",
        "capx",
        "--cap-drop",
        "NET_RAW",
        "--cap-add",
        "SYS_PTRACE",
        "busybox",
        "sleep",
        "300",
    )
    assert started.returncode == 0, started.stderr
    try:
        init = engine.docker("exec", "capx", "grep", "CapEff", "/proc/1/status").stdout
        container_caps = int(init.split()[1], 16)
        net_raw, sys_ptrace, sys_admin = 1 << 13, 1 << 19, 1 << 21
        assert not container_caps & net_raw and container_caps & sys_ptrace
        assert cap_eff() == container_caps
        privileged = cap_eff("--privileged")
        assert privileged & net_raw and privileged & sys_admin
    finally:
        engine.docker("rm", "-f", "capx")
