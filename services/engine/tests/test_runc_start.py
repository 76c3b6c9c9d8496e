"""``Runc.start`` reads runc's exec fifo itself: real fifos, real processes standing in for runc init."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wharf_engine.runtime.errors import RuntimeFailure
from wharf_engine.runtime.runc import EXEC_FIFO, Runc

# what runc init does: open the fifo for writing (blocks until a reader), write "0", exec
INIT = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CLOEXEC)
os.write(fd, b"0")
os.execv("/bin/sh", ["sh", "-c", "echo ran > " + sys.argv[2]])
"""


def created(root: Path, cid: str) -> Path:
    state = root / cid
    state.mkdir(parents=True)
    fifo = state / EXEC_FIFO
    os.mkfifo(fifo)
    return fifo


def test_start_lets_init_exec_and_marks_it_running(tmp_path: Path) -> None:
    fifo = created(tmp_path, "c1")
    marker = tmp_path / "marker"
    init = subprocess.Popen([sys.executable, "-c", INIT, str(fifo), str(marker)])
    try:
        asyncio.run(Runc("/nonexistent/runc", tmp_path).start("c1", init.pid))
        assert init.wait(10) == 0
    finally:
        init.kill()
        init.wait()
    assert marker.read_text() == "ran\n"  # the process ran only once it was started
    assert not fifo.exists()  # runc reads a container without its fifo as running


def test_start_after_init_died_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = created(tmp_path, "c2")
    dead = subprocess.Popen(["true"])
    pid = dead.pid
    # keep it a zombie while start looks: the pid must not be reused under the test
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    try:
        with pytest.raises(RuntimeFailure, match="stopped"):
            asyncio.run(asyncio.wait_for(Runc("/nonexistent/runc", tmp_path).start("c2", pid), 10))
    finally:
        dead.wait()
    assert fifo.exists()  # nothing was marked running


def test_start_without_a_fifo_asks_runc(tmp_path: Path) -> None:
    """No fifo: not created by runc, or already started; runc itself gives the reason."""
    with pytest.raises(RuntimeFailure, match="does not exist"):
        asyncio.run(Runc("runc", tmp_path).start("c3"))
