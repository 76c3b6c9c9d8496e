"""ContainerExecCreate, ContainerExecStart, ContainerExecInspect and ContainerExecResize."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import Conflict, InvalidArgument, NotFound

from wharf_engine.containers.container import Container, Stdio
from wharf_engine.containers.detach import parse_detach_keys
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.containers.users import resolve_user
from wharf_engine.fsutil import write_atomic
from wharf_engine.runtime.errors import StartFailure
from wharf_engine.runtime.monitor import ShimPaths, read_exit_file
from wharf_engine.runtime.security import process_privileges, rlimits
from wharf_engine.runtime.spec import host_rlimits

from .attach import RESIZE, shim_frame
from .rootfs import rootfs

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


class NoSuchExec(NotFound):
    def __init__(self, exec_id: str) -> None:
        super().__init__(f"No such exec instance: {exec_id}")


@dataclass(slots=True)
class Exec:
    id: str
    container_id: str
    cmd: list[str]
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool
    user: str
    workdir: str
    env: list[str]
    privileged: bool
    detach_keys: str = ""
    console_size: tuple[int, int] | None = None
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_api(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": {
                "tty": self.tty,
                "entrypoint": self.cmd[0],
                "arguments": self.cmd[1:],
                "privileged": self.privileged,
                "user": self.user,
            },
            "OpenStdin": self.stdin,
            "OpenStderr": self.stderr,
            "OpenStdout": self.stdout,
            "CanRemove": False,
            "ContainerID": self.container_id,
            "DetachKeys": self.detach_keys,
            "Pid": self.pid,
        }


def exec_create(daemon: Daemon, ref: str, config: dict[str, Any]) -> str:
    container = daemon.containers.get(ref)
    if container.state.status != "running":
        if container.state.status == "paused":
            raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
        raise ContainerNotRunning(container.id)
    cmd = config.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd or not all(isinstance(c, str) for c in cmd):
        raise InvalidArgument("No exec command specified")
    detach_keys = str(config.get("DetachKeys") or "")
    parse_detach_keys(detach_keys)  # a bad sequence is refused now, not at start
    exec_id = secrets.token_hex(32)
    daemon.execs[exec_id] = Exec(
        id=exec_id,
        container_id=container.id,
        cmd=list(cmd),
        tty=bool(config.get("Tty")),
        stdin=bool(config.get("AttachStdin")),
        stdout=bool(config.get("AttachStdout", True)),
        stderr=bool(config.get("AttachStderr", True)),
        user=str(config.get("User") or container.config.get("User") or ""),
        workdir=str(config.get("WorkingDir") or container.config.get("WorkingDir") or "/"),
        env=[str(e) for e in config.get("Env") or []],
        privileged=bool(config.get("Privileged")),
        detach_keys=detach_keys,
        console_size=_size(config.get("ConsoleSize")),
    )
    return exec_id


def _size(value: Any) -> tuple[int, int] | None:
    """``ConsoleSize`` [height, width], as the exec create and start bodies carry it (API 1.42+)."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    return None


def exec_get(daemon: Daemon, exec_id: str) -> Exec:
    found = daemon.execs.get(exec_id)
    if found is None:
        raise NoSuchExec(exec_id)
    return found


def _paths(daemon: Daemon, container: Container, item: Exec) -> ShimPaths:
    bundle = container.dir / "bundle"
    return ShimPaths(
        bundle=bundle,
        log=bundle / f"exec-{item.id}.log",  # exec output is not the container's log, as Docker
        exit_file=bundle / f"exec-{item.id}.exit.json",
        socket=daemon.run_dir / f"{item.id[:24]}.sock",
        run_dir=daemon.run_dir,
        prefix=f"exec-{item.id}.",
    )


def _container_env(container: Container) -> list[str]:
    """The environment the container's process got (its ``--link`` variables and HOSTNAME included),
    as Docker gives an exec; HOME and TERM only if the container set them (runc sets the exec user's
    HOME, and TERM follows the exec's own Tty)."""
    own = [e for e in container.config.get("Env") or [] if "=" in e]
    try:
        spec = json.loads((container.dir / "bundle" / "config.json").read_bytes())
        env = [str(e) for e in spec["process"]["env"] if "=" in str(e)]
    except (OSError, ValueError, KeyError, TypeError):
        return own
    for key in ("HOME=", "TERM="):
        if not any(e.startswith(key) for e in own):
            env = [e for e in env if not e.startswith(key)]
    return env


