"""HostConfig options that are plain edits of the OCI spec: tmpfs mounts, /dev/shm's size,
sysctls, the OOM score, annotations, masked and read-only paths, and the memory and cpuset
settings beyond the limits ``security.resources`` sets.

``validate`` runs at create (a 400 naming the option), ``apply`` at every start.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wharf_common.errors import InvalidArgument

from . import devices

TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")
_OPPOSITES = {"exec": "noexec", "suid": "nosuid", "dev": "nodev"}
TMPFS_OPTIONS = {
    "rw",
    "ro",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
}
TMPFS_VALUES = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")

IPC_SYSCTLS = {
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
}
"""The namespaced sysctls Docker allows (with ``fs.mqueue.*`` and, off the host's network, ``net.*``)."""

NUMA_ONLINE = Path("/sys/devices/system/node/online")


def tmpfs_options(destination: str, options: str) -> list[str]:
    """Docker's ``--tmpfs`` options: noexec,nosuid,nodev unless asked otherwise, then the rest."""
    if not destination.startswith("/") or posixpath.normpath(destination) == "/":
        raise InvalidArgument(f"invalid tmpfs mount point {destination!r}: it must be absolute and not /")
    chosen = list(TMPFS_DEFAULTS)
    for option in filter(None, (o.strip() for o in options.split(","))):
        key = option.split("=", 1)[0]
        if option not in TMPFS_OPTIONS and key not in TMPFS_VALUES:
            raise InvalidArgument(f"invalid tmpfs option {option!r} for {destination}")
        if key in _OPPOSITES:
            chosen = [o for o in chosen if o != _OPPOSITES[key]]
        chosen = [o for o in chosen if o.split("=", 1)[0] != key]
        chosen.append(option)
    return chosen


def tmpfs_mount(destination: str, options: list[str]) -> dict[str, Any]:
    return {
        "destination": posixpath.normpath(destination),
        "type": "tmpfs",
        "source": "tmpfs",
        "options": options,
    }


def _sysctls(host_config: Mapping[str, Any]) -> dict[str, str]:
    sysctls = host_config.get("Sysctls") or {}
    host_network = host_config.get("NetworkMode") == "host"
    for key in sysctls:
        if key.startswith("net."):
            if host_network:
                raise InvalidArgument(f"sysctl '{key}' is not allowed in host network namespace")
        elif key not in IPC_SYSCTLS and not key.startswith("fs.mqueue."):
            raise InvalidArgument(f"sysctl '{key}' is not whitelisted")
    return {str(k): str(v) for k, v in sysctls.items()}


def _numa_nodes() -> int:
    try:
        text = NUMA_ONLINE.read_text().strip()
    except OSError:
        return 1
    return int(text.replace(",", "-").split("-")[-1]) + 1


def validate(host_config: Mapping[str, Any]) -> None:
    devices.devices(host_config)
    for destination, options in (host_config.get("Tmpfs") or {}).items():
        tmpfs_options(str(destination), str(options))
    shm = int(host_config.get("ShmSize") or 0)
    if shm < 0:
        raise InvalidArgument("SHM size can not be less than 0")
    _sysctls(host_config)
    score = int(host_config.get("OomScoreAdj") or 0)
    if not -1000 <= score <= 1000:
        raise InvalidArgument(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")
    if score < 0:
        raise InvalidArgument(
            f"OomScoreAdj {score} is not possible here: lowering an OOM score needs CAP_SYS_RESOURCE,"
            " which the engine lacks"
        )
    swappiness = host_config.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= int(swappiness) <= 100:
        raise InvalidArgument(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    memory, reservation = int(host_config.get("Memory") or 0), int(host_config.get("MemoryReservation") or 0)
    if memory and reservation and memory < reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    mems = str(host_config.get("CpusetMems") or "")
    if mems:
        nodes = _numa_nodes()
        for part in mems.replace("-", ",").split(","):
            if not (part.isascii() and part.isdigit()) or int(part) >= nodes:
                raise InvalidArgument(
                    f"Requested memory nodes are not available - requested {mems}, available: 0-{nodes - 1}"
                )


def apply(
    spec: dict[str, Any], host_config: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> None:
    """Edit a built spec with the options above (already validated at create), and the
    container's ``Config.Domainname`` (its UTS domain name)."""
    domainname = str((config or {}).get("Domainname") or "")
    if domainname and host_config.get("NetworkMode") != "host":  # as dockerd: a UTS-namespaced sysctl
        spec["linux"].setdefault("sysctl", {})["kernel.domainname"] = domainname
    linux, resources = spec["linux"], spec["linux"]["resources"]
    devices.apply(spec, host_config)
    for destination, options in (host_config.get("Tmpfs") or {}).items():
        spec["mounts"].append(tmpfs_mount(str(destination), tmpfs_options(str(destination), str(options))))
    shm = int(host_config.get("ShmSize") or 0)
    if shm:
        for mount in spec["mounts"]:
            if mount["destination"] == "/dev/shm":
                mount["options"] = [o for o in mount["options"] if not o.startswith("size=")]
                mount["options"].append(f"size={max(shm // 1024, 1)}k")
    if sysctls := _sysctls(host_config):
        linux.setdefault("sysctl", {}).update(sysctls)
    if score := int(host_config.get("OomScoreAdj") or 0):
        spec["process"]["oomScoreAdj"] = score
    if annotations := host_config.get("Annotations"):
        spec["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    if host_config.get("MaskedPaths") is not None and not host_config.get("Privileged"):
        linux["maskedPaths"] = list(host_config["MaskedPaths"])
    if host_config.get("ReadonlyPaths") is not None and not host_config.get("Privileged"):
        linux["readonlyPaths"] = list(host_config["ReadonlyPaths"])
    memory = resources.setdefault("memory", {})
    if reservation := int(host_config.get("MemoryReservation") or 0):
        memory["reservation"] = reservation
    swappiness = host_config.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1:
        memory["swappiness"] = int(swappiness)
    if host_config.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if not memory:
        del resources["memory"]
    if mems := str(host_config.get("CpusetMems") or ""):
        resources.setdefault("cpu", {})["mems"] = mems
