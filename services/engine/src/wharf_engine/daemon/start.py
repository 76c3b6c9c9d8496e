"""ContainerStart: mount the root, write the bundle, hand the container to a shim, start it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from wharf_common.errors import NotModified

from wharf_engine.containers.container import ZERO_TIME, Container, now_rfc3339
from wharf_engine.images.store import write_atomic
from wharf_engine.layers.mounts import is_mounted, mount_overlay, unmount
from wharf_engine.runtime.errors import StartFailure
from wharf_engine.runtime.monitor import ShimPaths, connect, read_exit_file, watch_exit
from wharf_engine.runtime.spec import ProcessSpec, build_spec

from .users import resolve_user

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


def shim_paths(daemon: Daemon, container: Container) -> ShimPaths:
    return ShimPaths(
        bundle=container.dir / "bundle",
        log=container.log_path,
        exit_file=container.dir / "exit.json",
        socket=daemon.run_dir / f"{container.id[:24]}.sock",
        run_dir=daemon.run_dir,
    )


def rootfs(container: Container) -> Path:
    return container.dir / "fs" / "merged"


def mount_rootfs(daemon: Daemon, container: Container) -> Path:
    fs = container.dir / "fs"
    merged, upper, work = fs / "merged", fs / "upper", fs / "work"
    for d in (merged, upper, work):
        d.mkdir(parents=True, exist_ok=True)
    if not is_mounted(merged):
        diff_ids = daemon.images.get(container.image_id).get("rootfs", {}).get("diff_ids", [])
        lowers = [daemon.layers.get(d).path for d in reversed(diff_ids)]
        if not lowers:  # an image FROM scratch with no layers: overlay needs one lower
            empty = fs / "empty"
            empty.mkdir(exist_ok=True)
            lowers = [empty]
        mount_overlay(lowers, upper, work, merged)
    return merged


def unmount_rootfs(container: Container) -> None:
    unmount(rootfs(container))


def write_etc_files(container: Container) -> list[tuple[Path, str]]:
    """hostname, hosts and resolv.conf live beside the container and are bind-mounted in."""
    hostname = container.config.get("Hostname") or container.short_id
    (container.dir / "hostname").write_text(hostname + "\n")
    (container.dir / "hosts").write_text(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    )
    try:
        host_resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        host_resolv = ""
    lines = [ln for ln in host_resolv.splitlines() if not ln.strip().startswith("nameserver 127.")]
    (container.dir / "resolv.conf").write_text("\n".join(lines) + "\n")
    return [
        (container.dir / "hostname", "/etc/hostname"),
        (container.dir / "hosts", "/etc/hosts"),
        (container.dir / "resolv.conf", "/etc/resolv.conf"),
    ]


def write_bundle(daemon: Daemon, container: Container, root: Path) -> Path:
    cfg = container.config
    user = resolve_user(root, cfg.get("User") or "")
    env = list(cfg.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    if "HOSTNAME" not in keys:
        env.insert(0, f"HOSTNAME={cfg.get('Hostname') or container.short_id}")
    if cfg.get("Tty") and "TERM" not in keys:
        env.append("TERM=xterm")
    if "HOME" not in keys:
        env.append(f"HOME={user.home}")
    cwd = cfg.get("WorkingDir") or "/"
    workdir = root / cwd.lstrip("/")
    if not workdir.exists():
        workdir.mkdir(parents=True, exist_ok=True)
    console = container.host_config.get("ConsoleSize") or None
    spec = build_spec(
        rootfs=root,
        process=ProcessSpec(
            args=[container.path, *container.args],
            env=env,
            cwd=cwd,
            uid=user.uid,
            gid=user.gid,
            additional_gids=user.additional_gids,
            terminal=container.tty,
            console_size=(int(console[0]), int(console[1])) if console and console[0] else None,
        ),
        hostname=cfg.get("Hostname") or container.short_id,
        cgroups_path=f"/wharf/{container.id}",
        binds=write_etc_files(container),
    )
    bundle = container.dir / "bundle"
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir()
    write_atomic(bundle / "config.json", json.dumps(spec).encode())
    return bundle


async def container_start(daemon: Daemon, ref: str) -> None:
    container = daemon.containers.get(ref)
    async with container.lock:
        if container.state.running:
            raise NotModified("container already started")
        try:
            await start_locked(daemon, container)
        except Exception:
            if container.host_config.get("AutoRemove"):  # as Docker: --rm removes a failed start too
                from .remove import remove_stopped

                await remove_stopped(daemon, container)
            raise


async def start_locked(daemon: Daemon, container: Container) -> None:
    """Start ``container`` (its lock held): on any failure, nothing stays mounted or running."""
    paths = shim_paths(daemon, container)
    if (daemon.runtime.root / container.id).exists():  # a leftover from a crash
        await daemon.runtime.delete(container.id, force=True)
    paths.exit_file.unlink(missing_ok=True)
    try:
        root = mount_rootfs(daemon, container)
        write_bundle(daemon, container, root)
        shim_pid, pid = await daemon.shims.launch(
            container.id,
            paths,
            runtime=daemon.settings.runtime,
            runtime_root=daemon.runtime.root,
            tty=container.tty,
            stdin=bool(container.config.get("OpenStdin")),
        )
    except StartFailure as exc:
        unmount_rootfs(container)
        await daemon.runtime.delete(container.id, force=True)
        container.state.exit_code = exc.exit_code
        container.state.error = str(exc)
        container.state.status = "exited" if container.state.started_at != ZERO_TIME else "created"
        container.save()
        raise
    except BaseException:
        unmount_rootfs(container)
        await daemon.runtime.delete(container.id, force=True)
        raise
    # attachers waiting for this start connect to the shim before the process runs
    waiters, container.pending_attach = container.pending_attach, []
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(await connect(paths))
    container.shim_pid = shim_pid
    container.state.pid = pid
    container.state.status = "running"
    container.state.error = ""
    container.state.exit_code = 0
    container.state.started_at = now_rfc3339()
    container.state.finished_at = ZERO_TIME
    container.save()
    watch_exit(shim_pid, lambda: daemon.on_exit(container))
    try:
        await daemon.runtime.start(container.id)
    except BaseException:
        await daemon.runtime.kill(container.id, 9, all=True)
        raise
    log.info("container.started", container_id=container.id, pid=pid)
    container.notify()


async def handle_exit(daemon: Daemon, container: Container) -> None:
    """The shim has gone: record the exit, clean the runtime state, remove if asked."""
    status = read_exit_file(container.dir / "exit.json")
    container.state.status = "exited"
    container.state.pid = 0
    container.shim_pid = 0
    if status is None:
        container.state.exit_code = 255
        container.state.error = "shim exited without an exit status"
        container.state.finished_at = now_rfc3339()
    else:
        container.state.exit_code = status.exit_code
        container.state.oom_killed = status.oom_killed
        container.state.finished_at = status.finished_at or now_rfc3339()
    try:
        await daemon.runtime.delete(container.id, force=True)
    except Exception as exc:  # the record must still be saved
        log.error("container.runtime_delete_failed", container_id=container.id, error=str(exc))
    unmount_rootfs(container)
    container.save()
    log.info("container.exited", container_id=container.id, exit_code=container.state.exit_code)
    container.notify()
    if container.host_config.get("AutoRemove") and container.id in daemon.containers.by_id:
        from .remove import remove_stopped

        await remove_stopped(daemon, container)


__all__ = ["container_start", "handle_exit", "mount_rootfs", "shim_paths", "start_locked", "unmount_rootfs"]