def _process(container: Container, item: Exec) -> dict[str, Any]:
    user = resolve_user(rootfs(container), item.user)
    env = _container_env(container)
    overrides = {e.split("=", 1)[0] for e in item.env}
    env = [e for e in env if e.split("=", 1)[0] not in overrides] + [e for e in item.env if "=" in e]
    if item.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    return {
        "terminal": item.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": item.cmd,
        "env": env,
        "cwd": item.workdir or "/",
        "rlimits": rlimits(container.host_config, host_rlimits()),  # the container's Ulimits, as Docker
        **process_privileges(container.host_config, privileged=item.privileged),
    }


def exec_check(daemon: Daemon, exec_id: str) -> Exec:
    """The exec, if it can start now: not started before, its container running."""
    item = exec_get(daemon, exec_id)
    if item.running or item.exit_code is not None:
        raise Conflict(f"exec {exec_id} has already been started")
    container = daemon.containers.get(item.container_id)
    if container.state.status != "running":
        raise ContainerNotRunning(container.id)
    return item


async def exec_wait(daemon: Daemon, exec_id: str, timeout: float = 5) -> None:
    """Until the exec's exit is recorded (its output ends just before), bounded."""
    try:
        await asyncio.wait_for(exec_get(daemon, exec_id).done.wait(), timeout)
    except TimeoutError:
        log.warning("exec.exit_late", exec_id=exec_id)


async def exec_start(
    daemon: Daemon, exec_id: str, *, detach: bool, console_size: tuple[int, int] | None = None
) -> Stdio | None:
    """Run the exec; returns its stdio stream (already connected) unless ``detach``."""
    item = exec_check(daemon, exec_id)
    container = daemon.containers.get(item.container_id)
    paths = _paths(daemon, container, item)
    process_file = paths.bundle / f"exec-{item.id}.process.json"
    process = _process(container, item)
    size = console_size or item.console_size
    if item.tty and size:  # the terminal has its size before the process runs
        process["consoleSize"] = {"height": size[0], "width": size[1]}
    write_atomic(process_file, json.dumps(process).encode())
    item.running = True
    try:
        launched = await daemon.runtime.exec(
            container.id, paths, process_file, tty=item.tty, stdin=item.stdin
        )
    except StartFailure as exc:
        item.running = False
        item.exit_code = exc.exit_code
        item.done.set()
        raise
    except BaseException:
        item.running = False
        item.exit_code = 126
        item.done.set()
        raise
    item.pid = launched.pid
    stdio = launched.stdio
    daemon.runtime.watch_exit(launched.shim_pid, partial(_exited, daemon, item, paths))
    log.info("exec.started", container_id=container.id, exec_id=exec_id, pid=launched.pid)
    if detach and stdio is not None:
        stdio[1].close()
        return None
    return stdio


def _exited(daemon: Daemon, item: Exec, paths: ShimPaths) -> None:
    status = read_exit_file(paths.exit_file)
    item.exit_code = status.exit_code if status else 255
    item.running = False
    item.pid = 0
    item.done.set()
    for leftover in (
        paths.exit_file,
        paths.pid_file,
        paths.runc_log,
        paths.log,
        paths.bundle / f"exec-{item.id}.process.json",
    ):
        leftover.unlink(missing_ok=True)
    log.info("exec.exited", exec_id=item.id, exit_code=item.exit_code)


async def exec_resize(daemon: Daemon, exec_id: str, height: int, width: int) -> None:
    item = exec_get(daemon, exec_id)
    if not item.running:
        raise Conflict(f"exec {exec_id} is not running")
    if not item.tty:
        return
    container = daemon.containers.get(item.container_id)
    _reader, writer = await daemon.runtime.connect(_paths(daemon, container, item))
    try:
        writer.write(shim_frame(RESIZE, f"{height} {width}".encode()))
        await writer.drain()
    finally:
        writer.close()
