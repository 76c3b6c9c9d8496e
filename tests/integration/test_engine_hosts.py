"""The engine listens on every ``-H`` (unix sockets, loopback TCP) and writes its pid file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from engines import VENV_BIN, UnixConnection, make_engine, wait_for

pytestmark = [pytest.mark.root]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_engine_serves_every_host_flag() -> None:
    eng = make_engine()
    second = eng.root / "second.sock"
    port = free_port()
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "wharf-engine"),
            "--data-root",
            str(eng.root / "data"),
            "-H",
            eng.host,
            "-H",
            f"unix://{second}",
            "-H",
            f"tcp://127.0.0.1:{port}",
            "--pidfile",
            str(eng.pidfile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: second.exists() and eng.pidfile.exists(), timeout=20)
        assert int(eng.pidfile.read_text()) == proc.pid
        for path in (eng.socket, second):
            conn = UnixConnection(str(path))
            conn.request("GET", "/_ping")
            assert conn.getresponse().read() == b"OK"
            conn.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1.44/version", timeout=5) as resp:
                    assert json.loads(resp.read())["ApiVersion"] >= "1.44"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        proc.terminate()
        assert proc.wait(20) == 0
        assert not eng.pidfile.exists() and not second.exists() and not eng.socket.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        eng.cleanup()


def test_plain_tcp_off_loopback_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "wharf-engine"), "--data-root", str(tmp_path / "d"), "-H", "tcp://0.0.0.0:2375"],
        capture_output=True,
        timeout=30,
        env={**os.environ},
    )
    assert result.returncode != 0
    assert b"refusing plain TCP" in result.stderr
