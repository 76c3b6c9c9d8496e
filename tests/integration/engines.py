"""Real engine processes for integration tests: each gets its own short root and socket.

Everything an engine started is removed at teardown, even when a test fails: containers are
killed through runc, overlay mounts are detached, and the root directory is deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import random
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BUSYBOX_TAR = REPO / ".cache" / "images" / "busybox.tar"
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"

sys.path.insert(0, str(REPO / "deploy" / "images" / "busybox"))
from seed import UnixConnection  # noqa: E402

__all__ = [
    "DOCKER",
    "REPO",
    "VENV_BIN",
    "Engine",
    "UnixConnection",
    "make_engine",
    "needs_docker",
    "wait_for",
]


@dataclass
class Engine:
    root: Path
    socket: Path
    pidfile: Path
    log: Path
    bridge: str = ""
    subnet: str = ""
    pool: str = ""  # where the engine's user networks get their subnets
    extra: tuple[str, ...] = ()  # more engine flags, e.g. ("--icc", "false")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "WHARF_HOST": self.host}

    start_timeout: float = 20  # seconds until /_ping answers

    def command(self) -> list[str]:
        """The engine's command line."""
        return [
            str(VENV_BIN / "wharf-engine"),
            "--data-root",
            str(self.root / "data"),
            "-H",
            self.host,
            "--pidfile",
            str(self.pidfile),
            "--bridge",
            self.bridge,
            "--subnet",
            self.subnet,
            *(["--default-address-pool", f"base={self.pool},size=26"] if self.pool else []),
            *self.extra,
        ]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited: {self.log.read_text()[-2000:]}")
            try:
                if self.request("GET", "/_ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"engine did not answer /_ping within {self.start_timeout:.0f} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def request(
        self, method: str, path: str, body: bytes | Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = UnixConnection(str(self.socket))
        try:
            if body is not None and not isinstance(body, bytes | bytearray) and not hasattr(body, "read"):
                body = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.request(method, path, body)
        assert status < 300, (status, data)
        return json.loads(data) if data else None

    def docker(
        self, *args: str, input: bytes | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [DOCKER, *args], env=self.env, input=input, capture_output=True, timeout=timeout
        )

    def wharf(
        self, *args: str, input: bytes | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(VENV_BIN / "wharf"), *args], env=self.env, input=input, capture_output=True, timeout=timeout
        )

    def cleanup(self) -> None:
        """Kill every container the engine made, detach its mounts, delete its root."""
        self.stop(signal.SIGKILL)
        runc_root = self.root / "data" / "runc"
        if runc_root.exists():
            for state in runc_root.iterdir():
                subprocess.run(
                    ["runc", "--root", str(runc_root), "kill", "--all", state.name, "9"], capture_output=True
                )
                subprocess.run(
                    ["runc", "--root", str(runc_root), "delete", "--force", state.name], capture_output=True
                )
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f]
        for target in sorted(mounts, reverse=True):
            if target.startswith(str(self.root)):
                subprocess.run(["umount", "-l", target], capture_output=True)
        for bridge in self.network_bridges():
            subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        subprocess.run(
            ["nft", "delete", "table", "ip", f"wharf_isolation_{self.bridge}"], capture_output=True
        )
        shutil.rmtree(self.root, ignore_errors=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def network_bridges(self) -> list[str]:
        """The bridges of the engine's user networks, as its network store records them."""
        found = []
        for path in (self.root / "data" / "networks").glob("*.json"):
            try:
                found.append(str(json.loads(path.read_text())["bridge"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found


def make_engine() -> Engine:
    """A root, socket, bridge and /24 of its own, so engines run side by side."""
    root = Path(tempfile.mkdtemp(prefix="wh", dir="/tmp"))  # short: shim sockets live under it
    bridge = "wht" + secrets.token_hex(4)
    subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
    pool = f"10.{random.randint(100, 199)}.{random.randint(0, 15) * 16}.0/20"  # 64 networks of /26
    return Engine(
        root=root,
        socket=root / "e.sock",
        pidfile=root / "engine.pid",
        log=root / "engine.log",
        bridge=bridge,
        subnet=subnet,
        pool=pool,
    )


def wait_for(predicate: Any, timeout: float = 10, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:.1f} s")


needs_docker = pytest.mark.skipif(not Path(DOCKER).exists(), reason="docker CLI not installed")


def pty_session(
    env: dict[str, str], argv: list[str], script: bytes = b"", *, rows: int = 33, cols: int = 111
) -> tuple[bytes, int]:
    """Run ``argv`` on a ``rows``x``cols`` pty, type ``script`` at the first ``# `` prompt.

    Returns (everything the terminal showed, exit code); the child is killed if it outlives 20 s.
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    output = b""
    sent = not script
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # EIO once the child has gone
                    break
                if not data:
                    break
                output += data
            if not sent and b"# " in output:
                os.write(fd, script)
                sent = True
    finally:  # reap the child, killing it if it has not exited within 5 s
        deadline = time.monotonic() + 5
        while (reaped := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if reaped[0] == 0:
            os.kill(pid, signal.SIGKILL)
            reaped = os.waitpid(pid, 0)
        os.close(fd)
    return output, os.waitstatus_to_exitcode(reaped[1])
