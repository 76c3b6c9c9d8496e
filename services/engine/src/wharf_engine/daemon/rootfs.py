"""Where a container's files live: the overlay root, the shim's paths, /etc files bound in."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from wharf_engine.containers.container import Container
from wharf_engine.layers.idmapped import IdmappedOverlay
from wharf_engine.layers.mounts import is_mounted, mount_overlay, unmount
from wharf_engine.layers.shift import shift_entry, shift_tree
from wharf_engine.logs.config import container_settings
from wharf_engine.network import dnsconfig
from wharf_engine.runtime.monitor import ShimPaths

if TYPE_CHECKING:
    from .daemon import Daemon


def shim_paths(daemon: Daemon, container: Container) -> ShimPaths:
    logs = container_settings(container.host_config)
    return ShimPaths(
        bundle=container.dir / "bundle",
        log=container.log_path if logs.readable else Path(os.devnull),
        log_max_size=logs.max_size,
        log_max_files=logs.max_files,
        exit_file=container.dir / "exit.json",
        socket=daemon.run_dir / f"{container.id[:24]}.sock",
        run_dir=daemon.run_dir,
    )


def rootfs(container: Container) -> Path:
    return container.dir / "fs" / "merged"


# mount points the runtime needs, kept in a per-container "init" layer under the upper dir
# (as Docker's -init layer), so they never show in `diff` nor land in a commit
INIT_DIRS = ("dev", "dev/pts", "dev/shm", "proc", "sys", "etc")
INIT_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv")


def init_layer(container: Container) -> Path:
    init = container.dir / "fs" / "init"
    if not (init / ".dockerenv").exists():
        for d in INIT_DIRS:
            (init / d).mkdir(parents=True, exist_ok=True)
        for f in INIT_FILES:
            (init / f).touch()
    return init


def mount_rootfs(daemon: Daemon, container: Container, *, idmapped: IdmappedOverlay | None = None) -> Path:
    """The container's root at ``fs/merged``; through ``idmapped`` for a remapped container's start."""
    fs = container.dir / "fs"
    merged, upper, work = fs / "merged", fs / "upper", fs / "work"
    for d in (merged, upper, work):
        d.mkdir(parents=True, exist_ok=True)
    if not is_mounted(merged):
        diff_ids = daemon.images.get(container.image_id).get("rootfs", {}).get("diff_ids", [])
        init = init_layer(container)
        if daemon.layers.shift is not None:  # the root and the runtime's mount points: the remapped root's
            shift_tree(init, daemon.layers.shift)
            shift_entry(upper, daemon.layers.shift)
        lowers = [init, *(daemon.layers.short_path(d) for d in reversed(diff_ids))]
        if idmapped is not None:
            idmapped.mount(daemon.root, lowers, upper, work, merged)
        else:
            mount_overlay(lowers, upper, work, merged)
    return merged


def unmount_rootfs(container: Container) -> None:
    unmount(rootfs(container))


def write_etc_files(
    container: Container, hosts: str | None = None, *, nameserver: str | None = None, host_gateway: str = ""
) -> list[tuple[Path, str]]:
    """hostname, hosts and resolv.conf live beside the container and are bind-mounted in.

    ``nameserver``: the engine's DNS server for a container on a user network (its only one).
    """
    host_network = container.host_config.get("NetworkMode") == "host"
    hostname = (
        socket.gethostname() if host_network else container.config.get("Hostname") or container.short_id
    )
    (container.dir / "hostname").write_text(hostname + "\n")
    if host_network:  # the host's own names, as Docker does with --net host
        (container.dir / "hosts").write_text(
            _read_host_file("/etc/hosts") + dnsconfig.extra_hosts(container.host_config, host_gateway)
        )
    elif hosts is not None:
        (container.dir / "hosts").write_text(hosts)
    else:
        (container.dir / "hosts").write_text(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        )
    (container.dir / "resolv.conf").write_text(
        dnsconfig.resolv_conf(
            _read_host_file("/etc/resolv.conf"),
            container.host_config,
            embedded=nameserver,
            host_network=host_network,
        )
    )
    return [
        (container.dir / "hostname", "/etc/hostname"),
        (container.dir / "hosts", "/etc/hosts"),
        (container.dir / "resolv.conf", "/etc/resolv.conf"),
    ]


def _read_host_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
