"""ContainerStart: mount the root, write the bundle, hand the container to a shim, start it."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from wharf_common.errors import Conflict, NotModified

from wharf_engine.containers.container import Container
from wharf_engine.containers.state import DEAD, REMOVING
from wharf_engine.containers.users import group_ids, resolve_user
from wharf_engine.runtime import options, security
from wharf_engine.runtime.errors import StartFailure
from wharf_engine.runtime.spec import ProcessSpec, build_spec

from . import discovery, network, userns
from .remove import auto_remove
from .rootfs import mount_rootfs, shim_paths, unmount_rootfs, write_etc_files
from .volumes import prepare_mounts

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


def container_hostname(container: Container) -> str:
    """The host's name with ``--net host`` (as Docker), else the configured name or the short id."""
    if container.host_config.get("NetworkMode") == "host":
        return socket.gethostname()
    return str(container.config.get("Hostname") or container.short_id)


def write_bundle(daemon: Daemon, container: Container, root: Path) -> Path:
    cfg = container.config
    user = resolve_user(root, cfg.get("User") or "")
    env = [e for e in cfg.get("Env") or [] if "=" in e]  # a bare KEY the client could not fill is dropped
    env += network.link_environment(daemon, container)
    keys = {e.split("=", 1)[0] for e in env}
    if "HOSTNAME" not in keys:
        env.insert(0, f"HOSTNAME={container_hostname(container)}")
    if cfg.get("Tty") and "TERM" not in keys:
        env.append("TERM=xterm")
    if "HOME" not in keys:
        env.append(f"HOME={user.home}")
    cwd = cfg.get("WorkingDir") or "/"
    workdir = root / cwd.lstrip("/")
    remap = userns.remap_of(daemon, container)
    if not workdir.exists() and remap is None:  # a remapped one is made by runc, as the container's root
        workdir.mkdir(parents=True, exist_ok=True)
    etc_files = write_etc_files(
        container,
        network.hosts_lines(daemon, container),
        nameserver=discovery.nameserver(daemon, container),
        host_gateway=network.host_gateway(daemon),
    )
    userns.give_to_root(remap, *(path for path, _ in etc_files))
    console = container.host_config.get("ConsoleSize") or None
    spec = build_spec(
        rootfs=root,
        process=ProcessSpec(
            args=[container.path, *container.args],
            env=env,
            cwd=cwd,
            uid=user.uid,
            gid=user.gid,
            additional_gids=[
                *user.additional_gids,
                *group_ids(root, container.host_config.get("GroupAdd") or []),
            ],
            terminal=container.tty,
            console_size=(int(console[0]), int(console[1])) if console and console[0] else None,
        ),
        hostname=container_hostname(container),
        cgroups_path=f"/wharf/{container.id}",
        binds=etc_files,
        host_network=container.host_config.get("NetworkMode") == "host",
        volume_mounts=prepare_mounts(container, root, remap),
        netns=network.netns_path(daemon, container),
        idmap=remap,
        userns=userns.joined_userns(daemon, container),
    )
    security.apply(spec, container.host_config)
    options.apply(spec, container.host_config, container.config)
    bundle = container.dir / "bundle"
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir()
    # no fsync: runc reads it at once, and every start writes the bundle anew
    (bundle / "config.json").write_bytes(json.dumps(spec).encode())
    return bundle


def release_attachers(container: Container, exc: BaseException) -> None:
    """Attach streams waiting for this start end when it fails."""
    waiters, container.pending_attach = container.pending_attach, []
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("start cancelled"))


async def container_start(daemon: Daemon, ref: str) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.running:
            raise NotModified("container already started")
        container.manually_stopped = False
        container.restart_count = 0  # a start by hand begins the policy's count again, as Docker
        try:
            await start_locked(daemon, container)
        except Exception:
            if container.host_config.get("AutoRemove"):  # as Docker: --rm removes a failed start too
                await auto_remove(daemon, container)
            raise


async def start_locked(daemon: Daemon, container: Container) -> None:
    """Start ``container`` (its lock held): on any failure, nothing stays mounted or running."""
    if container.state.status in (REMOVING, DEAD):  # as Docker
        raise Conflict("container is marked for removal and cannot be started")
    paths = shim_paths(daemon, container)
    await daemon.runtime.delete(container.id, force=True)  # a leftover from a crash, if any
    paths.exit_file.unlink(missing_ok=True)
    try:
        idmapped = daemon.idmapped if userns.remap_of(daemon, container) else None
        if idmapped is not None:  # a plain mount left by cp or a build step: remount through the map
            unmount_rootfs(container)
        root = mount_rootfs(daemon, container, idmapped=idmapped)
        await network.allocate(daemon, container)
        write_bundle(daemon, container, root)
        launched = await daemon.runtime.create(
            container.id, paths, tty=container.tty, stdin=bool(container.config.get("OpenStdin"))
        )
        pid = launched.pid
        await network.attach(daemon, container, pid)
    except BaseException as exc:
        release_attachers(container, exc)
        await daemon.runtime.delete(container.id, force=True)
        await network.detach(daemon, container)
        unmount_rootfs(container)
        if isinstance(exc, StartFailure):  # the process could not start: Docker records 126/127
            container.state.set_start_failed(exc.exit_code, str(exc))
            container.save()
        raise
    # attachers waiting for this start connect to the shim before the process runs
    waiters, container.pending_attach = container.pending_attach, []
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(await daemon.runtime.connect(paths))
    container.shim_pid = launched.shim_pid
    container.state.set_running(pid)
    container.save()
    daemon.runtime.watch_exit(launched.shim_pid, lambda: daemon.on_exit(container))
    try:
        await daemon.runtime.start(container.id, pid)
    except BaseException:
        await daemon.runtime.kill(container.id, 9, all=True)
        raise
    network.refresh_linkers(daemon, container)
    daemon.health.start(container)
    daemon.container_event(container, "start")
    log.info("container.started", container_id=container.id, pid=pid)
    container.notify()


__all__ = ["container_start", "start_locked", "write_bundle"]
