"""What ``runc delete`` does for a container whose init has exited, without starting runc.

runc's ``destroy`` of a stopped container removes its cgroups (each controller's directory,
deepest first, retrying while the kernel still holds them) and its state directory, then runs
poststop hooks. With its own pid namespace, no process outlives init, so nothing needs killing.
Anything else (init alive, hooks, a shared pid namespace, a cgroup that stays busy) is left to
``runc delete`` itself: ``delete_stopped`` returns False and keeps the state directory, so runc
finds the container (cgroups already gone are no matter to it).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

CGROUP_ROOT = Path("/sys/fs/cgroup")
RETRIES, FIRST_DELAY = 5, 0.01  # as runc's cgroups.RemovePath: 10 ms, doubling


def delete_stopped(state_dir: Path) -> bool:
    """Remove a stopped container's cgroups and runc state; False if runc must do it (blocking)."""
    try:
        state: dict[str, Any] = json.loads((state_dir / "state.json").read_bytes())
    except (OSError, ValueError):
        return False
    config = state.get("config") or {}
    if config.get("hooks") or not _own_pid_namespace(config) or _init_alive(state):
        return False
    paths = [Path(p) for p in (state.get("cgroup_paths") or {}).values() if p]
    if not all(_is_cgroup(p) for p in paths):
        return False
    for path in paths:
        if not _remove_cgroup(path):
            return False
    shutil.rmtree(state_dir, ignore_errors=True)
    return not state_dir.exists()


def _own_pid_namespace(config: dict[str, Any]) -> bool:
    return any(ns.get("type") == "NEWPID" and not ns.get("path") for ns in config.get("namespaces") or [])


def _init_alive(state: dict[str, Any]) -> bool:
    """True while runc would call init running: the same process (start time) and not a zombie."""
    pid = int(state.get("init_process_pid") or 0)
    if pid <= 0:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    status, start = fields[0], int(fields[19])
    return start == int(state.get("init_process_start") or 0) and status not in ("Z", "X")


def _is_cgroup(path: Path) -> bool:
    """A path under the cgroup mounts, no ``..``: state.json is ours, but it is read as data."""
    return path.is_absolute() and CGROUP_ROOT in path.parents and ".." not in path.parts


def _remove_cgroup(path: Path) -> bool:
    delay = FIRST_DELAY
    for attempt in range(RETRIES):
        if attempt:
            time.sleep(delay)
            delay *= 2
        try:
            _rmdir_tree(path)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                return False
    return False


def _rmdir_tree(path: Path) -> None:
    """A cgroup and the cgroups below it, deepest first (their files go with the directory)."""
    try:
        children = [entry.path for entry in os.scandir(path) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return
    for child in children:
        _rmdir_tree(Path(child))
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
