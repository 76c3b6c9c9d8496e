"""Exec start framing, detach keys on attach and exec sockets, and an exec's link environment."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import DOCKER, Engine, needs_docker

pytestmark = [pytest.mark.root]


def hijack(engine: Engine, path: str, body: dict[str, object] | None = None) -> tuple[socket.socket, bytes]:
    """POST ``path`` with ``Upgrade: tcp``; returns the raw socket and the response head."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(engine.socket))
    data = json.dumps(body).encode() if body is not None else b""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    return sock, head


def read_until_closed(sock: socket.socket, timeout: float = 10) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"the engine did not close the stream: {out!r}")


def read_until(sock: socket.socket, needle: bytes, timeout: float = 10) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out:
        assert time.monotonic() < deadline, out
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, out
        out += chunk
    return out


def type_keys(sock: socket.socket, keys: bytes) -> None:
    """One keystroke per write, as a terminal sends them."""
    for key in keys:
        sock.sendall(bytes([key]))
        time.sleep(0.1)


def running(engine: Engine, cid: str) -> bool:
    return bool(engine.json("GET", f"/containers/{cid}/json")["State"]["Running"])


@pytest.fixture
def cat(engine: Engine) -> Iterator[str]:
    """A container running ``cat`` with an open stdin (``docker run -di``)."""
    cid = engine.json(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "AttachStdin": True},
    )["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    yield str(cid)
    engine.request("DELETE", f"/containers/{cid}?force=1")


def exec_create(engine: Engine, cid: str, **config: object) -> str:
    body = {"AttachStdout": True, "AttachStderr": True, **config}
    return str(engine.json("POST", f"/containers/{cid}/exec", body)["Id"])


def test_exec_start_tty_false_frames_a_tty_exec(engine: Engine, cat: str) -> None:
    exec_id = exec_create(engine, cat, Cmd=["echo", "hi"], Tty=True)
    sock, head = hijack(engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})
    try:
        out = read_until_closed(sock)
    finally:
        sock.close()
    assert b"multiplexed-stream" in head
    assert out == struct.pack(">BxxxI", 1, 4) + b"hi\r\n"


def test_exec_start_tty_true_is_raw_for_a_plain_exec(engine: Engine, cat: str) -> None:
    exec_id = exec_create(engine, cat, Cmd=["sh", "-c", "echo out; sleep 0.2; echo err >&2"], Tty=False)
    sock, head = hijack(engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": True})
    try:
        out = read_until_closed(sock)
    finally:
        sock.close()
    assert b"raw-stream" in head
    assert out == b"out\nerr\n"


def test_docker_py_exec_start_tty_decides_the_framing(engine: Engine, cat: str) -> None:
    import docker

    api = docker.APIClient(base_url=engine.host, version="auto")
    try:
        plain = api.exec_create(cat, ["echo", "plain"], tty=False)["Id"]
        assert api.exec_start(plain, tty=True) == b"plain\n"
    finally:
        api.close()


def test_attach_default_detach_keys_leave_the_container_running(engine: Engine, cat: str) -> None:
    sock, _ = hijack(engine, f"/containers/{cat}/attach?stream=1&stdin=1&stdout=1")
    try:
        sock.sendall(b"hello\n")
        assert b"hello\n" in read_until(sock, b"hello\n")
        type_keys(sock, b"\x10\x11")
        read_until_closed(sock)
    finally:
        sock.close()
    time.sleep(0.3)
    assert running(engine, cat)
    sock, _ = hijack(engine, f"/containers/{cat}/attach?stream=1&stdin=1&stdout=1")
    try:  # stdin is still open: a new attach still talks to cat
        sock.sendall(b"again\n")
        assert b"again\n" in read_until(sock, b"again\n")
    finally:
        sock.close()


def test_attach_custom_detach_keys_and_bulk_input(engine: Engine, cat: str) -> None:
    sock, _ = hijack(engine, f"/containers/{cat}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x")
    try:
        sock.sendall(b"\x10\x11 and \x18x in bulk data\n")  # not keystrokes: passed on to cat
        read_until(sock, b"in bulk data\n")
        type_keys(sock, b"\x10\x11")  # the default keys mean nothing here
        sock.sendall(b"still\n")
        read_until(sock, b"still\n")
        type_keys(sock, b"\x18x")
        read_until_closed(sock)
    finally:
        sock.close()
    assert running(engine, cat)


def test_bad_detach_keys_are_refused(engine: Engine, cat: str) -> None:
    status, body = engine.request("POST", f"/containers/{cat}/attach?stream=1&stdin=1&detachKeys=ctrl-1")
    assert status == 400 and b"Invalid detach keys" in body
    status, body = engine.request(
        "POST", f"/containers/{cat}/exec", {"Cmd": ["true"], "DetachKeys": "ctrl-foo"}
    )
    assert status == 400 and b"Invalid detach keys" in body


def test_exec_detach_keys_from_create_and_start_query(engine: Engine, cat: str) -> None:
    exec_id = exec_create(engine, cat, Cmd=["cat"], AttachStdin=True, DetachKeys="ctrl-e")
    sock, _ = hijack(engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})
    try:
        sock.sendall(b"ping\n")
        read_until(sock, b"ping\n")
        type_keys(sock, b"\x05")
        read_until_closed(sock)
    finally:
        sock.close()
    assert engine.json("GET", f"/exec/{exec_id}/json")["Running"] is True  # the exec'd cat runs on
    exec_id = exec_create(engine, cat, Cmd=["cat"], AttachStdin=True)
    sock, _ = hijack(engine, f"/exec/{exec_id}/start?detachKeys=ctrl-a,b", {"Detach": False, "Tty": False})
    try:
        type_keys(sock, b"\x01b")
        read_until_closed(sock)
    finally:
        sock.close()
    assert engine.json("GET", f"/exec/{exec_id}/json")["Running"] is True


