"""The shim server forks every container's shim; it dies with its engine and is replaced if it dies alone."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from engines import Engine, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]


def shim_servers(engine_pid: int) -> list[int]:
    """Pids of shim servers (``wharf-shim-srv``) whose parent is ``engine_pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if comm == "wharf-shim-srv" and ppid == engine_pid:
            found.append(int(proc.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def run(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", "busybox", *args],
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_containers_start_after_the_shim_server_was_killed(fresh_engine: Engine) -> None:
    assert fresh_engine.proc is not None
    engine_pid = fresh_engine.proc.pid
    assert run(fresh_engine, "echo", "one").stdout == "one\n"
    [server] = wait_for(lambda: shim_servers(engine_pid))
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not alive(server))
    for word in ("two", "three"):  # the spare forked before the kill serves one; the next needs a new server
        done = run(fresh_engine, "echo", word)
        assert (done.returncode, done.stdout) == (0, f"{word}\n"), done.stderr
    assert [pid for pid in shim_servers(engine_pid) if pid != server]


def test_the_shim_server_dies_with_its_engine_but_containers_live_on(fresh_engine: Engine) -> None:
    assert fresh_engine.proc is not None
    engine_pid = fresh_engine.proc.pid
    cid = fresh_engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "60"]})["Id"]
    assert fresh_engine.request("POST", f"/containers/{cid}/start")[0] == 204
    pid = fresh_engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    [server] = wait_for(lambda: shim_servers(engine_pid))

    fresh_engine.stop(signal.SIGKILL)
    wait_for(lambda: not alive(server))  # end of file on its socket ended it
    assert alive(pid)

    fresh_engine.start()
    assert fresh_engine.json("GET", f"/containers/{cid}/json")["State"]["Running"]
    assert fresh_engine.request("POST", f"/containers/{cid}/kill")[0] == 204


def test_an_exited_container_leaves_no_cgroup_or_runc_state(fresh_engine: Engine) -> None:
    """The engine deletes an exited container itself (``runtime/cleanup.py``), as runc would."""
    cid = fresh_engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "0.2"]})["Id"]
    assert fresh_engine.request("POST", f"/containers/{cid}/start")[0] == 204
    cgroups = [Path(f"/sys/fs/cgroup/{c}/wharf/{cid}") for c in ("pids", "memory", "cpu", "freezer")]
    runc_state = fresh_engine.root / "data" / "runc" / cid
    assert all(p.is_dir() for p in [*cgroups, runc_state])
    state = wait_for(
        lambda: (
            (s := fresh_engine.json("GET", f"/containers/{cid}/json")["State"])["Status"] == "exited" and s
        )
    )
    assert state["ExitCode"] == 0
    assert [p for p in [*cgroups, runc_state] if p.exists()] == []
    assert fresh_engine.request("POST", f"/containers/{cid}/start")[0] == 204  # and it starts again
    wait_for(lambda: fresh_engine.json("GET", f"/containers/{cid}/json")["State"]["Status"] == "exited")
