"""``delete_stopped`` does runc's delete for an exited container, and leaves every other case to runc."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_engine.runtime.cleanup import delete_stopped

CONTROLLERS = ("pids", "memory", "freezer")


def start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


@pytest.fixture
def cgroups() -> Iterator[dict[str, str]]:
    """Real cgroup directories (one per controller, each with a child), removed after the test."""
    if os.geteuid() != 0 or not Path("/sys/fs/cgroup/pids").is_dir():
        pytest.skip("needs root and cgroup v1 controllers")
    name = f"wharf-test-{secrets.token_hex(4)}"
    paths = {c: f"/sys/fs/cgroup/{c}/{name}" for c in CONTROLLERS}
    for path in paths.values():
        Path(path, "nested").mkdir(parents=True)
    yield paths
    for path in paths.values():
        for p in (Path(path, "nested"), Path(path)):
            if p.exists():
                p.rmdir()


def runc_state(tmp_path: Path, pid: int, cgroup_paths: dict[str, str], **config: object) -> Path:
    state_dir = tmp_path / "runc" / "c1"
    state_dir.mkdir(parents=True)
    namespaces = config.pop("namespaces", [{"type": "NEWPID", "path": ""}, {"type": "NEWNET", "path": ""}])
    state = {
        "id": "c1",
        "init_process_pid": pid,
        "init_process_start": start_time(pid) if Path(f"/proc/{pid}").exists() else 1,
        "cgroup_paths": cgroup_paths,
        "config": {"namespaces": namespaces, **config},
    }
    (state_dir / "state.json").write_text(json.dumps(state))
    return state_dir


def exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_an_exited_container_loses_its_cgroups_and_state(tmp_path: Path, cgroups: dict[str, str]) -> None:
    state_dir = runc_state(tmp_path, exited_pid(), cgroups)
    assert delete_stopped(state_dir)
    assert not state_dir.exists()
    assert [p for p in cgroups.values() if Path(p).exists()] == []


def test_a_live_init_is_left_to_runc(tmp_path: Path, cgroups: dict[str, str]) -> None:
    with subprocess.Popen(["sleep", "30"]) as init:
        try:
            state_dir = runc_state(tmp_path, init.pid, cgroups)
            assert not delete_stopped(state_dir)
        finally:
            init.kill()
    assert (state_dir / "state.json").exists()
    assert all(Path(p).exists() for p in cgroups.values())


def test_a_busy_cgroup_is_left_to_runc(tmp_path: Path, cgroups: dict[str, str]) -> None:
    with subprocess.Popen(["sleep", "30"]) as other:
        try:
            Path(cgroups["pids"], "nested", "cgroup.procs").write_text(str(other.pid))
            state_dir = runc_state(tmp_path, exited_pid(), cgroups)
            assert not delete_stopped(state_dir)  # ~300 ms of runc's retries, then runc's turn
        finally:
            other.kill()
            other.wait()
    assert (state_dir / "state.json").exists()


@pytest.mark.parametrize(
    "config",
    [
        {"hooks": {"poststop": [{"path": "/bin/true"}]}},  # runc runs poststop hooks
        {"namespaces": [{"type": "NEWNET", "path": ""}]},  # no pid namespace: processes may outlive init
        {"namespaces": [{"type": "NEWPID", "path": "/proc/1/ns/pid"}]},  # a shared one: likewise
    ],
)
def test_what_runc_does_more_is_left_to_runc(tmp_path: Path, config: dict[str, object]) -> None:
    state_dir = runc_state(tmp_path, exited_pid(), {}, **config)
    assert not delete_stopped(state_dir)
    assert (state_dir / "state.json").exists()


@pytest.mark.parametrize("path", ["/tmp/elsewhere", "/sys/fs/cgroup/pids/../../../tmp/x", "relative/x"])
def test_cgroup_paths_outside_the_cgroup_mounts_are_refused(tmp_path: Path, path: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    state_dir = runc_state(tmp_path, exited_pid(), {"pids": path})
    assert not delete_stopped(state_dir)
    assert victim.exists() and (state_dir / "state.json").exists()


def test_a_missing_or_broken_state_is_left_to_runc(tmp_path: Path) -> None:
    assert not delete_stopped(tmp_path / "nothing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "state.json").write_text("{not json")
    assert not delete_stopped(broken)
    assert broken.exists()