def test_exec_gets_the_link_environment(engine: Engine) -> None:
    db = engine.json(
        "POST",
        "/containers/create?name=linkdb",
        {"Image": "busybox", "Cmd": ["sleep", "60"], "Env": ["SECRET=s3"], "ExposedPorts": {"5432/tcp": {}}},
    )["Id"]
    web = engine.json(
        "POST",
        "/containers/create?name=linkweb",
        {"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"Links": ["linkdb:db"]}},
    )["Id"]
    try:
        engine.request("POST", f"/containers/{db}/start")
        assert engine.request("POST", f"/containers/{web}/start")[0] == 204
        result = engine.docker("exec", "linkweb", "env")
        env = set(result.stdout.decode().split())
        assert {"DB_NAME=/linkweb/db", "DB_ENV_SECRET=s3", "DB_PORT_5432_TCP_PORT=5432"} <= env, env
        assert any(e.startswith("DB_PORT=tcp://") for e in env)
        assert any(e.startswith("HOSTNAME=") for e in env) and "TERM=xterm" not in env
        assert "HOME=/root" in env  # runc's, for the exec's user
    finally:
        engine.request("DELETE", f"/containers/{web}?force=1")
        engine.request("DELETE", f"/containers/{db}?force=1")


def pty_keys(env: dict[str, str], argv: list[str], steps: list[tuple[bytes, bytes]]) -> tuple[bytes, int]:
    """Run ``argv`` on a pty; for each (wait for, keys) step wait for the text, then type the keys
    one per write. Returns (terminal output, exit code); the child is killed after 20 s."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    output, step = b"", 0
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                output += data
            if step < len(steps) and steps[step][0] in output:
                time.sleep(0.2)
                for key in steps[step][1]:
                    os.write(fd, bytes([key]))
                    time.sleep(0.1)
                step += 1
    finally:
        deadline = time.monotonic() + 5
        while (reaped := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if reaped[0] == 0:
            os.kill(pid, signal.SIGKILL)
            reaped = os.waitpid(pid, 0)
        os.close(fd)
    return output, os.waitstatus_to_exitcode(reaped[1])


@needs_docker
def test_docker_run_it_detaches_and_the_shell_runs_on(engine: Engine) -> None:
    try:
        output, code = pty_keys(
            engine.env,
            [DOCKER, "run", "-it", "--name", "detachme", "busybox", "sh"],
            [(b"# ", b"echo mark$((40+2))\r"), (b"mark42", b"\x10\x11")],
        )
        assert (code, running(engine, "detachme")) == (0, True), (output, code)  # docker run says nothing
        # the same shell is still there: attach again, use it, detach again
        output, code = pty_keys(
            engine.env,
            [DOCKER, "attach", "detachme"],
            [(b"", b"\r"), (b"# ", b"echo back$((1+1))\r"), (b"back2", b"\x10\x11")],
        )
        assert b"back2" in output and b"read escape sequence" in output, output
        time.sleep(0.3)
        assert running(engine, "detachme")
    finally:
        engine.request("DELETE", "/containers/detachme?force=1")


@needs_docker
def test_docker_exec_it_detaches_with_config_file_keys(engine: Engine, cat: str, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"detachKeys": "ctrl-x,x"}))
    env = {**engine.env, "DOCKER_CONFIG": str(tmp_path)}
    output, _ = pty_keys(
        env,
        [DOCKER, "exec", "-it", cat, "sh"],
        [(b"# ", b"echo pid$((0))$$\r"), (b"pid0", b"\x18x")],
    )
    assert b"read escape sequence" in output, output
    found = re.search(rb"pid0(\d+)", output)
    assert found, output
    pid = found.group(1).decode()
    assert engine.docker("exec", cat, "kill", "-0", pid).returncode == 0  # the exec'd shell runs on
    assert running(engine, cat)


def test_exec_gets_the_container_ulimits(engine: Engine) -> None:
    cid = engine.json(
        "POST",
        "/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["sleep", "60"],
            "HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 321, "Hard": 654}]},
        },
    )["Id"]
    try:
        assert engine.request("POST", f"/containers/{cid}/start")[0] == 204
        result = engine.docker("exec", cid, "sh", "-c", "ulimit -n; ulimit -Hn")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [b"321", b"654"]
    finally:
        engine.request("DELETE", f"/containers/{cid}?force=1")
