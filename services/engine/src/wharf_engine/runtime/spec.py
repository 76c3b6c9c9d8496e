"""The OCI runtime spec (config.json) for a container, with Docker's defaults."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wharf_engine.idmap import IdMap

DEFAULT_CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    args: list[str]
    env: list[str]
    cwd: str
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (rows, cols)


def host_rlimits() -> list[dict[str, Any]]:
    """Open files and processes at the host's hard limits: never ask the kernel for more."""
    limits = []
    for name, res in (("RLIMIT_NOFILE", resource.RLIMIT_NOFILE), ("RLIMIT_NPROC", resource.RLIMIT_NPROC)):
        _soft, hard = resource.getrlimit(res)
        if hard == resource.RLIM_INFINITY:
            hard = 1048576
        limits.append({"type": name, "hard": hard, "soft": hard})
    return limits


def build_spec(
    *,
    rootfs: Path,
    process: ProcessSpec,
    hostname: str,
    cgroups_path: str,
    binds: list[tuple[Path, str]],
    readonly_rootfs: bool = False,
    host_network: bool = False,
    volume_mounts: list[dict[str, Any]] | None = None,
    netns: str | None = None,
    idmap: IdMap | None = None,
    userns: str | None = None,
) -> dict[str, Any]:
    """A complete config.json: namespaces, mounts, capabilities, rlimits, masked paths; with
    ``idmap``, a user namespace (its root is not the host's): a new one, or ``userns`` joined."""
    caps = list(DEFAULT_CAPS)
    proc: dict[str, Any] = {
        "terminal": process.terminal,
        "user": {"uid": process.uid, "gid": process.gid, "additionalGids": process.additional_gids},
        "args": process.args,
        "env": process.env,
        "cwd": process.cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": host_rlimits(),
        "noNewPrivileges": False,
    }
    if process.terminal and process.console_size:
        proc["consoleSize"] = {"height": process.console_size[0], "width": process.console_size[1]}
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
    ]
    if idmap is not None and userns is None and (host_network or netns):
        # a new sysfs needs a network namespace of the container's user namespace: bind the host's
        mounts[3].update(type="bind", source="/sys", options=["rbind", "nosuid", "noexec", "nodev", "ro"])
    for source, destination in binds:
        mounts.append(
            {
                "destination": destination,
                "type": "bind",
                "source": str(source),
                "options": ["rbind", "rprivate"],
            }
        )
    mounts.extend(volume_mounts or [])
    return {
        "ociVersion": "1.0.2",
        "process": proc,
        "root": {"path": str(rootfs), "readonly": readonly_rootfs},
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": [
                {"type": t, **({"path": netns} if t == "network" and netns else {})}
                for t in ("pid", "network", "ipc", "uts", "mount")
                if t != "network" or not host_network
            ]
            + ([{"type": "user", **({"path": userns} if userns else {})}] if idmap is not None else []),
            **(idmap.oci_mappings() if idmap is not None else {}),
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
